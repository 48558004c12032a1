"""The JIT and `vmlab build` against C (cc -O2, compiled at run time):
steady state in process, and whole processes. The C twin runs before each
timed round of the JIT's, so the ratio of the medians comes from one stretch
of a noisy machine (targets: steady state within 1.3x of C on each, whole
process within 1.5x on the geometric mean; see bench/native.py).

    pytest bench/bench_native.py --benchmark-only -s

With --benchmark-disable (the test suite) each runs once at a small size and
checks that the JIT's answer is C's.
"""

import statistics
import subprocess
import sys
import time

import pytest

from bench import native


def sizes(benchmark):
    return native.SMALL if benchmark.disabled else native.MEDIUM


@pytest.mark.parametrize("name", native.NAMES)
def test_steady_state(benchmark, name):
    benchmark.group = f"steady state: {name}"
    n = sizes(benchmark)[name]
    jit, c = native.jit_function(name, n), native.c_function(name)
    c_times = []

    def time_c():
        start = time.perf_counter()
        c(n)
        c_times.append(time.perf_counter() - start)

    result = benchmark.pedantic(jit, args=(n,), setup=time_c, rounds=5, warmup_rounds=1)
    assert str(result) + "\n" == native.expected(name, n) and result == c(n)
    if not benchmark.disabled:
        ratio = benchmark.stats.stats.median / statistics.median(c_times)
        benchmark.extra_info["ratio_to_c"] = round(ratio, 2)
        print(f"\n{name}({n}) steady state: JIT / C = {ratio:.2f}")


@pytest.mark.parametrize("cache", ["empty", "warm"])
@pytest.mark.parametrize("name", native.NAMES)
def test_whole_process(benchmark, name, cache, tmp_path):
    """With an empty code cache (a new directory each run) or a warm one."""
    benchmark.group = f"whole process: {name}"
    n = sizes(benchmark)[name]
    program = tmp_path / f"{name}.toy"
    program.write_text(native.source(name, n))
    want = native.expected(name, n)
    binary = [str(native.c_binary(name, shared=False)), str(n)]
    c_times, directories = [], iter(range(1_000_000))

    def time_c():
        start = time.perf_counter()
        subprocess.run(binary, check=True, capture_output=True)
        c_times.append(time.perf_counter() - start)

    def vmlab():
        directory = tmp_path / (f"cache{next(directories)}" if cache == "empty" else "cache")
        return subprocess.run([sys.executable, "-m", "vmlab", "run", "--jit", "--jit-cache",
                               str(directory), str(program)],
                              check=True, capture_output=True, text=True).stdout

    if cache == "warm":
        vmlab()
    assert benchmark.pedantic(vmlab, setup=time_c, rounds=3) == want
    if not benchmark.disabled:
        ratio = benchmark.stats.stats.median / statistics.median(c_times)
        benchmark.extra_info["ratio_to_c"] = round(ratio, 2)
        print(f"\n{name}({n}) whole process, {cache} cache: vmlab run --jit / C = {ratio:.2f}")


@pytest.mark.parametrize("name", native.NAMES)
def test_built_executable(benchmark, name, tmp_path):
    """The executable `vmlab build` makes (target: within 1.2x of C in
    geometric mean, at the sizes of `python -m bench.native`)."""
    from jit.build import HOST, TARGETS, build
    from lang import compile_source
    benchmark.group = f"whole process: {name}"
    n = sizes(benchmark)[name]
    built = tmp_path / name
    build(compile_source(native.source(name, n), f"{name}.toy"), built, TARGETS[HOST])
    binary = [str(native.c_binary(name, shared=False)), str(n)]
    c_times = []

    def time_c():
        start = time.perf_counter()
        subprocess.run(binary, check=True, capture_output=True)
        c_times.append(time.perf_counter() - start)

    def run():
        return subprocess.run([str(built)], check=True, capture_output=True, text=True).stdout

    assert benchmark.pedantic(run, setup=time_c, rounds=5) == native.expected(name, n)
    if not benchmark.disabled:
        ratio = benchmark.stats.stats.median / statistics.median(c_times)
        benchmark.extra_info["ratio_to_c"] = round(ratio, 2)
        print(f"\n{name}({n}) whole process: vmlab build's executable / C = {ratio:.2f}")
