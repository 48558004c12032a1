"""Shared by the benchmarks: medians of earlier benchmarks in the same run,
so that a later one can report a ratio measured in one run."""

import pytest

MEDIANS: dict[str, float] = {}


@pytest.fixture
def medians():
    return MEDIANS


def median_of(benchmark) -> float | None:
    """The median of a finished benchmark, or None when timing is disabled."""
    stats = getattr(benchmark, "stats", None)
    return stats.stats.median if stats else None


def report(benchmark, name: str, key: str, baseline: str) -> float | None:
    """Store this benchmark's median under `key`; if `baseline` was measured
    earlier in the run, record and return the ratio of the medians."""
    mine = median_of(benchmark)
    if mine is None:
        return None
    MEDIANS[key] = mine
    if baseline not in MEDIANS:
        return None
    ratio = mine / MEDIANS[baseline]
    benchmark.extra_info[name] = round(ratio, 2)
    print(f"\n{key}: median {mine * 1e3:.2f} ms = {ratio:.2f}x {baseline} "
          f"({MEDIANS[baseline] * 1e3:.2f} ms)")
    return ratio
