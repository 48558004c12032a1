"""The benchmark suite: each program, its sizes, and what it must print.

Every benchmark is bench/programs/NAME.toy, which defines `bench(n)` and
ends with `print(bench(N));`, with twins of the same algorithm in C
(bench/ref), Python (bench/python, also run under numba's @njit), Lua 5.4
(bench/lua) and LuaJIT (bench/luajit when Lua 5.4's integer operators are
needed, else the Lua 5.4 file). Sizes: "small" for CI's correctness check,
"quick" for `vmlab bench --quick` (~0.25 s in the Python interpreter), "full"
for `vmlab bench` (~3 s there). The expected outputs are the C programs'.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZE_NAMES = ("small", "quick", "full")


@dataclass(frozen=True)
class Benchmark:
    name: str
    sizes: tuple[int, int, int]  # small, quick, full
    expected: dict[int, str]     # size -> the line bench(size) prints

    def size(self, which: str) -> int:
        return self.sizes[SIZE_NAMES.index(which)]

    @property
    def path(self) -> Path:
        return HERE / "programs" / f"{self.name}.toy"

    @property
    def about(self) -> str:
        """The first line of the program's leading comment."""
        return self.path.read_text().splitlines()[0].lstrip("# ").rstrip(".")

    def source(self, n: int) -> str:
        """The program with `print(bench(n));` as its last line."""
        return re.sub(r"print\(bench\(\d+\)\);\s*$", f"print(bench({n}));\n",
                      self.path.read_text())


BENCHMARKS = [
    Benchmark("fib", (15, 23, 28), {15: "610", 23: "28657", 28: "317811"}),
    Benchmark("loop", (2000, 50_000, 1_000_000),
              {2000: "2789232", 50_000: "1749863408", 1_000_000: "699997281664"}),
    Benchmark("sieve", (500, 3000, 40_000), {500: "950", 3000: "4300", 40_000: "42030"}),
    Benchmark("mandel", (8, 24, 100), {8: "4402", 24: "33200", 100: "561696"}),
    Benchmark("nbody", (50, 600, 10_000),
              {50: "-169075163169063617", 600: "-169075163169035625",
               10_000: "-169075163169016441"}),
    Benchmark("collatz", (200, 800, 10_000), {200: "171124", 800: "703170", 10_000: "6171261"}),
    Benchmark("matmul", (8, 32, 80), {8: "-143", 32: "-863", 80: "-43"}),
    Benchmark("calls", (500, 20_000, 300_000), {500: "809698", 20_000: "219198", 300_000: "92013"}),
    Benchmark("brief", (1200, 1200, 1200), {1200: "35020"}),
]
BY_NAME = {b.name: b for b in BENCHMARKS}
