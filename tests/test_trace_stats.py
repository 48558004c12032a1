"""Golden files pin the `vmlab trace` and `vmlab run --stats` formats; the
stats JSON is validated against docs/stats.schema.json.

Regenerate after an intended format change with
`VMLAB_UPDATE_GOLDEN=1 pytest tests/test_trace_stats.py` and review the diff.
"""

import json
import os
import re
from pathlib import Path

import jsonschema
import pytest

from conftest import ROOT, vmlab

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = json.loads((ROOT / "docs" / "stats.schema.json").read_text())


def check_golden(name: str, text: str) -> None:
    golden = GOLDEN / name
    if os.environ.get("VMLAB_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


@pytest.mark.parametrize("program, args, golden", [
    ("trace_calls.toy", [], "trace_calls.trace"),
    ("trace_loop.toy", [], "trace_loop.trace"),
    ("trace_calls.toy", ["--limit", "12"], "trace_calls_limit.trace"),
    ("trace_calls.toy", ["--fn", "fib", "--limit", "9"], "trace_calls_fn.trace"),
])
def test_trace(program, args, golden):
    result = vmlab("trace", program, *args, cwd=GOLDEN)
    check_golden(golden, result.stdout.decode() + "--- stderr\n" + result.stderr.decode())


def test_trace_matches_a_plain_run():
    """The trace observes the run without changing it: same output, same error."""
    traced = vmlab("trace", "trace_loop.toy", "--limit", "1", cwd=GOLDEN)
    plain = vmlab("run", "trace_loop.toy", cwd=GOLDEN)
    kept = traced.stdout.decode().splitlines()[3:]  # header, one line, stop notice
    assert kept == plain.stdout.decode().splitlines()
    assert (traced.stderr, traced.returncode) == (plain.stderr, plain.returncode) \
        and plain.returncode == 1


def test_trace_of_an_unknown_function_is_a_usage_error():
    result = vmlab("trace", "trace_calls.toy", "--fn", "nope", cwd=GOLDEN)
    assert result.returncode == 2 and b"no function 'nope'" in result.stderr


def masked(stats_text: str) -> str:
    """The stats with their times replaced by T (and the rate by R)."""
    text = re.sub(r"in \d+\.\d+ s: \d+\.\d+ million", "in T s: R million", stats_text)
    return re.sub(r"\d+\.\d+ s\b", "T s", text)


def test_stats_table_and_json(tmp_path):
    result = vmlab("run", "stats_mixed.toy", "--stats", "--stats-json",
                   str(tmp_path / "s.json"), cwd=GOLDEN)
    assert result.returncode == 0 and result.stdout == b"285 5\n"
    check_golden("stats_mixed.stats", masked(result.stderr.decode()))
    report = json.loads((tmp_path / "s.json").read_text())
    jsonschema.validate(report, SCHEMA)
    assert report["calls"] == {"<main>": 1, "square": 13, "sum_squares": 2}
    assert report["instructions"] == sum(report["opcodes"].values())
    assert report["opcodes"]["CALL"] == 15 and report["status"] == "ok"
    assert report["time"]["run"] == pytest.approx(report["seconds"], abs=1e-5)
    assert report["time"]["startup"] > 0 and report["time"]["front_end"] > 0


def test_stats_after_a_runtime_error(tmp_path):
    result = vmlab("run", "trace_loop.toy", "--stats-json", str(tmp_path / "s.json"),
                   cwd=GOLDEN)
    assert result.returncode == 1 and result.stderr.startswith(b"error: index 7 out")
    report = json.loads((tmp_path / "s.json").read_text())
    jsonschema.validate(report, SCHEMA)
    assert report["status"] == "error" and report["opcodes"]["INDEX"] == 2


def test_schema_rejects_what_it_should():
    good = json.loads(json.dumps({
        "schema": "vmlab-stats/1", "program": "p.toy", "tier": "interp", "status": "ok",
        "instructions": 3, "seconds": 0.1, "instructions_per_second": 30.0,
        "opcodes": {"LOAD_CONST": 2, "RETURN": 1}, "calls": {"<main>": 1}}))
    jsonschema.validate(good, SCHEMA)
    for bad in ({"opcodes": {"NOPE": 1}}, {"status": "maybe"}, {"calls": {}},
                {"instructions": -1}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**good, **bad}, SCHEMA)


def test_stats_count_every_instruction_the_plain_run_executes():
    """Counting disables the comparison/branch shortcut, so every instruction,
    JUMP_IF_FALSE included, is seen once."""
    from bench.measure import count_instructions
    from lang import compile_source
    program = compile_source("fn fib(n) { if n < 2 { return n; } "
                             "return fib(n - 1) + fib(n - 2); }\nprint(fib(10));")
    calls = 177  # fib(10) makes 177 calls: 89 reach the base case
    assert count_instructions(program) == 5 + 89 * 6 + (calls - 89) * 14
