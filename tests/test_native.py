"""The native interpreter tier (numba): the interpreter's behaviour, counts
and limits, on the host's memory and stack."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import vmlab
from lang import compile_source
from program_gen import Generator
from vmlab.errors import ToyRuntimeError
from vmlab import opcodes as op
from vmlab.interp import run as interpret
from vmlab.native.encode import (FOR_STORE, FUSED_CONST, FUSED_LOCAL, INDEX_LL, JUMP_FOR,
                                 LOCAL_LEFT, STORE_INDEX_LLK, STORE_INDEX_LLL, STORE_RESULT,
                                 THEN_BRANCH, Encoded)
from vmlab.native.host import run as run_native
from vmlab.opcodes import OPCODES
from vmlab.output import Output
from vmlab.stats import Stats


def outcome(program, runner, max_depth=10_000, stats=None):
    out = Output()
    try:
        if runner is run_native:
            runner(program, out, max_depth, stats)
        else:
            runner(program, out, max_depth, stats.observer() if stats else None)
    except ToyRuntimeError as e:
        return out.getvalue(), e.render()
    return out.getvalue(), None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_generated_programs_and_their_counts_match_the_interpreter(data):
    program = compile_source(Generator(lambda n: data.draw(st.integers(0, n - 1))).program())
    mine, theirs = Stats(program, "native"), Stats(program)
    assert outcome(program, run_native, stats=mine) == outcome(program, interpret, stats=theirs)
    assert mine.opcodes == theirs.opcodes and mine.calls == theirs.calls


def test_arrays_are_collected_when_the_heap_fills():
    """A loop makes 200,000 arrays; only one is alive at a time."""
    program = compile_source(
        "let keep = [1, 2, 3];\nlet total = 0;\n"
        "for i in 0..200000 { let a = array(50, i); a[49] = i + 1; total = total + a[49]; }\n"
        "print(total, keep, len(keep));")
    assert outcome(program, run_native) == outcome(program, interpret) == \
        ("20000100000 [1, 2, 3] 3\n", None)


@pytest.mark.parametrize("depth, limit", [(9_999, 10_000), (10_000, 10_000), (150_000, 200_000)])
def test_deep_recursion_grows_the_stack(depth, limit):
    program = compile_source(
        "fn down(n) { if n == 0 { return 0; } return down(n - 1) + 1; }\n"
        f"print(down({depth}));", "r.toy")
    assert outcome(program, run_native, limit) == outcome(program, interpret, limit)


def test_cli_stats_refusal_and_pipes(tmp_path):
    (tmp_path / "p.toy").write_text(
        "fn f(x) { return x * 1.5; }\nfor i in 0..3 { print(i, f(float(i)), [i]); }\n"
        "print(1 / 0);\n")
    result = vmlab("run", "p.toy", "--interp", "native", "--stats-json", "s.json", cwd=tmp_path)
    assert result.stdout == b"0 0.0 [0]\n1 1.5 [1]\n2 3.0 [2]\n"
    assert result.stderr == b"error: division by zero\n  at <main> (p.toy:3)\n"
    report = json.loads((tmp_path / "s.json").read_text())
    assert report["tier"] == "native" and report["calls"]["f"] == 3
    refused = vmlab("run", "p.toy", "--interp", "native", "--jit", cwd=tmp_path)
    assert refused.returncode == 2 and b"--jit works with the Python interpreter only" \
        in refused.stderr


def test_fused_encoding_in_runs_that_count_nothing():
    source = ("fn f(n) {\n  let t = 0;\n  for i in 0..n {\n    t = t + i * 3;\n"
              "    if t % 7 == 0 { t = t - i; } else { t = t + 1; }\n  }\n"
              "  return t / (n - 10);\n}\nprint(f(9));\nprint(f(10));\n")
    program = compile_source(source, "f.toy")
    enc, f = Encoded(program), program.functions[0]
    changed = [pc for pc in range(len(f.instrs)) if (enc.fused[2 * pc:2 * pc + 2] !=
                                                      enc.code[2 * pc:2 * pc + 2]).any()]
    kinds = {}
    for pc in changed:
        (opcode, arg), after = f.instrs[pc], f.instrs[pc + 1][0]
        word, operand = int(enc.fused[2 * pc]), int(enc.fused[2 * pc + 1])
        if OPCODES[opcode].kind == "binary":  # operands on the stack, result to a local
            assert after == op.STORE_LOCAL and word == opcode + STORE_RESULT
            assert operand == f.instrs[pc + 1][1] << 48
            kinds[pc] = "store"
        elif word & LOCAL_LEFT:  # a local, then a fused operator on it
            assert opcode == op.LOAD_LOCAL and OPCODES[f.instrs[pc + 2][0]].kind == "binary"
            assert word == LOCAL_LEFT + int(enc.fused[2 * pc + 2])
            assert operand == int(enc.fused[2 * pc + 3]) + (arg << 32)
            kinds[pc] = "left"
        elif opcode in (op.LOAD_CONST, op.LOAD_LOCAL):  # operand fusion
            base = FUSED_CONST if opcode == op.LOAD_CONST else FUSED_LOCAL
            branch = op.EQ <= after <= op.GE and f.instrs[pc + 2][0] == op.JUMP_IF_FALSE
            store = f.instrs[pc + 2][0] == op.STORE_LOCAL
            assert OPCODES[after].kind == "binary" and operand & 0xFFFFFFFF == arg
            assert word == base + after + (THEN_BRANCH if branch else 0) + (
                STORE_RESULT if store else 0)
            assert operand >> 48 == (f.instrs[pc + 2][1] if store else 0)
            kinds[pc] = "fused branch" if branch else "fused store" if store else "fused"
        elif opcode == op.FOR_ITER:  # and the STORE_LOCAL of the counter
            assert after == op.STORE_LOCAL and word == FOR_STORE
            assert operand == arg + (f.instrs[pc + 1][1] << 32)
            kinds[pc] = "for"
        else:  # a JUMP back to a for loop's header runs its FOR_STORE too;
            # a JUMP to that JUMP goes to the header itself
            assert opcode == op.JUMP and word == JUMP_FOR
            header = f.instrs[arg][1] if f.instrs[arg][0] == op.JUMP else arg
            assert operand == header < pc and f.instrs[header][0] == op.FOR_ITER
            kinds[pc] = "threaded" if header != arg else "jump for"
    # `i * 3`, `t % 7`, `== 0` (and the JUMP_IF_FALSE after it), `t - i`,
    # `+ 1`, `n - 10`; not `t + ...`: its right operand is the product, no
    # load (it stores its result in `t`). All but `== 0` (after `%`) also load
    # their left operand; `t - i` and `+ 1` store their result in `t`.
    assert sorted(kinds.values()) == ["for", "fused", "fused", "fused", "fused branch",
                                      "fused store", "fused store", "jump for", "left", "left",
                                      "left", "left", "left", "store", "threaded"]
    # The division by zero in the fused `/ (n - 10)` is reported as the interpreter does.
    out, error = outcome(program, run_native)
    assert (out, error) == outcome(program, interpret)
    assert out.count("\n") == 1 and error.endswith("at f (f.toy:7)\n")


INDEXING = "let a = {array};\nlet i = {i};\nlet v = {v};\nprint(a[i]);\na[i] = v;\na[i] = 2;\nprint(a);\n"


@pytest.mark.parametrize("array, i, v", [
    ("[1, 2, 3]", "1", "7"),          # runs to the end
    ("[1, 2, 3]", "3", "7"),          # index out of bounds
    ("[1, 2, 3]", "-1", "7"),
    ("[1, 2, 3]", "1.0", "7"),        # an index of the wrong type
    ("7", "0", "7"),                  # not an array
    ("[1.5, 2.5]", "0", "1.0"),       # a constant of the wrong type (2)
    ("[1, 2]", "0", "true"),          # a local of the wrong type
])
def test_fused_indexing_behaves_as_the_interpreter(array, i, v):
    """a[i] and a[i] = v with their operands in locals (or the value a
    constant) run as one instruction each in runs that count nothing."""
    program = compile_source(INDEXING.format(array=array, i=i, v=v), "ix.toy")
    words = set(Encoded(program).fused[0::2].tolist())
    assert {INDEX_LL, STORE_INDEX_LLL, STORE_INDEX_LLK} <= words
    assert outcome(program, run_native) == outcome(program, interpret)
