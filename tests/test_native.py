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
from vmlab.native.encode import SWAPPED, Encoded, decode
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


def test_register_code_in_runs_that_count_nothing():
    """Runs that count nothing run register code (vmlab/native/encode.py):
    the loads and stores around an operator fold into it, a comparison and
    its conditional jump are one instruction, a for loop's back-edge runs its
    FOR_ITER, and constant left operands of commutative operators are
    swapped into place."""
    source = ("fn f(n) {\n  let t = 0;\n  for i in 0..n {\n    t = t + i * 3;\n"
              "    if 7 > t % 7 { t = t - i; } else { t = t + 1; }\n  }\n"
              "  return t / (n - 10);\n}\nprint(f(9));\nprint(f(10));\n")
    program = compile_source(source, "f.toy")
    enc = Encoded(program)
    end = int(enc.fused_start[1])
    # n, t, i are slots 0-2; the loop's counter and limit 3-4, then the
    # stack; constants are numbered program-wide: 0, 3, 7, 1, 10 are k0-k4.
    assert [row[:5] for row in decode(enc.fused[:2 * end])] == [
        ("LOADK", 1, 0, 0, 0),              # t = 0
        ("LOADK", 3, 0, 0, 0),              # the counter: 0
        ("MOVE", 4, 0, 0, 0),               # the limit: n
        ("FOR_PREP", 0, 3, 4, 0),
        ("FOR_ITER", 2, 3, 0, 13),          # i = the counter, or leave for 13
        ("MUL_K", 6, 2, 1, 0),              # i * 3
        ("ADD", 1, 1, 6, 0),                # t = t + that
        ("MOD_K", 6, 1, 2, 0),              # t % 7
        ("BRANCH_LT_K", 5, 6, 2, 11),       # 7 > that, as that < 7: else at 11
        ("SUB", 1, 1, 2, 0),                # t = t - i
        ("JUMP_FOR", 2, 3, 5, 13),          # next i, body at 5, or leave
        ("ADD_K", 1, 1, 3, 0),              # t = t + 1
        ("JUMP_FOR", 2, 3, 5, 13),
        ("SUB_K", 4, 0, 4, 0),              # n - 10
        ("DIV", 3, 1, 4, 0),                # t / that
        ("RETURN", 0, 3, 0, 0)]
    # Each reports its errors as the bytecode instruction it came from.
    ops = [OPCODES[program.functions[0].instrs[pc][0]].name for pc in enc.fused_origin[:end]]
    assert ops[5:9] == ["MUL", "ADD", "MOD", "GT"] and ops[-2] == "DIV"
    # The division by zero in `t / (n - 10)` is reported as the interpreter does.
    out, error = outcome(program, run_native)
    assert (out, error) == outcome(program, interpret)
    assert out.count("\n") == 1 and error.endswith("at f (f.toy:7)\n")


@pytest.mark.parametrize("source", [
    "let x = 2;\nprint(1.5 * x);\n",             # swapped: the message keeps the order
    "let x = 2;\nprint(1.5 < x);\n",
    "let x = true;\nwhile 3 >= x { }\n",
    "let x = 2;\nlet y = 1.0;\nprint(x - y);\n",  # not swapped
])
def test_swapped_operands_report_errors_in_source_order(source):
    program = compile_source(source, "s.toy")
    assert any(row[5] & SWAPPED for row in decode(Encoded(program).fused)) == ("1.5" in source
                                                                               or "3" in source)
    assert outcome(program, run_native) == outcome(program, interpret)


@pytest.mark.parametrize("source, names", [
    ("let x = 3;\nlet f = 2.25;\nprint(-x, ~x, float(x), int(f), sqrt(f), abs(-x), -f, abs(f));\n",
     {"NEG", "BIT_NOT", "TO_FLOAT", "TO_INT", "SQRT", "ABS"}),
    ("let x = 4;\nprint(float(x));\nprint(sqrt(x));\n", {"TO_FLOAT", "SQRT"}),  # sqrt(int)
    ("let a = [1.5];\nprint(~a);\n", {"BIT_NOT"}),
    ("let b = true;\nprint(-b);\n", {"NEG"}),
])
def test_unary_operators_behave_as_the_interpreter(source, names):
    """`-` has a loop opcode of its own; ~, float, int, sqrt and abs share
    RARE, which carries the bytecode opcode (encode.LOOP)."""
    program = compile_source(source, "u.toy")
    assert {row[0] for row in decode(Encoded(program).fused)} >= names
    assert outcome(program, run_native) == outcome(program, interpret)


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
    constant) run as one instruction each, reading the locals, in runs that
    count nothing."""
    program = compile_source(INDEXING.format(array=array, i=i, v=v), "ix.toy")
    rows = [row for row in decode(Encoded(program).fused) if "INDEX" in row[0]]
    assert [row[:4] for row in rows[:2]] == [("INDEX", rows[0][1], 0, 1),  # from a, i
                                             ("STORE_INDEX", 0, 1, 2)]     # a, i, v
    assert rows[2][:3] == ("STORE_INDEX_K", 0, 1)
    assert outcome(program, run_native) == outcome(program, interpret)
