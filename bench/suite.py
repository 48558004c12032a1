"""The benchmark suites: each program, its sizes, and what it must print.

Every benchmark is bench/programs/NAME.toy, which defines `bench(n)` and
ends with `print(bench(N));`. Sizes: "small" for CI's correctness check,
"quick" for `vmlab bench --quick`, "full" for `vmlab bench`.

- The standard suite: numeric kernels with twins of the same algorithm in C
  (bench/ref), Python (bench/python, also run under numba's @njit), Lua 5.4
  (bench/lua) and LuaJIT (bench/luajit when Lua 5.4's integer operators are
  needed, else the Lua 5.4 file). Quick ~0.25 s in the Python interpreter,
  full ~3 s. The expected outputs are the C programs'.
- The polymorphic suite: ordinary code whose values change type (int-or-nil
  and int-or-float results, nil-initialised locals, generic helpers, ...),
  which the JIT must compile too; vmlab's tiers only (no twins), judged
  against the interpreter. Quick ~0.25 s in the Python interpreter, full ~1 s
  (whole process). The expected outputs are the interpreter's, checked
  against Python models of the programs when they were written.
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
    # Are We Fast Yet's micro benchmarks (Marr et al., DLS 2016), each bench(n)
    # checking every iteration against the published result.
    Benchmark("permute", (1, 5, 55), {1: "8660", 5: "43300", 55: "476300"}),
    Benchmark("queens", (1, 10, 120), {1: "1", 10: "10", 120: "120"}),
    Benchmark("towers", (1, 3, 35), {1: "8191", 3: "24573", 35: "286685"}),
    Benchmark("bounce", (1, 4, 45), {1: "1331", 4: "5324", 45: "59895"}),
    Benchmark("list", (1, 5, 65), {1: "10", 5: "50", 65: "650"}),
    Benchmark("sieve_awfy", (1, 7, 85), {1: "669", 7: "4683", 85: "56865"}),
    Benchmark("startup", (1, 1, 1), {1: "1"}),  # each tier's fixed cost (a hello world)
]
BY_NAME = {b.name: b for b in BENCHMARKS}

POLYMORPHIC = [
    Benchmark("int_or_nil", (2000, 40_000, 170_000),
              {2000: "807000403096", 40_000: "15991008060775", 170_000: "67787033998870"}),
    Benchmark("int_or_float", (1500, 32_000, 140_000),
              {1500: "2979698.0", 32_000: "63550846.5", 140_000: "278031228.5"}),
    Benchmark("nil_local", (200, 4000, 17_000),
              {200: "88293013", 4000: "1795162275", 17_000: "7630579172"}),
    Benchmark("generic", (1200, 11_000, 48_000),
              {1200: "-348860.0", 11_000: "-30147882.75", 48_000: "-575554400.0"}),
    Benchmark("reassigned_param", (200, 5000, 20_000),
              {200: "2838.726316542524", 5000: "353606.1126564082",
               20_000: "2828532.8793759886"}),
    # n is the prime whose smallest factor the long call looks for.
    Benchmark("warmup_osr", (100_000_007, 200_000_000_041, 4_000_000_000_039),
              {100_000_007: "100031581", 200_000_000_041: "200000031615",
               4_000_000_000_039: "4000000031613"}),
    Benchmark("type_change", (300, 7000, 30_000),
              {300: "736934.1081847014", 7000: "17185663.720703542",
               30_000: "73693410.81847014"}),
    Benchmark("nil_recursion", (150, 3500, 15_000),
              {150: "361904.0", 3500: "8505676.0", 15_000: "36507640.0"}),
    Benchmark("array_types", (150, 3200, 14_000), {150: "1675", 3200: "35735", 14_000: "156335"}),
]


@dataclass(frozen=True)
class Goal:
    """What `runner` must reach, as multiples of the suite's unit: at most
    `each` on every program and `geomean` over all (the JIT's target)."""
    runner: str
    each: float
    geomean: float


@dataclass(frozen=True)
class Suite:
    """`vmlab bench --suite NAME`: its programs, the runners that can run
    them (None: all), and the runner the ratio table divides by."""
    name: str
    benchmarks: list[Benchmark]
    runners: tuple[str, ...] | None
    unit: str
    goal: Goal | None = None


SUITES = {s.name: s for s in (
    Suite("standard", BENCHMARKS, None, "c"),
    Suite("polymorphic", POLYMORPHIC, ("interp", "native", "jit", "jitcold"), "interp",
          Goal("jit", each=1.0, geomean=0.3)),
)}
