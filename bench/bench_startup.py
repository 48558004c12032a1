"""Whole-process start-up: `vmlab run examples/hello.toy` against `python -c
pass` with the same interpreter, measured in one run (target: at most 3x).

    pytest bench/bench_startup.py --benchmark-only -s
"""

import subprocess
import sys
from pathlib import Path

import pytest

from bench.conftest import report

ROOT = Path(__file__).resolve().parent.parent
VMLAB = Path(sys.executable).parent / "vmlab"


def run(*command):
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


@pytest.mark.benchmark(group="start-up", min_rounds=20, warmup=True)
def test_python_pass(benchmark):
    benchmark(run, sys.executable, "-c", "pass")
    report(benchmark, "ratio", "python -c pass", "python -c pass")


@pytest.mark.benchmark(group="start-up", min_rounds=20, warmup=True)
def test_vmlab_run_hello(benchmark):
    benchmark(run, str(VMLAB), "run", "examples/hello.toy")
    report(benchmark, "ratio_to_python_pass", "vmlab run hello.toy", "python -c pass")
