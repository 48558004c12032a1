"""Compile time of a generated 2,000-line program (target: at most 0.5 s).

    pytest bench/bench_compile.py --benchmark-only -s
"""

import pytest

from bench.generate import program
from lang import compile_source

SOURCE = program(2000)


@pytest.mark.benchmark(group="compile")
def test_compile_2000_lines(benchmark):
    compiled = benchmark(compile_source, SOURCE, "generated.toy")
    assert len(compiled.functions) > 50
    lines = SOURCE.count("\n")
    benchmark.extra_info["lines"] = lines
    if getattr(benchmark, "stats", None):
        print(f"\n{lines} lines: median {benchmark.stats.stats.median * 1e3:.0f} ms")
