"""`vmlab bench`: every benchmark in every runner, interleaved, checked.

One round runs each (benchmark, runner) pair once, in order; rounds repeat.
So every runner sees the same stretches of a noisy machine, and the ratio of
two medians compares like with like. A run whose output differs from the
expected one stops the whole measurement: a wrong answer never becomes a
number.
"""

from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.runners import Runner
from bench.suite import Benchmark

TIMEOUT = 600  # seconds for any one run


class WrongOutput(Exception):
    """A runner printed something else than the benchmark's expected output."""


@dataclass
class Results:
    size: str                                 # small, quick or full
    sizes: dict[str, int]                     # benchmark -> n
    runners: list[str]
    skipped: dict[str, str]                   # runner -> why it did not run
    suite: str = "standard"                   # a key of bench.suite.SUITES, or "spectrum"
    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # runner -> what it is
    unit: str | None = None                   # the runner ratios divide by (None: the suite's)

    def median(self, bench: str, runner: str) -> float:
        return statistics.median(self.samples[bench][runner])


def run_once(runner: Runner, b: Benchmark, n: int, work: Path) -> float:
    """Seconds for one whole-process run; WrongOutput if it printed the wrong thing."""
    command = runner.command(b, n, work)
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT,
                              check=False)
    except subprocess.TimeoutExpired:
        raise WrongOutput(f"{b.name}({n}) in {runner.name}: no answer in {TIMEOUT} s") from None
    seconds = time.perf_counter() - start
    want = b.expected[n] + "\n"
    if done.returncode != 0 or done.stdout != want:
        raise WrongOutput(
            f"{b.name}({n}) in {runner.name}: expected {want.strip()!r}, got "
            f"{done.stdout.strip()[:200]!r} (exit status {done.returncode})"
            + (f"\n{done.stderr.strip()[-800:]}" if done.stderr.strip() else "")
            + f"\ncommand: {' '.join(command)}")
    return seconds


def measure(benchmarks: list[Benchmark], runners: list[Runner], size: str, repeat: int,
            skipped: dict[str, str], advance=lambda label: None,
            suite: str = "standard", unit: str | None = None,
            work: Path | None = None) -> Results:
    """Run everything `repeat` times, interleaved; `advance(label)` after each
    run. The runners' files go to `work` (default: a temporary directory)."""
    results = Results(size, {b.name: b.size(size) for b in benchmarks},
                      [r.name for r in runners], skipped, suite,
                      labels={r.name: r.label for r in runners}, unit=unit)
    with tempfile.TemporaryDirectory(prefix="vmlab-bench-") as tmp:
        work = work or Path(tmp)
        for r in runners:  # untimed: fill numba's caches, compile the C
            if r.cached:
                for b in benchmarks:
                    advance(f"warm-up {r.name} {b.name}")
                    run_once(r, b, b.size(size), work)
        for _ in range(repeat):
            for b in benchmarks:
                for r in runners:
                    advance(f"{b.name} {r.name}")
                    seconds = run_once(r, b, b.size(size), work)
                    results.samples.setdefault(b.name, {}).setdefault(r.name, []).append(seconds)
    return results


def warmups(benchmarks: list[Benchmark], runners: list[Runner]) -> int:
    return sum(len(benchmarks) for r in runners if r.cached)
