"""JIT compile latency and memory: compile many distinct functions, one
compile request each, and report the distribution of the times and the
growth of the process's resident memory.

    python -m bench.jit_compile [COUNT] [--optimized]
    python -m bench.jit_compile --programs

The functions come from bench.generate (loops, branches, arithmetic, arrays,
calls); each is compiled for int arguments on its own, as the JIT does when
a function gets hot: by the baseline tier, or with --optimized by the
optimizing tier. With --programs: what the JIT compiles running the
examples, the conformance programs and the benchmarks (small sizes) at
--jit-threshold 0, i.e. every function and loop they run, one module each:
with both tiers (the default: everything first by the baseline tier, what
stays hot then by the optimizing tier), and with the optimizing tier alone;
the entry wrappers (one per signature and process) are counted apart.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from bench.generate import program as generated


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import resource
    return pages * resource.getpagesize() / 2**20


def compile_times(count: int, tier: str = "baseline") -> tuple[list[float], float]:
    """Milliseconds per compile request (a function, with copies of the
    small functions it calls) by one tier, and the RSS growth in MB."""
    from jit.tiering import Tiering
    from lang import compile_source
    from vmlab.output import Output

    times: list[float] = []
    grown = 0.0
    seed = 0
    while len(times) < count:
        seed += 1
        program = compile_source(generated(1500, seed=seed), f"gen{seed}.toy")
        tiering = Tiering(program, Output(), 10_000, threshold=0, tiers=tier)
        if not times:  # warm up: the first compile pays for setting LLVM up
            compiler = tiering.get_compiler()
            compiler.compile(compiler.inferrer.function(0, ("int", "int")))
            before = rss_mb()
        for func in range(len(program.functions)):
            if len(times) == count:
                break
            compiler = tiering.get_compiler()
            spec = compiler.inferrer.function(func, ("int", "int"))
            start = time.perf_counter()
            compiled = compiler.compile(spec)
            times.append((time.perf_counter() - start) * 1e3)
            assert compiled is not None, spec.declined
        grown = rss_mb() - before
    return times, grown


def program_compile_times(tiers: str = "both") -> tuple[dict[int, list[float]], list[float]]:
    """Milliseconds per module compiled running the repository's programs at
    threshold 0 (with `tiers`, as --jit-tiers), by tier, and per entry wrapper."""
    from jit.tiers import BASELINE, OPTIMIZED
    from bench.suite import BENCHMARKS
    from jit.tiering import Tiering, run_program
    from lang import compile_source
    from vmlab.errors import CompileError, ToyRuntimeError
    from vmlab.output import Output

    root = Path(__file__).resolve().parent.parent
    files = sorted(root.glob("examples/*.toy")) + sorted(root.glob("tests/conformance/**/*.toy"))
    sources = [(f.name, f.read_text(errors="replace")) for f in files]
    sources += [(b.name, b.source(b.size("small"))) for b in BENCHMARKS]
    times: dict[int, list[float]] = {BASELINE: [], OPTIMIZED: []}
    wrappers: list[float] = []
    for name, source in sources:
        try:
            program = compile_source(source, name)
        except CompileError:
            continue
        tiering = Tiering(program, Output(), 10_000, threshold=0, tiers=tiers)
        try:
            run_program(program, tiering.output, 10_000, None, tiering)
        except ToyRuntimeError:
            pass
        if tiering.compiler is None:
            continue  # nothing ran
        for tier, ms in zip(tiering.compiler.tiers, tiering.compiler.compile_times, strict=True):
            times[tier].append(ms)
        wrappers += tiering.compiler.wrapper_times
    return times, wrappers


def distribution(times: list[float]) -> str:
    q = statistics.quantiles(times, n=20)
    return (f"median {statistics.median(times):.1f} ms, p5 {q[0]:.1f}, p25 {q[4]:.1f}, "
            f"p75 {q[14]:.1f}, p95 {q[18]:.1f}, max {max(times):.1f}")


def main(argv: list[str]) -> int:
    sys.setrecursionlimit(100_000)  # (conformance programs recurse deeply)
    if argv == ["--programs"]:
        from jit.tiers import NAMES
        for tiers in ("both", "optimized"):
            by_tier, wrappers = program_compile_times(tiers)
            for tier, times in by_tier.items():
                if times:
                    print(f"--jit-tiers {tiers}: {NAMES[tier]} tier: {len(times)} "
                          f"compiles: {distribution(times)}")
            if wrappers:  # (compiled once per process: in the first run)
                print(f"{len(wrappers)} entry wrappers (baseline tier): "
                      f"median {statistics.median(wrappers):.1f} ms")
        return 0
    tier = "optimized" if "--optimized" in argv else "baseline"
    numbers = [a for a in argv if a.isdigit()]
    count = int(numbers[0]) if numbers else 1000
    times, grown = compile_times(count, tier)
    print(f"{count} functions, {tier}: {distribution(times)} per function; "
          f"RSS grew {grown:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
