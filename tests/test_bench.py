"""`vmlab bench`: the suites' bookkeeping, their files, their errors, and the
trade-off experiment's data. Timings are never asserted (only that they
exist); correctness of every tier and peer on the standard suite is
bench/bench_suite.py's job, on the polymorphic suite this file's (every tier
of tests/tiers.py) and bench/bench_polymorphic.py's."""

import dataclasses
import json

import pytest
from conftest import vmlab, vmlab_in_process
from tiers import IN_PROCESS, TIERS

from bench import harness, report, runners, suite, tradeoff

PNG = b"\x89PNG\r\n\x1a\n"


def test_every_benchmark_has_its_twins_and_sizes():
    for b in suite.BENCHMARKS:
        assert b.source(7).endswith("print(bench(7));\n") and b.about
        assert set(b.expected) == set(b.sizes)
        for folder, suffix in (("ref", "c"), ("python", "py"), ("lua", "lua")):
            assert (suite.HERE / folder / f"{b.name}.{suffix}").exists(), (folder, b.name)


def test_every_polymorphic_program_has_its_sizes():
    names = [b.name for s in suite.SUITES.values() for b in s.benchmarks]
    assert len(names) == len(set(names))  # --only and the JSON go by name
    assert len(suite.POLYMORPHIC) >= 7
    for b in suite.POLYMORPHIC:
        assert b.source(7).endswith("print(bench(7));\n") and b.about
        assert set(b.expected) == set(b.sizes) and list(b.sizes) == sorted(b.sizes)


@pytest.mark.parametrize("bench", suite.POLYMORPHIC, ids=lambda b: b.name)
def test_polymorphic_output(bench, tier, tmp_path):
    """At its small size, through the CLI, in every tier (`pytest --tier`)."""
    n = bench.size("small")
    (tmp_path / "p.toy").write_text(bench.source(n))
    run = vmlab_in_process if tier in IN_PROCESS else vmlab
    result = run("run", *TIERS[tier], "p.toy", cwd=tmp_path)
    assert (result.returncode, result.stdout.decode(), result.stderr.decode()) == \
        (0, bench.expected[n] + "\n", "")


def test_expected_outputs_are_the_c_programs(tmp_path):
    c = runners.BY_NAME["c"]
    for b in suite.BENCHMARKS:
        for n in sorted(set(b.sizes))[:2]:  # small and quick: the full ones take C seconds
            harness.run_once(c, b, n, tmp_path)  # WrongOutput if C prints otherwise


def test_suite_writes_table_json_and_chart(tmp_path):
    out, chart = tmp_path / "r.json", tmp_path / "r.png"
    result = vmlab("bench", "--size", "small", "--only", "fib", "loop", "--tiers", "interp,c",
                   "--tiers", "jit", "--repeat", "2", "--json", str(out), "--plot", str(chart))
    assert result.returncode == 0, result.stderr
    text = result.stdout.decode()
    assert "median seconds" in text and "times the C program" in text and "geomean" in text
    data = json.loads(out.read_text())
    assert data["sizes"] == {"fib": 15, "loop": 2000}
    assert list(data["runners"]) == ["interp", "c", "jit"]
    for bench in ("fib", "loop"):
        for runner in ("interp", "c", "jit"):
            samples = data["samples"][bench][runner]
            assert len(samples) == 2 and all(s > 0 for s in samples)
        assert data["ratios_to_c"][bench]["c"] == 1.0
    assert data["machine"]["cpus"] >= 1 and data["versions"]["llvmlite"]
    assert data["command"].startswith("vmlab bench --size small")
    assert chart.read_bytes().startswith(PNG)


def test_spectrum_writes_every_way_with_sizes_and_hosts(tmp_path):
    """--spectrum: each row ran (or says why not), with its artefact's size
    and where it runs as its format says; the chart is written."""
    out, chart = tmp_path / "s.json", tmp_path / "s.png"
    result = vmlab("bench", "--spectrum", "--size", "small", "--only", "fib", "--repeat", "1",
                   "--json", str(out), "--plot", str(chart))
    assert result.returncode == 0, result.stderr
    assert "every way to run a program" in result.stdout.decode()
    data = json.loads(out.read_text())
    from bench.spectrum import RUNNERS
    assert list(data["runners"]) + list(data["skipped"]) == [r.name for r in RUNNERS] or \
        set(data["runners"]) | set(data["skipped"]) == {r.name for r in RUNNERS}
    found = data["artefacts"]["fib"]
    toyc = found["interp"]["bytes"]
    for runner in data["runners"]:
        assert data["samples"]["fib"][runner][0] > 0
    for runner in {"interp", "native", "jit"} & set(data["runners"]):
        assert found[runner]["bytes"] == toyc and "any machine with vmlab" in \
            found[runner]["runs_on"]
    hosts = {"wasm": "any WebAssembly runtime", "exe": "x86-64 Linux only",
             "container": "x86-64 Linux only", "aarch64": "aarch64 Linux only",
             "riscv64": "riscv64 Linux only", "c": "x86-64 Linux only"}
    for runner, host in hosts.items():
        if runner in data["runners"]:
            assert found[runner]["runs_on"] == host or host in found[runner]["runs_on"]
            assert found[runner]["bytes"] > toyc
    assert chart.read_bytes().startswith(PNG)


def test_polymorphic_suite_writes_ratios_to_the_interpreter_and_the_goal(tmp_path):
    out, chart = tmp_path / "r.json", tmp_path / "r.png"
    result = vmlab("bench", "--suite", "polymorphic", "--size", "small", "--only", "int_or_nil",
                   "generic", "--tiers", "interp,jit", "--repeat", "1", "--json", str(out),
                   "--plot", str(chart))
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.decode().split())
    assert "times the interpreter" in text and "geomean" in text
    assert "jit at most 1x the interpreter on every program" in text
    data = json.loads(out.read_text())
    assert data["suite"] == "polymorphic" and data["ratios_to"] == "interp"
    assert data["sizes"] == {"int_or_nil": 2000, "generic": 1200}
    assert list(data["runners"]) == ["interp", "jit"] and "ratios_to_c" not in data
    for bench in ("int_or_nil", "generic"):
        assert data["ratios_to_interp"][bench]["interp"] == 1.0
        assert data["ratios_to_interp"][bench]["jit"] > 0
    assert data["goal"]["runner"] == "jit" and data["goal"]["met"] in (True, False)
    assert chart.read_bytes().startswith(PNG)
    assert "Times the interpreter:" in report.markdown(data)


def test_the_goal_is_every_program_and_the_geometric_mean():
    def results(jit_seconds):
        r = harness.Results("full", {"a": 1, "b": 1}, ["interp", "jit"], {}, "polymorphic")
        r.samples = {b: {"interp": [1.0], "jit": [s]} for b, s in zip("ab", jit_seconds)}
        return r
    assert report.goal(results([0.2, 0.3]))["met"]        # geomean 0.245
    assert not report.goal(results([0.05, 1.1]))["met"]   # geomean 0.235, one slower
    slow = report.goal(results([0.3, 0.4]))               # geomean 0.346
    assert not slow["met"] and slow["worst_program"] == "b"
    assert report.goal(harness.Results("full", {}, ["interp"], {}, "standard")) is None


def test_a_wrong_output_fails_loudly_and_is_never_a_number(tmp_path, monkeypatch, capsys):
    from vmlab.cli import main
    wrong = suite.Benchmark("fib", (15, 23, 28), {15: "611", 23: "28657", 28: "317811"})
    standard = dataclasses.replace(suite.SUITES["standard"], benchmarks=[wrong])
    monkeypatch.setitem(suite.SUITES, "standard", standard)
    out = tmp_path / "r.json"
    status = main(["bench", "--size", "small", "--only", "fib", "--tiers", "interp",
                   "--repeat", "1", "--json", str(out), "--plot", str(tmp_path / "r.png")])
    text = capsys.readouterr().out
    assert status == 1 and not out.exists()
    assert "wrong output" in text and "expected '611', got '610'" in " ".join(text.split())


@pytest.mark.parametrize("args, message", [
    (["--only", "nope"], "unknown benchmark 'nope' (there is: fib, loop"),
    (["--tiers", "interp,bogus"], "unknown tier 'bogus' (there is: interp, native, jit"),
    (["--tradeoff", "nbody"], "no trade-off sweep for 'nbody' (there is: fib, loop"),
    (["--repeat", "0"], "usage: vmlab bench"),
    (["--suite", "nope"], "unknown suite 'nope' (there is: standard, polymorphic)"),
    (["--suite", "polymorphic", "--tiers", "jit,c"],
     "unknown tier 'c' (there is: interp, native, jit, jitcold)"),
    (["--suite", "polymorphic", "--only", "fib"],
     "unknown benchmark 'fib' (there is: int_or_nil"),
    (["--suite", "polymorphic", "--tradeoff"],
     "--tradeoff sweeps the standard suite's programs only"),
    (["--suite", "polymorphic", "--spectrum"],
     "--spectrum runs the standard suite's programs only"),
    (["--spectrum", "--tiers", "jitcold"], "unknown tier 'jitcold' (there is: interp, native, "
                                            "wasm, jit, exe, container"),
])
def test_usage_errors(args, message):
    result = vmlab("bench", *args)
    assert result.returncode == 2
    assert message in result.stderr.decode() and b"Traceback" not in result.stderr


def test_crossing_interpolates_on_log_axes():
    assert tradeoff.crossing([10, 100, 1000], [1.0, 2.0, 4.0], [4.0, 4.0, 2.0]) == \
        pytest.approx(10 ** 2.5)
    assert tradeoff.crossing([10, 100], [1.0, 2.0], [0.5, 1.0]) is None   # always faster
    assert tradeoff.crossing([10, 100], [1.0, 2.0], [3.0, 3.0]) is None   # never
    # A late loss moves the break-even past it.
    assert tradeoff.crossing([1, 10, 100, 1000], [1, 1, 1, 1], [2, 0.5, 2, 0.5]) > 100


def test_tradeoff_writes_curves_and_plots(tmp_path, monkeypatch):
    out, chart = tmp_path / "t.json", tmp_path / "t.png"
    result = vmlab("bench", "--tradeoff", "fib", "--repeat", "1", "--json", str(out),
                   "--plot", str(chart))
    assert result.returncode == 0, result.stderr
    assert "break-even" in result.stdout.decode()
    fib = json.loads(out.read_text())["programs"]["fib"]
    assert fib["sizes"] == tradeoff.LADDERS["fib"]
    assert set(fib["seconds"]) == {"interp", "jit", "native"}
    assert all(len(v) == len(fib["sizes"]) for v in fib["seconds"].values())
    assert len(fib["warmup_seconds"]["jit"]) == tradeoff.WARMUP_RUNS
    assert max(fib["jit_compile_ms"]) > 0  # the JIT did compile, and it was counted
    assert chart.read_bytes().startswith(PNG)


def test_compile_latency_report():
    from bench import jit_compile
    times, grown = jit_compile.compile_times(5)
    assert len(times) == 5 and all(t > 0 for t in times) and grown >= 0
    assert jit_compile.distribution([1.0, 2.0, 3.0, 4.0]).startswith("median 2.5 ms, p5 ")


@pytest.fixture
def runs(monkeypatch) -> list:
    """The commands subprocess.run is given (and runs) during the test."""
    import subprocess
    commands, real = [], subprocess.run

    def counting(command, *args, **kwargs):
        commands.append(command)
        return real(command, *args, **kwargs)
    monkeypatch.setattr(subprocess, "run", counting)
    return commands


def test_the_jit_against_c_table_runs_as_many_rounds_as_asked(capsys, runs):
    """`python -m bench.native --small --rounds N fib`: one row, whole-process
    medians of N interleaved rounds of each command (counted here), and the
    geometric means."""
    from bench import native
    assert native.main(["--small", "--rounds", "2", "fib"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[:2] for line in out.splitlines() if line.startswith("fib")] == \
        [["fib", str(native.SMALL["fib"])]]
    assert "geometric mean process, empty cache" in out
    vmlab_runs = [c for c in runs if "vmlab" in c and "run" in c]
    assert len(vmlab_runs) == 1 + 2 * 2  # (the warm cache filled, then cold and warm per round)


@pytest.mark.parametrize("flag, sizes", [("--second", "SECOND"), ("--medium", "MEDIUM"),
                                         ("--small", "SMALL"), (None, "FULL")])
def test_the_jit_against_c_table_runs_each_program_at_the_sizes_asked(flag, sizes, capsys,
                                                                     monkeypatch):
    """Every program has a size in each set; `--second` (about a second
    of C: issue 21's setting) picks those, no flag FULL's."""
    from bench import native
    for table in (native.SECOND, native.FULL, native.MEDIUM, native.SMALL):
        assert set(table) == set(native.NAMES)
    measured = []
    monkeypatch.setattr(native, "steady_state", lambda name, n, rounds: measured.append(n) or (1, 1))
    monkeypatch.setattr(native, "whole_process", lambda name, n, rounds: (2, 2, 2, 1))
    assert native.main([*([flag] if flag else []), "towers", "fib"]) == 0
    assert measured == [getattr(native, sizes)["towers"], getattr(native, sizes)["fib"]]
    assert capsys.readouterr().out.count("\ntowers ") == 1


@pytest.mark.parametrize("argv, why", [
    (["--rounds"], "expected one argument"), (["--rounds", "0"], "takes a count of at least 1"),
    (["--rounds", "x", "fib"], "takes a count of at least 1"),
    (["--processes", "0", "fib"], "takes a count of at least 1")])
def test_the_jit_against_c_table_refuses_a_bad_round_count(argv, why, capsys):
    from bench import native
    assert native.main(argv) == 2
    assert capsys.readouterr().err.endswith(f"error: argument {argv[0]}: {why}\n")


def test_the_jit_against_c_table_refuses_an_unknown_program_and_measures_nothing(
        capsys, monkeypatch):
    from bench import native
    monkeypatch.setattr(native, "steady_state", None)  # (a measurement would fail)
    assert native.main(["--small", "fib", "fibb"]) == 2
    assert "error: no program 'fibb' (there are: fib, loop," in capsys.readouterr().err


def test_the_jit_against_c_table_explains_itself_without_measuring(capsys, monkeypatch):
    """`--help` prints the usage; it used to run the whole table."""
    from bench import native
    monkeypatch.setattr(native, "steady_state", None)
    assert native.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m bench.native") and "--processes" in out


def test_the_steady_state_can_be_the_median_of_fresh_processes(capsys, monkeypatch, runs):
    """`--processes P`: the steady state is measured in P fresh processes
    (each places the JIT's code anew), and the row is their medians."""
    from bench import native
    monkeypatch.setattr(native, "whole_process", lambda name, n, rounds: (2, 2, 2, 1))
    monkeypatch.setattr(native, "steady_state", None)  # (not in this process)
    assert native.main(["--small", "--processes", "2", "fib"]) == 0
    row = [line.split() for line in capsys.readouterr().out.splitlines()
           if line.startswith("fib")]
    assert len(row) == 1 and float(row[0][4]) > 0  # (the ratio: the times are microseconds)
    assert len([c for c in runs if "native.steady_state" in " ".join(c)]) == 2
