"""The suite under pytest-benchmark: every benchmark (bench/suite.py) in
every runner (bench/runners.py), whole processes at the small sizes, grouped
by program. Every run's output is checked against the expected one, so with
--benchmark-disable (the test suite, CI) this is the correctness check that
all tiers and peers agree; no timing is ever asserted.

    pytest bench/bench_suite.py --benchmark-only [--benchmark-autosave]
    pytest bench/bench_suite.py --benchmark-only --benchmark-compare
"""

import pytest

from bench import harness, runners, suite


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("suite")


@pytest.mark.parametrize("runner", runners.RUNNERS, ids=lambda r: r.name)
@pytest.mark.parametrize("bench", suite.BENCHMARKS, ids=lambda b: b.name)
def test_suite(benchmark, bench, runner, work):
    if why := runner.missing():
        pytest.skip(why)
    benchmark.group = bench.name
    n = bench.size("small")
    if runner.cached and not benchmark.disabled:  # fill a cache, compile the C: untimed
        harness.run_once(runner, bench, n, work)
    benchmark.pedantic(harness.run_once, args=(runner, bench, n, work), rounds=3)
