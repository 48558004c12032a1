"""The reference interpreter against CPython on the same recursive fib.

    pytest bench/bench_interp.py --benchmark-only -s

prints the ratio of the medians (target: the toy interpreter at most 40x
CPython) and the interpreter's time per executed bytecode instruction.
"""

import pytest

from bench.conftest import report
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
def test_fib_cpython(benchmark):
    assert benchmark(fib, N) == 75025
    report(benchmark, "ratio", "cpython", "cpython")


@pytest.mark.benchmark(group="fib(25)")
def test_fib_toy_interpreter(benchmark):
    program = compile_source(FIB_TOY, "fib.toy")

    def run_once():
        out = Output()
        run(program, out)
        return out.getvalue()

    assert benchmark(run_once) == "75025\n"
    executed = count_instructions(program)
    benchmark.extra_info["instructions"] = executed
    ratio = report(benchmark, "ratio_to_cpython", "toy interpreter", "cpython")
    if ratio is not None:
        ns = benchmark.stats.stats.median / executed * 1e9
        benchmark.extra_info["ns_per_instruction"] = round(ns, 1)
        print(f"{executed} instructions executed, {ns:.0f} ns per instruction")
