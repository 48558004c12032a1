"""Whole-process start-up: `vmlab run examples/hello.toy` against `python -c
pass` with the same interpreter (target: at most 3x).

The two commands alternate, round by round, so that both medians come from
the same stretch of a noisy machine:

    pytest bench/bench_startup.py --benchmark-only -s
"""

import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VMLAB = Path(sys.executable).parent / "vmlab"
PYTHON_PASS = [sys.executable, "-c", "pass"]
VMLAB_HELLO = [str(VMLAB), "run", "examples/hello.toy"]


def run(command):
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


@pytest.fixture(scope="module", autouse=True)
def byte_compiled():
    """Fresh .pyc files, as an installed vmlab has: where PYTHONDONTWRITEBYTECODE
    is set, Python would otherwise recompile every edited module at each start."""
    import compileall
    for package in ("vmlab", "lang"):
        compileall.compile_dir(ROOT / package, quiet=1)


@pytest.mark.benchmark(group="start-up")
def test_vmlab_run_hello_vs_python_pass(benchmark):
    baseline: list[float] = []

    def time_baseline():  # runs untimed before each timed round
        start = time.perf_counter()
        run(PYTHON_PASS)
        baseline.append(time.perf_counter() - start)

    benchmark.pedantic(run, args=(VMLAB_HELLO,), setup=time_baseline, rounds=40,
                       warmup_rounds=2)
    if benchmark.stats is None:  # --benchmark-disable: ran once, no timing
        return
    mine, base = benchmark.stats.stats.median, statistics.median(baseline)
    benchmark.extra_info.update(python_pass_median_ms=round(base * 1e3, 2),
                                ratio_to_python_pass=round(mine / base, 2))
    print(f"\nvmlab run hello.toy: median {mine * 1e3:.1f} ms; python -c pass: median "
          f"{base * 1e3:.1f} ms; ratio {mine / base:.2f}x")
