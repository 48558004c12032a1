"""JIT compile latency and memory: compile many distinct functions, one
compile request each, and report the distribution of the times and the
growth of the process's resident memory.

    python -m bench.jit_compile [COUNT]
    python -m bench.jit_compile --programs

The functions come from bench.generate (loops, branches, arithmetic, arrays,
calls); each is compiled for int arguments on its own, as the JIT does when
a function gets hot. With --programs: what the JIT compiles running the
examples, the conformance programs and the benchmarks (small sizes) at
--jit-threshold 0, i.e. every function and loop they run, one module each;
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


def compile_times(count: int) -> tuple[list[float], float]:
    """Milliseconds per compile request (a function, with copies of the
    small functions it calls), and the RSS growth in MB."""
    from jit.tiering import Tiering
    from lang import compile_source
    from vmlab.output import Output

    times: list[float] = []
    grown = 0.0
    seed = 0
    while len(times) < count:
        seed += 1
        program = compile_source(generated(1500, seed=seed), f"gen{seed}.toy")
        tiering = Tiering(program, Output(), 10_000, threshold=0)
        if not times:  # warm up: the first compile pays for setting LLVM up
            tiering._compile(tiering.inferrer.function(0, ("int", "int")))
            before = rss_mb()
        for func in range(len(program.functions)):
            if len(times) == count:
                break
            spec = tiering.inferrer.function(func, ("int", "int"))
            start = time.perf_counter()
            compiled = tiering._compile(spec)
            times.append((time.perf_counter() - start) * 1e3)
            assert compiled is not None, spec.declined
        grown = rss_mb() - before
    return times, grown


def program_compile_times() -> tuple[list[float], list[float]]:
    """Milliseconds per module compiled running the repository's programs at
    threshold 0, and per entry wrapper."""
    from bench.suite import BENCHMARKS
    from jit.tiering import Tiering, run_program
    from lang import compile_source
    from vmlab.errors import CompileError, ToyRuntimeError
    from vmlab.output import Output

    root = Path(__file__).resolve().parent.parent
    files = sorted(root.glob("examples/*.toy")) + sorted(root.glob("tests/conformance/**/*.toy"))
    sources = [(f.name, f.read_text(errors="replace")) for f in files]
    sources += [(b.name, b.source(b.size("small"))) for b in BENCHMARKS]
    times: list[float] = []
    wrappers: list[float] = []
    for name, source in sources:
        try:
            program = compile_source(source, name)
        except CompileError:
            continue
        tiering = Tiering(program, Output(), 10_000, threshold=0)
        try:
            run_program(program, tiering.runtime.output, 10_000, None, tiering)
        except ToyRuntimeError:
            pass
        times += tiering.compile_times
        wrappers += tiering.wrapper_times
    return times, wrappers


def distribution(times: list[float]) -> str:
    q = statistics.quantiles(times, n=20)
    return (f"median {statistics.median(times):.1f} ms, p5 {q[0]:.1f}, p25 {q[4]:.1f}, "
            f"p75 {q[14]:.1f}, p95 {q[18]:.1f}, max {max(times):.1f}")


def main(argv: list[str]) -> int:
    sys.setrecursionlimit(100_000)  # (conformance programs recurse deeply)
    if argv == ["--programs"]:
        times, wrappers = program_compile_times()
        print(f"{len(times)} compiles: {distribution(times)}")
        print(f"{len(wrappers)} entry wrappers: median {statistics.median(wrappers):.1f} ms")
        return 0
    count = int(argv[0]) if argv else 1000
    times, grown = compile_times(count)
    print(f"{count} functions: {distribution(times)} per function; RSS grew {grown:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
