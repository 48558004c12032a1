"""The polymorphic suite (bench/suite.py) under pytest-benchmark: every
program in the runners that can run it (interp, native, jit), whole
processes, grouped by program, so that each group shows the JIT next to the
interpreter. Every run's output is checked against the expected one, so with
--benchmark-disable (the test suite, CI) this is the correctness check of
every tier on these programs, at the small sizes; timed, it runs the quick
sizes, where compiling has something to win. No timing is ever asserted
(`vmlab bench --suite polymorphic` reports the JIT's goal).

    pytest bench/bench_polymorphic.py --benchmark-only [--benchmark-autosave]
    pytest bench/bench_polymorphic.py --benchmark-only --benchmark-compare
"""

import pytest

from bench import harness, runners, suite

POLYMORPHIC = suite.SUITES["polymorphic"]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("polymorphic")


@pytest.mark.parametrize("runner", [runners.BY_NAME[r] for r in POLYMORPHIC.runners],
                         ids=lambda r: r.name)
@pytest.mark.parametrize("bench", POLYMORPHIC.benchmarks, ids=lambda b: b.name)
def test_polymorphic(benchmark, bench, runner, work):
    benchmark.group = f"polymorphic: {bench.name}"
    n = bench.size("small" if benchmark.disabled else "quick")
    if runner.cached and not benchmark.disabled:  # fill numba's cache: untimed
        harness.run_once(runner, bench, n, work)
    benchmark.pedantic(harness.run_once, args=(runner, bench, n, work), rounds=3)
