"""The conformance suite: every SPEC rule as a program with its expected
stdout, stderr and exit status, run through the CLI in every tier.

Layout: `conformance/TOPIC/NAME.toy` with `NAME.out` (expected stdout) and,
for programs that fail, `NAME.err` (expected stderr; exit status 1). Without
`.err` the program must succeed with empty stderr and exit status 0.
"""

import json
from pathlib import Path

import pytest
from conftest import vmlab, vmlab_in_process
from tiers import IN_PROCESS, TIER_ENV, TIERS

SUITE = Path(__file__).parent / "conformance"
PROGRAMS = sorted(SUITE.rglob("*.toy"))


def expected(program: Path, suffix: str) -> bytes:
    path = program.with_suffix(suffix)
    return path.read_bytes() if path.exists() else b""


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: str(p.relative_to(SUITE)))
def test_program(program, tier):
    """(The JIT tiers run with their memory check: docs/jit.md.)"""
    if tier in IN_PROCESS:
        result = vmlab_in_process("run", *TIERS[tier], program.name, cwd=program.parent)
    else:
        result = vmlab("run", *TIERS[tier], program.name, cwd=program.parent,
                       env={"VMLAB_JIT_MEMCHECK": "1", **TIER_ENV.get(tier, {})})
    want_err = expected(program, ".err")
    assert result.stderr.decode() == want_err.decode()
    assert result.stdout == expected(program, ".out")
    assert result.returncode == (1 if want_err else 0)


def test_every_program_has_expectations():
    for program in PROGRAMS:
        assert program.with_suffix(".out").exists() or program.with_suffix(".err").exists(), \
            f"{program} has neither .out nor .err"


def test_rules_table_lists_existing_programs():
    """README.md maps each SPEC rule to programs; every entry must exist and
    every program must be listed."""
    table = (SUITE / "README.md").read_text()
    listed = {word.strip("`") for word in table.split() if word.strip("`,").endswith(".toy")}
    listed = {w.rstrip(",") for w in listed}
    on_disk = {str(p.relative_to(SUITE)) for p in PROGRAMS
               if p.parent.name != "regressions"}  # the fuzzer's finds: see README.md
    assert listed - on_disk == set(), "README.md lists missing programs"
    assert on_disk - listed == set(), "programs missing from README.md"


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: str(p.relative_to(SUITE)))
def test_jit_compiles_what_runs(program, tmp_path):
    """With --jit-threshold 0, every function that is called and every loop
    that iterates is compiled, whatever types it meets, and nothing is
    declined (the stats say so)."""
    report_path = tmp_path / "stats.json"
    vmlab("run", *TIERS["jit0"], program.name, "--stats-json", str(report_path),
          cwd=program.parent)
    if not report_path.exists():
        assert program.with_suffix(".err").read_text().count(": error: ") == 1
        return  # a compile error: nothing ran
    functions = json.loads(report_path.read_text())["jit"]["functions"]
    declined = [d for f in functions.values() for d in f["declined"]]
    assert declined == []
    for function, record in functions.items():
        entered = record["native_entries"] + (record["interpreted_back_edges"]
                                              if function == "<main>" else
                                              record["interpreted_calls"])
        if entered:  # (callees compiled with their caller are entered natively only)
            assert record["compiled"], (function, record)
