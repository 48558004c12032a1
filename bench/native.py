"""The JIT against C on the same algorithms (bench/programs, bench/ref).

Every benchmark program defines `bench(n)` and ends with `print(bench(N));`;
its C twin in bench/ref has the same `long bench(long n)`. Two comparisons:

- steady state: `bench` compiled by the optimizing tier, called in process,
  against the C function loaded from a shared library (both through ctypes);
- whole process: `vmlab run --jit` at the default threshold against the C
  executable, start-up, compiling and all; with an empty code cache (a new
  directory each run) and with a warm one (jit/codecache.py); and the
  executable `vmlab build` made of the program (jit/build.py).

C is compiled with `cc -O2` when first needed. `python -m bench.native
[--second|--medium|--small] [--rounds N] [--processes P] [NAME...]` prints
the table (whole process: medians of N interleaved rounds, 3 by default;
more on a noisy machine; steady state: in this process, or with P the
medians over P fresh processes, each of which places the JIT's code anew:
placement alone moves some programs by 10%, docs/results.md);
bench/bench_native.py runs the same under pytest-benchmark.
"""

from __future__ import annotations

import argparse
import ctypes
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.suite import BY_NAME

HERE = Path(__file__).resolve().parent
REF = HERE / "ref"
NAMES = ["fib", "loop", "sieve", "mandel", "nbody", "collatz", "matmul",
         "permute", "queens", "towers", "bounce", "list", "sieve_awfy"]  # (the last six: Are We Fast Yet's)
# Sizes. FULL: 0.25-0.6 s of C each here, so that a whole process measures
# the work more than start-up (`python -m bench.native`); SECOND: about a
# second of C each (0.9-1.2 s here; `--second`: issue 21's setting, where
# start-up matters less); MEDIUM: a tenth of FULL (pytest-benchmark,
# bench/bench_native.py); SMALL: correctness in tests.
FULL = {"fib": 42, "loop": 1_000_000_000, "sieve": 20_000_000, "mandel": 2000,
        "nbody": 10_000_000, "collatz": 3_000_000, "matmul": 1000,
        "permute": 30_000, "queens": 60_000, "towers": 25_000, "bounce": 60_000,
        "list": 30_000, "sieve_awfy": 50_000}
SECOND = {"fib": 45, "loop": 2_000_000_000, "sieve": 32_000_000, "mandel": 2800,
          "nbody": 22_000_000, "collatz": 5_500_000, "matmul": 1500,
          "permute": 90_000, "queens": 180_000, "towers": 58_000, "bounce": 165_000,
          "list": 115_000, "sieve_awfy": 150_000}
MEDIUM = {"fib": 32, "loop": 100_000_000, "sieve": 5_000_000, "mandel": 1000,
          "nbody": 1_000_000, "collatz": 1_000_000, "matmul": 500,
          "permute": 3000, "queens": 6000, "towers": 2500, "bounce": 6000, "list": 3000,
          "sieve_awfy": 4000}
SMALL = {"fib": 20, "loop": 100_000, "sieve": 10_000, "mandel": 60,
         "nbody": 1000, "collatz": 10_000, "matmul": 40,
         "permute": 2, "queens": 2, "towers": 2, "bounce": 2, "list": 2, "sieve_awfy": 2}


def source(name: str, n: int) -> str:
    return BY_NAME[name].source(n)


@functools.cache
def _build_dir() -> Path:
    """The process's scratch directory (C builds, programs, code caches),
    removed when it ends."""
    import atexit
    import shutil
    path = tempfile.mkdtemp(prefix="vmlab-bench-")
    atexit.register(shutil.rmtree, path, True)
    return Path(path)


@functools.cache
def c_binary(name: str, shared: bool) -> Path:
    """The C twin compiled with `cc -O2` (a shared library or an executable)."""
    out = _build_dir() / (f"lib{name}.so" if shared else name)
    flags = ["-shared", "-fPIC"] if shared else []
    subprocess.run([os.environ.get("CC", "cc"), "-O2", *flags, "-o", str(out),
                    str(REF / f"{name}.c"), "-lm"], check=True)
    return out


def c_function(name: str):
    lib = ctypes.CDLL(str(c_binary(name, shared=True)))
    lib.bench.restype, lib.bench.argtypes = ctypes.c_long, [ctypes.c_long]
    return lib.bench


def jit_function(name: str, n: int):
    """`bench` compiled by the JIT's optimizing tier (for an int), as a
    Python callable."""
    from jit.tiering import Tiering
    from lang import compile_source
    from vmlab.output import Output

    program = compile_source(source(name, n), f"{name}.toy")
    func = next(i for i, f in enumerate(program.functions) if f.name == "bench")
    tiering = Tiering(program, Output(), 10_000, threshold=0, tiers="optimized")
    stack = [n]
    tiering.call(func, stack, 0)  # compiles, then runs once
    compiled = tiering.calls[(func, ("int",))]
    assert compiled is not None, tiering.stats[func].declined

    def call(k: int):
        return tiering.runtime.call(compiled.function, 1, compiled.types, [k],
                                    compiled.spec.ret, replaces_current=False,
                                    borrowed=compiled.borrowed)
    return call


def expected(name: str, n: int) -> str:
    """What both print: the C executable's output."""
    return subprocess.run([str(c_binary(name, shared=False)), str(n)], check=True,
                          capture_output=True, text=True).stdout


def steady_state(name: str, n: int, rounds: int) -> tuple[float, float]:
    """Median seconds of one call of bench(n): (JIT, C), alternating."""
    jit, c = jit_function(name, n), c_function(name)
    assert str(jit(n)) + "\n" == expected(name, n) and c(n) == jit(n)
    times = {"jit": [], "c": []}
    for _ in range(rounds):
        for label, function in (("jit", jit), ("c", c)):
            start = time.perf_counter()
            function(n)
            times[label].append(time.perf_counter() - start)
    return statistics.median(times["jit"]), statistics.median(times["c"])


def steady_state_processes(name: str, n: int, rounds: int, processes: int
                           ) -> tuple[float, float]:
    """steady_state in `processes` fresh processes, one after the other:
    the medians of their (JIT, C) medians."""
    code = ("import sys; from bench import native; "
            "print(*native.steady_state(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))")
    runs = [subprocess.run([sys.executable, "-c", code, name, str(n), str(rounds)],
                           cwd=HERE.parent, check=True, capture_output=True, text=True)
            .stdout.split() for _ in range(processes)]
    return (statistics.median(float(jit) for jit, _ in runs),
            statistics.median(float(c) for _, c in runs))


def whole_process(name: str, n: int, rounds: int) -> tuple[float, float, float, float]:
    """Median seconds of `vmlab run --jit` with an empty code cache, with a
    warm one, of the executable `vmlab build` made, and of the C
    executable: (cold, warm, built, C), interleaved."""
    from jit.build import HOST, TARGETS, build
    from lang import compile_source
    program = _build_dir() / f"{name}-{n}.toy"
    program.write_text(source(name, n))
    warm = tempfile.mkdtemp(prefix="cache-", dir=_build_dir())
    built = _build_dir() / f"{name}-{n}.exe"
    build(compile_source(source(name, n), program.name), built, TARGETS[HOST])

    def vmlab(cache: str) -> list[str]:
        return [sys.executable, "-m", "vmlab", "run", "--jit", "--jit-cache", cache,
                str(program)]
    binary = [str(c_binary(name, shared=False)), str(n)]
    want = expected(name, n)
    subprocess.run(vmlab(warm), check=True, capture_output=True)  # fills the warm cache
    times = {"cold": [], "warm": [], "built": [], "c": []}
    for _ in range(rounds):
        commands = (("cold", vmlab(tempfile.mkdtemp(prefix="cache-", dir=_build_dir()))),
                    ("warm", vmlab(warm)), ("built", [str(built)]), ("c", binary))
        for label, command in commands:
            start = time.perf_counter()
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            times[label].append(time.perf_counter() - start)
            assert out == want, (label, out, want)
    return tuple(statistics.median(times[k]) for k in ("cold", "warm", "built", "c"))


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("takes a count of at least 1")
    return int(text)


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.native", description="The JIT against C: steady state "
        "and whole process, ratio to C per program (docs/results.md).")
    size = parser.add_mutually_exclusive_group()
    for flag, table, what in (("--second", SECOND, "about a second of C each (issue 21's)"),
                              ("--medium", MEDIUM, "a tenth of the default"),
                              ("--small", SMALL, "correctness only")):
        size.add_argument(flag, dest="sizes", action="store_const", const=table, help=what)
    parser.set_defaults(sizes=FULL)
    parser.add_argument("--rounds", type=_count, default=3,
                        help="whole process: interleaved rounds, their median (3)")
    parser.add_argument("--processes", type=_count, default=0,
                        help="steady state: the median of this many fresh processes "
                        "(default: in this process)")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"programs (default all): {', '.join(NAMES)}")
    args = parser.parse_args(argv)
    for name in set(args.names) - set(NAMES):
        parser.error(f"no program {name!r} (there are: {', '.join(NAMES)})")
    return args


def main(argv: list[str]) -> int:
    try:
        args = _arguments(argv)
    except SystemExit as exit:  # (--help, or a usage error already printed)
        return exit.code
    sizes, names = args.sizes, args.names or NAMES
    rounds = 5
    process_rounds, processes = args.rounds, args.processes
    ratios = {"steady": [], "process, empty cache": [], "process, warm cache": [],
              "process, vmlab build": []}
    print(f"{'':<22}{'steady state':^25}   {'whole process':^54}")
    print(f"{'program':<10}{'n':>12}  {'JIT s':>9}{'C s':>9}{'ratio':>7}   "
          f"{'empty s':>9}{'warm s':>9}{'built s':>9}{'C s':>9}{'ratio':>6}{'warm':>6}"
          f"{'built':>6}")
    for name in names:
        n = sizes[name]
        jit_s, c_s = (steady_state_processes(name, n, rounds, processes) if processes
                      else steady_state(name, n, rounds))
        cold, warm, built, proc_c = whole_process(name, n, process_rounds)
        ratios["steady"].append(jit_s / c_s)
        ratios["process, empty cache"].append(cold / proc_c)
        ratios["process, warm cache"].append(warm / proc_c)
        ratios["process, vmlab build"].append(built / proc_c)
        print(f"{name:<10}{n:>12}  {jit_s:>9.3f}{c_s:>9.3f}{jit_s / c_s:>7.2f}   "
              f"{cold:>9.3f}{warm:>9.3f}{built:>9.3f}{proc_c:>9.3f}{cold / proc_c:>6.2f}"
              f"{warm / proc_c:>6.2f}{built / proc_c:>6.2f}", flush=True)
    for kind, values in ratios.items():
        print(f"geometric mean {kind}: {statistics.geometric_mean(values):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
