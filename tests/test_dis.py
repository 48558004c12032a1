"""Golden files pin the disassembly format (`vmlab dis`).

To accept an intended format change, regenerate with
`VMLAB_UPDATE_GOLDEN=1 pytest tests/test_dis.py` and review the diff.
"""

import os
from pathlib import Path

import pytest
from conftest import vmlab

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("program", sorted(GOLDEN.glob("dis_*.toy")), ids=lambda p: p.stem)
def test_dis_listing(program):
    result = vmlab("dis", program.name, cwd=GOLDEN)
    assert result.returncode == 0 and result.stderr == b""
    golden = program.with_suffix(".dis")
    if os.environ.get("VMLAB_UPDATE_GOLDEN"):
        golden.write_bytes(result.stdout)
    assert result.stdout.decode() == golden.read_text()


def test_dis_one_function():
    result = vmlab("dis", "dis_calls.toy", "--fn", "fib", cwd=GOLDEN)
    listing = (GOLDEN / "dis_calls.dis").read_text()
    assert result.stdout.decode() == listing[listing.index("fn fib"):listing.index("\nfn fill")]


def test_dis_main_only():
    result = vmlab("dis", "dis_calls.toy", "--fn", "<main>", cwd=GOLDEN)
    assert result.stdout.decode().startswith("<main>  [dis_calls.toy:1]")
    assert "fn fib" not in result.stdout.decode()


def test_dis_unknown_function_is_a_usage_error():
    result = vmlab("dis", "dis_calls.toy", "--fn", "nope", cwd=GOLDEN)
    assert result.returncode == 2
    assert result.stderr.decode() == ("vmlab: error: no function 'nope' in dis_calls.toy "
                                      "(there is: <main>, fib, fill)\n")
