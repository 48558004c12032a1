"""The compiler's bytecode shapes and the opcode table that drives it."""

import pytest

from lang import compile_source
from vmlab import interp
from vmlab import opcodes as op
from vmlab.errors import CompileError
from vmlab.opcodes import OPCODES, Operand


def names(code):
    return [OPCODES[o].name for o, _ in code.instrs]


def test_the_interpreter_implements_every_opcode_of_the_table():
    assert interp.HANDLED == {info.number for info in OPCODES}


def test_opcode_table_is_consistent():
    assert [info.number for info in OPCODES] == list(range(len(OPCODES)))
    assert len({info.name for info in OPCODES}) == len(OPCODES)
    for info in OPCODES:
        assert info.doc.endswith(".") and info.name.isupper()
        if info.kind == "binary":
            assert (info.pops, info.pushes, info.operand) == (2, 1, Operand.NONE)
    assert op.BINARY_OPS["+"] == op.ADD and op.UNARY_OPS["not"] == op.NOT
    assert set(op.BUILTINS) == {"print", "len", "array", "float", "int", "sqrt", "abs",
                                "min", "max"}


def test_every_operator_and_builtin_has_its_semantics_in_values():
    """vmlab.values is the one reference: each opcode that computes on
    values has its function there, with the table's operand count."""
    from vmlab import values as v
    computing = {i.number for i in OPCODES if i.kind in ("binary", "unary", "builtin")
                 and i.pushes == 1}
    assert computing <= v.OPERATIONS.keys()
    for opcode in computing:
        assert v.operand_count(opcode) == OPCODES[opcode].pops


def test_while_loop_shape():
    code = compile_source("let i = 0; while i < 3 { i = i + 1; }").main
    assert names(code) == [
        "LOAD_CONST", "STORE_LOCAL",
        "LOAD_LOCAL", "LOAD_CONST", "LT", "JUMP_IF_FALSE",
        "LOAD_LOCAL", "LOAD_CONST", "ADD", "STORE_LOCAL", "JUMP",
        "LOAD_CONST", "RETURN"]
    assert code.instrs[5] == (op.JUMP_IF_FALSE, 11) and code.instrs[10] == (op.JUMP, 2)


def test_for_loop_keeps_its_counter_on_the_stack_and_break_pops_it():
    code = compile_source("for i in 0..3 { if i == 1 { break; } }").main
    assert names(code) == [
        "LOAD_CONST", "LOAD_CONST", "FOR_PREP", "FOR_ITER", "STORE_LOCAL",
        "LOAD_LOCAL", "LOAD_CONST", "EQ", "JUMP_IF_FALSE", "POP", "POP", "JUMP",
        "JUMP", "LOAD_CONST", "RETURN"]
    assert code.instrs[3] == (op.FOR_ITER, 13) and code.instrs[11] == (op.JUMP, 13)


def test_and_or_in_conditions_compile_to_jumps():
    code = compile_source("let a = true; let b = false; if a and b or not a { }").main
    assert "NOT" in names(code) and names(code).count("JUMP_IF_FALSE") == 3
    value = compile_source("let a = true; let b = a and a;").main
    assert names(value)[2:] == ["LOAD_LOCAL", "JUMP_IF_FALSE", "LOAD_LOCAL",
                                "JUMP_IF_FALSE", "LOAD_CONST", "JUMP", "LOAD_CONST",
                                "STORE_LOCAL", "LOAD_CONST", "RETURN"]


def test_constants_are_shared_but_not_across_types():
    code = compile_source("print(0, 0.0, false, 0, nil, 0.0);").main
    assert code.consts == [0, 0.0, False, None]
    assert [type(c) for c in code.consts] == [int, float, bool, type(None)]
    assert [a for o, a in code.instrs if o == op.LOAD_CONST][:6] == [0, 1, 2, 0, 3, 1]


def test_functions_locals_and_calls():
    program = compile_source(
        "fn f(a, b) { let c = a; if true { let c = b; } return c; }\n"
        "fn g() { }\n"
        "print(f(1, 2), g());")
    f, g = program.functions
    assert (f.name, f.arity, f.local_names, f.line) == ("f", 2, ["a", "b", "c", "c"], 1)
    assert names(g) == ["LOAD_CONST", "RETURN"] and g.consts == [None]
    assert (op.CALL, 0) in program.main.instrs and (op.CALL, 1) in program.main.instrs
    assert (op.PRINT, 2) in program.main.instrs


def test_every_instruction_has_a_line():
    program = compile_source("fn f(x) {\n  return x\n    + 1;\n}\nprint(f(\n2));")
    for code in (program.main, *program.functions):
        assert len(code.lines) == len(code.instrs)
    assert program.functions[0].lines[-2:] == [3, 2]  # ADD on the '+' line


@pytest.mark.parametrize("source, message", [
    ("let x = 1; let x = 2;", "'x' is already declared in this block"),
    ("fn f(a) { let a = 1; }", "'a' is already declared in this block"),
    ("fn f(a, a) { }", "duplicate parameter 'a'"),
    ("x = 1;", "undefined variable 'x'"),
    ("fn f() { } let y = f;", "'f' is a function; functions can only be called"),
    ("let x = 1; fn f() { return x; }",
     "undefined variable 'x' (functions cannot see top-level variables: pass it as an argument)"),
    ("g();", "undefined function 'g'"),
    ("fn f(a) { } f();", "f() takes 1 argument but 0 were given"),
    ("len(1, 2);", "len() takes 1 argument but 2 were given"),
    ("fn f() { } fn f() { }", "function 'f' is already defined at line 1"),
    ("fn len(a) { }", "'len' is a builtin function and cannot be redefined"),
    ("let x = print(1);", "print(...) is a statement and has no value"),
    ("break;", "'break' outside a loop"),
    ("fn f() { continue; }", "'continue' outside a loop"),
    ("return 1;", "'return' outside a function"),
    ('let s = "a";', "string literals are only allowed as arguments of print"),
    ('print(len("a"));', "string literals are only allowed as arguments of print"),
])
def test_check_errors(source, message):
    with pytest.raises(CompileError) as info:
        compile_source(source)
    assert info.value.message == message


def test_the_first_error_in_source_order_is_reported():
    with pytest.raises(CompileError) as info:
        compile_source("fn f() { return y; }\nlet z = w;\nbreak;")
    assert (info.value.line, info.value.col, info.value.message) == \
        (1, 17, "undefined variable 'y'")
    with pytest.raises(CompileError) as info:
        compile_source("let a = q;\nfn f() { return y; }")
    assert info.value.line == 1


def test_shadowing_and_for_variable_scopes():
    program = compile_source("let x = 1; if true { let x = 2; } for x in 0..2 { let x = 5; }")
    assert program.main.local_names == ["x", "x", "x", "x"]


def test_opcode_reference_is_current():
    from vmlab import opcode_docs
    assert opcode_docs.main(["--check"]) == 0
