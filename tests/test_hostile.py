"""Hostile input: whatever the bytes, compiling ends in a program or a clean
CompileError (through the CLI: exit status 1 and FILE:LINE:COL), never a
Python traceback, a crash or a hang."""

import re

import pytest
from conftest import ROOT, vmlab
from hypothesis import given, settings
from hypothesis import strategies as st

from lang import compile_source, decode_source
from vmlab.errors import CompileError

EXAMPLES = sorted((ROOT / "examples").glob("*.toy"))


def compiles_or_rejects(data: bytes):
    """Compile source bytes; only CompileError may come out."""
    try:
        return compile_source(decode_source(data), "x.toy")
    except CompileError as e:
        assert e.line >= 1 and e.col >= 1 and e.message
        e.render("x.toy", data.decode("utf-8", "replace"))
        return e


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes(data):
    compiles_or_rejects(data)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("fnletifwhr(){}[]<>=!+-*/%&|^~.,;\"\\#0123456789 \n\tx")),
               max_size=200))
def test_random_text_from_the_language_alphabet(text):
    compiles_or_rejects(text.encode())


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_truncation_of_the_examples(example):
    data = example.read_bytes()
    for end in range(len(data)):
        compiles_or_rejects(data[:end])


HOSTILE = {
    "parens_10000.toy": b"let x = " + b"(" * 10_000 + b"1" + b")" * 10_000 + b";\n",
    "unbalanced_parens.toy": b"print(" + b"(" * 10_000 + b"\n",
    "nested_blocks.toy": b"if true { " * 10_000 + b"}" * 10_000,
    "unary_chain.toy": b"let x = " + b"-" * 100_000 + b"1;",
    "long_sum.toy": b"let x = " + b" + ".join([b"1"] * 50_000) + b";",
    # 200,000 items: parsing lists must stay linear (quadratic took minutes)
    "long_array.toy": b"print(len([" + b", ".join([b"7"] * 200_000) + b"]));",
    "huge_int.toy": b"let x = " + b"9" * 1_000_000 + b";",
    "huge_float.toy": b"let x = 1." + b"9" * 1_000_000 + b"e99999999999;",
    "huge_exponent.toy": b"let x = 1e" + b"9" * 100_000 + b";",
    "long_name.toy": b"let " + b"a" * 1_000_000 + b" = 1;\nprint(" + b"b" * 10 + b");",
    "long_string.toy": b'print("' + b"s" * 1_000_000 + b'");\nprint(x);',
    "invalid_utf8.toy": b"print(1);\nlet s = \xff\xfe;\n",
    "truncated_utf8.toy": b'print("\xe2\x9c");',
    "nul_bytes.toy": b"print(1);\x00\x00",
    "only_bom.toy": b"\xef\xbb\xbf",
    "lone_surrogate.toy": b"print(\xed\xa0\x80);",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_file_through_the_cli(name, tmp_path):
    (tmp_path / name).write_bytes(HOSTILE[name])
    result = vmlab("run", name, cwd=tmp_path, timeout=120)
    err = result.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err
    if result.returncode == 1:
        assert re.match(rf"{re.escape(name)}:\d+:\d+: error: ", err), err[:300]
    else:
        assert result.returncode == 0, err[:300]


def test_expected_verdicts():
    def verdict(name):
        result = compiles_or_rejects(HOSTILE[name])
        return result.message if isinstance(result, CompileError) else "ok"
    assert verdict("parens_10000.toy") == "nesting too deep (more than 1000 levels)"
    assert verdict("huge_int.toy").startswith("integer literal too large")
    assert verdict("huge_float.toy") == "float literal too large"
    assert verdict("invalid_utf8.toy") == "invalid UTF-8 byte 0xff"
    assert verdict("only_bom.toy") == "ok"
    e = compiles_or_rejects(HOSTILE["invalid_utf8.toy"])
    assert (e.line, e.col) == (2, 9)
