"""The reference interpreter against CPython on the same recursive fib
(target: the toy interpreter at most 40x CPython), and its time per executed
bytecode instruction.

CPython's fib runs, untimed by pytest-benchmark but timed here, before each
timed round of the toy's, so both medians come from the same stretch of a
noisy machine:

    pytest bench/bench_interp.py --benchmark-only -s
"""

import statistics
import time

import pytest

from bench.measure import count_instructions
from lang import compile_source
from vmlab.interp import run
from vmlab.output import Output

N = 25
FIB_TOY = f"""
fn fib(n) {{
    if n < 2 {{ return n; }}
    return fib(n - 1) + fib(n - 2);
}}
print(fib({N}));
"""


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


@pytest.mark.benchmark(group="fib(25)")
def test_fib_toy_interpreter_vs_cpython(benchmark):
    program = compile_source(FIB_TOY, "fib.toy")
    cpython: list[float] = []

    def time_cpython():
        start = time.perf_counter()
        assert fib(N) == 75025
        cpython.append(time.perf_counter() - start)

    def run_toy():
        out = Output()
        run(program, out)
        return out.getvalue()

    result = benchmark.pedantic(run_toy, setup=time_cpython, rounds=15, warmup_rounds=1)
    assert result == "75025\n"
    if benchmark.stats is None:  # --benchmark-disable: ran once, no timing
        return
    executed = count_instructions(program)
    mine, base = benchmark.stats.stats.median, statistics.median(cpython)
    ns = mine / executed * 1e9
    benchmark.extra_info.update(cpython_median_ms=round(base * 1e3, 2),
                                ratio_to_cpython=round(mine / base, 2),
                                instructions=executed, ns_per_instruction=round(ns, 1))
    print(f"\nfib({N}): toy interpreter median {mine * 1e3:.1f} ms, CPython median "
          f"{base * 1e3:.2f} ms, ratio {mine / base:.1f}x; {executed} instructions, "
          f"{ns:.0f} ns per instruction")
