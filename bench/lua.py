"""The native interpreter (numba) against Lua 5.4, a fast C interpreter, on
the same algorithms (bench/programs, bench/lua); and its time per bytecode.

    python -m bench.lua [--process] [NAME...]

Lua runs as a process (its start-up is ~1 ms); the native interpreter is
timed in process, after a first run has loaded numba's cache, around
vmlab.native.host.run. Medians of alternating rounds. With --process, both
whole process (`vmlab run --interp native` with its loop library built, so
start-up counts), at sizes where Lua takes 0.7-1.1 s here.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import native

HERE = Path(__file__).resolve().parent
NAMES = ["fib", "loop", "sieve", "mandel", "collatz"]
SIZES = {"fib": 32, "loop": 100_000_000, "sieve": 5_000_000, "mandel": 1000,
         "collatz": 1_000_000}
PROCESS_SIZES = {"fib": 37, "loop": 100_000_000, "sieve": 1_500_000, "mandel": 1000,
                 "collatz": 500_000}


def lua() -> str | None:
    return shutil.which("lua5.4")


def native_runner(name: str, n: int):
    from lang import compile_source
    from vmlab.native.host import run
    from vmlab.output import Output
    from vmlab.stats import Stats

    program = compile_source(native.source(name, n), f"{name}.toy")

    def once() -> str:
        out = Output()
        run(program, out, 10_000)
        return out.getvalue()

    def instructions() -> int:
        stats = Stats(program, "native")
        run(program, Output(), 10_000, stats)
        return stats.instructions
    return once, instructions


def compare(name: str, n: int, rounds: int = 5) -> tuple[float, float, int]:
    """(native seconds, Lua seconds, instructions executed), medians."""
    once, instructions = native_runner(name, n)
    want = native.expected(name, n)
    assert once() == want
    command = [lua(), str(HERE / "lua" / f"{name}.lua"), str(n)]
    times = {"native": [], "lua": []}
    for _ in range(rounds):
        start = time.perf_counter()
        once()
        times["native"].append(time.perf_counter() - start)
        start = time.perf_counter()
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        times["lua"].append(time.perf_counter() - start)
        assert out == want, (out, want)
    return statistics.median(times["native"]), statistics.median(times["lua"]), instructions()


def whole_process(name: str, n: int, rounds: int = 3) -> tuple[float, float]:
    """(vmlab run --interp native seconds, Lua seconds), medians, interleaved."""
    program = HERE / "programs" / f"{name}.toy"
    path = native._build_dir() / f"{name}-{n}.toy"
    path.write_text(native.source(name, n))
    commands = {"native": [sys.executable, "-m", "vmlab", "run", "--interp", "native",
                           str(path)],
                "lua": [lua(), str(HERE / "lua" / f"{name}.lua"), str(n)]}
    want = native.expected(name, n)
    subprocess.run(commands["native"], check=True, capture_output=True)  # (builds the loop)
    times = {k: [] for k in commands}
    for _ in range(rounds):
        for label, command in commands.items():
            start = time.perf_counter()
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            times[label].append(time.perf_counter() - start)
            assert out == want, (label, out, want, program)
    return statistics.median(times["native"]), statistics.median(times["lua"])


def main(argv: list[str]) -> int:
    if lua() is None:
        print("lua5.4 is not installed (apt-get install lua5.4)")
        return 1
    names = [a for a in argv if a in NAMES] or NAMES
    if "--process" in argv:
        ratios = []
        print(f"{'program':<10}{'n':>12}{'native s':>10}{'Lua s':>9}{'ratio':>7}  (whole process)")
        for name in names:
            n = PROCESS_SIZES[name]
            mine, theirs = whole_process(name, n)
            ratios.append(mine / theirs)
            print(f"{name:<10}{n:>12}{mine:>10.3f}{theirs:>9.3f}{mine / theirs:>7.2f}", flush=True)
        print(f"geometric mean native / Lua: {statistics.geometric_mean(ratios):.2f}")
        return 0
    ratios = []
    print(f"{'program':<10}{'n':>12}{'native s':>10}{'Lua s':>9}{'ratio':>7}{'ns/instr':>10}")
    for name in names:
        n = SIZES[name]
        mine, theirs, executed = compare(name, n)
        ratios.append(mine / theirs)
        print(f"{name:<10}{n:>12}{mine:>10.3f}{theirs:>9.3f}{mine / theirs:>7.2f}"
              f"{mine / executed * 1e9:>10.2f}", flush=True)
    print(f"geometric mean native / Lua: {statistics.geometric_mean(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
