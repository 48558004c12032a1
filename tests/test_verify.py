"""The bytecode verifier: one test per rule, with a hand-built bad code object
and the exact reason; and every program the compiler emits passes."""

import time
from pathlib import Path

import pytest

from lang import compile_source, decode_source
from vmlab import verify as verify_module
from vmlab.code import Code, Program
from vmlab.errors import CompileError
from vmlab.opcodes import BY_NAME
from vmlab.verify import MAX_LOCALS, MAX_STACK, BytecodeError, verify

ROOT = Path(__file__).resolve().parent.parent
SOURCES = (sorted((ROOT / "examples").glob("*.toy"))
           + sorted((ROOT / "tests" / "conformance").rglob("*.toy")))


def code(name, instrs, consts=(), nlocals=0, arity=0):
    """A code object from (OPNAME, arg) pairs, or OPNAME alone for arg 0."""
    c = Code(name, arity, 1)
    for ins in instrs:
        opname, arg = (ins, 0) if isinstance(ins, str) else ins
        c.instrs.append((BY_NAME[opname].number if isinstance(opname, str) else opname, arg))
        c.lines.append(1)
    c.consts = list(consts)
    c.local_names = [f"v{i}" for i in range(nlocals)]
    return c


def main(instrs, consts=(None,), nlocals=0, functions=()):
    return Program(list(functions), code("<main>", instrs, consts, nlocals), "t.toy")


END = [("LOAD_CONST", 0), "RETURN"]   # consts[0] is nil


def rejects(program, reason):
    with pytest.raises(BytecodeError) as info:
        verify(program)
    assert str(info.value) == reason


# --- what the compiler emits ------------------------------------------------

def test_every_compiled_program_verifies():
    verified = 0
    for path in SOURCES:
        try:
            program = compile_source(decode_source(path.read_bytes()), path.name)
        except CompileError:
            continue
        verify(program)
        verified += 1
    assert verified > 200


def test_accepts_a_hand_built_loop_with_strings_and_calls():
    # fn f(a, b) { return a + b; }   for i in 0..3 { print("i", f(i, 1)); }
    f = code("f", [("LOAD_LOCAL", 0), ("LOAD_LOCAL", 1), "ADD", "RETURN"], nlocals=2, arity=2)
    verify(main([("LOAD_CONST", 1), ("LOAD_CONST", 2), "FOR_PREP",
                 ("FOR_ITER", 11), ("STORE_LOCAL", 0),
                 ("LOAD_CONST", 3), ("LOAD_LOCAL", 0), ("LOAD_CONST", 4), ("CALL", 0),
                 ("PRINT", 2), ("JUMP", 3), *END],
                consts=(None, 0, 3, "i", 1), nlocals=1, functions=[f]))


def test_unreachable_code_is_not_stack_checked():
    verify(main([*END, "ADD", "ADD"]))


# --- each instruction on its own ----------------------------------------------

def test_unknown_opcode():
    rejects(main([(200, 0), *END]), "function <main>, offset 0: unknown opcode 200")
    rejects(main([(-1, 0), *END]), "function <main>, offset 0: unknown opcode -1")


def test_none_operand_must_be_zero():
    rejects(main([("LOAD_CONST", 0), ("POP", 5), *END]),
            "function <main>, offset 1: POP takes no operand, got 5")


def test_constant_index_in_range():
    rejects(main([("LOAD_CONST", 9), *END], consts=(None, 1)),
            "function <main>, offset 0: constant index 9 out of range (2 constants)")
    rejects(main([("LOAD_CONST", -1), *END]),
            "function <main>, offset 0: constant index -1 out of range (1 constants)")


def test_local_index_in_range():
    rejects(main([("LOAD_LOCAL", 2), *END], nlocals=2),
            "function <main>, offset 0: local index 2 out of range (2 locals)")


def test_only_jump_goes_backward():
    # A loop closed by a conditional jump would have no backward JUMP, where
    # compiled code and the native loop check for Ctrl-C and --timeout.
    rejects(main([("LOAD_CONST", 1), ("JUMP_IF_TRUE", 0), *END], consts=(None, True)),
            "function <main>, offset 1: JUMP_IF_TRUE jumps backward, to 0; only JUMP may")
    rejects(main([("LOAD_CONST", 1), ("JUMP_IF_FALSE", 1), *END], consts=(None, True)),
            "function <main>, offset 1: JUMP_IF_FALSE jumps backward, to 1; only JUMP may")
    rejects(main([("LOAD_CONST", 1), ("LOAD_CONST", 1), "FOR_PREP", ("FOR_ITER", 1), *END],
                 consts=(None, 0)),
            "function <main>, offset 3: FOR_ITER jumps backward, to 1; only JUMP may")


def test_jump_target_in_range():
    rejects(main([("JUMP", 3), *END]),
            "function <main>, offset 0: jump target 3 out of range (3 instructions)")


def test_function_index_in_range():
    rejects(main([("CALL", 0), *END]),
            "function <main>, offset 0: function index 0 out of range (0 functions)")


def test_counts():
    rejects(main([("ARRAY", 0), *END]),
            "function <main>, offset 0: ARRAY count 0 out of range (1 to 1000000)")
    rejects(main([("PRINT", MAX_STACK + 1), *END]),
            "function <main>, offset 0: PRINT count 1000001 out of range (0 to 1000000)")
    verify(main([("PRINT", 0), *END]))


# --- code objects and the program -------------------------------------------------

def test_code_is_not_empty():
    rejects(main([]), "function <main>: the code is empty")


def test_one_line_per_instruction():
    program = main(END)
    program.main.lines.pop()
    rejects(program, "function <main>: 1 line numbers for 2 instructions")
    program.main.lines = [1, 0]
    rejects(program, "function <main>, offset 1: line number 0 out of range")


def test_arity_at_most_locals():
    f = code("f", END, consts=[None], nlocals=1, arity=2)
    rejects(main(END, functions=[f]), "function f: arity 2 exceeds the number of locals (1)")


def test_arity_is_a_count():
    f = code("f", END, consts=[None], arity=-1)
    rejects(main(END, functions=[f]), "function f: arity -1 is not a count")


def test_main_arity_is_zero():
    program = main(END, nlocals=1)
    program.main.arity = 1
    rejects(program, "function <main>: the main code has arity 1, not 0")


def test_main_is_named_main():
    program = main(END)
    program.main.name = "main"
    rejects(program, "the main code is named main, not <main>")


def test_locals_limit():
    rejects(main(END, nlocals=MAX_LOCALS + 1),
            "function <main>: 65536 locals exceed the limit of 65535")


def test_item_limits(monkeypatch):
    monkeypatch.setattr(verify_module, "MAX_ITEMS", 2)
    rejects(main(END, consts=(None, 1, 2)), "function <main>: 3 constants exceed the limit of 2")
    rejects(main([*END, "POP"]), "function <main>: 3 instructions exceed the limit of 2")
    f = code("f", END, consts=[None])
    rejects(main(END, functions=[f, f, f]), "3 functions exceed the limit of 2")


def test_constants():
    rejects(main(END, consts=(None, 1 << 63)),
            "function <main>: constant 1: int 9223372036854775808 outside the 64-bit range")
    rejects(main(END, consts=(None, [1])), "function <main>: constant 1: unsupported type list")
    rejects(main(END, consts=(None, "\udc80")),
            "function <main>: constant 1 is not valid Unicode (it has a lone surrogate)")


def test_fields_have_the_right_types():
    program = main(END)
    program.main.instrs = [(0, 0), [29, 0]]
    rejects(program, "function <main>, offset 1: not an (opcode, argument) pair of ints")
    program.main.instrs = None
    rejects(program, "function <main>: instrs is not a list")
    rejects(Program([], "main", "t.toy"), "not a code object: str")
    rejects("program", "not a Program: str")
    rejects(Program([], main(END).main, None), "the source name is not a string")


# --- every path -------------------------------------------------------------------

def test_stack_underflow():
    rejects(main([("LOAD_CONST", 0), "ADD", *END]),
            "function <main>, offset 1: stack underflow (ADD takes 2, the stack holds 1)")
    rejects(main(["RETURN"]),
            "function <main>, offset 0: stack underflow (RETURN takes 1, the stack holds 0)")
    rejects(main([("LOAD_CONST", 0), ("PRINT", 2), *END]),
            "function <main>, offset 1: stack underflow (PRINT takes 2, the stack holds 1)")


def test_call_pops_the_callee_arity():
    f = code("f", [("LOAD_LOCAL", 0), "RETURN"], nlocals=2, arity=2)
    rejects(main([("LOAD_CONST", 1), ("CALL", 0), *END], consts=(None, 7), functions=[f]),
            "function <main>, offset 1: stack underflow (CALL takes 2, the stack holds 1)")


def test_one_depth_on_every_path():
    # 0 LOAD_CONST true; 1 JUMP_IF_FALSE 3; 2 LOAD_CONST 1; 3 LOAD_CONST nil; 4 RETURN
    rejects(main([("LOAD_CONST", 1), ("JUMP_IF_FALSE", 3), ("LOAD_CONST", 2), *END],
                 consts=(None, True, 1)),
            "function <main>, offset 3: stack depth 1 coming from offset 2 but 0 on another path")


def test_one_kind_on_every_path():
    # a string on one path, a value on the other, then printed
    rejects(main([("LOAD_CONST", 1), ("JUMP_IF_FALSE", 4), ("LOAD_CONST", 2), ("JUMP", 5),
                  ("LOAD_CONST", 3), ("PRINT", 1), *END], consts=(None, True, "s", 1)),
            "function <main>, offset 5: stack entry 1 of 1 is a value coming from offset 4 "
            "but a string constant on another path")


def test_falls_off_the_end():
    rejects(main([("LOAD_CONST", 0)]), "function <main>, offset 0: falls off the end of the code")
    rejects(main([("LOAD_CONST", 1), ("JUMP_IF_FALSE", 2), ("LOAD_CONST", 0)],
                 consts=(None, True)),
            "function <main>, offset 2: falls off the end of the code")


def test_stack_limit(monkeypatch):
    monkeypatch.setattr(verify_module, "MAX_STACK", 2)
    rejects(main([("LOAD_CONST", 0)] * 3 + END),
            "function <main>, offset 2: stack depth exceeds the limit of 2")


def test_deep_stack_with_many_joins_is_fast():
    """A deep stack reached by many paths, each popping all of it: linear time
    (abstract stacks are shared, popping k entries takes O(log k))."""
    depth = joins = 50_000
    instrs = [("LOAD_CONST", 1)] * depth
    for _ in range(joins):
        start = len(instrs)
        instrs += [("LOAD_CONST", 2), ("JUMP_IF_TRUE", start + 5), ("PRINT", depth), *END]
    instrs += END
    program = main(instrs, consts=(None, 1, True))
    started = time.perf_counter()
    verify(program)
    assert time.perf_counter() - started < 10


# --- what each stack entry may be ------------------------------------------------

STR = (None, "s", 1)   # consts: nil, a string, an int


def test_strings_may_only_be_printed_or_popped():
    verify(main([("LOAD_CONST", 1), ("PRINT", 1), ("LOAD_CONST", 1), "POP", *END], consts=STR))
    why = " (string constants may only be printed or popped)"
    rejects(main([("LOAD_CONST", 1), ("STORE_LOCAL", 0), *END], consts=STR, nlocals=1),
            "function <main>, offset 1: STORE_LOCAL cannot take a string constant" + why)
    rejects(main([("LOAD_CONST", 1), ("LOAD_CONST", 2), "ADD", *END], consts=STR),
            "function <main>, offset 2: ADD cannot take a string constant" + why)
    rejects(main([("LOAD_CONST", 1), ("JUMP_IF_FALSE", 2), *END], consts=STR),
            "function <main>, offset 1: JUMP_IF_FALSE cannot take a string constant" + why)
    rejects(main([("LOAD_CONST", 1), "RETURN"], consts=STR),
            "function <main>, offset 1: RETURN cannot take a string constant" + why)
    rejects(main([("LOAD_CONST", 1), ("ARRAY", 1), *END], consts=STR),
            "function <main>, offset 1: ARRAY cannot take a string constant" + why)
    f = code("f", [("LOAD_LOCAL", 0), "RETURN"], nlocals=1, arity=1)
    rejects(main([("LOAD_CONST", 1), ("CALL", 0), *END], consts=STR, functions=[f]),
            "function <main>, offset 1: CALL cannot take a string constant" + why)


def test_a_string_below_the_operands_is_fine():
    # print("s", 1 + 1)
    verify(main([("LOAD_CONST", 1), ("LOAD_CONST", 2), ("LOAD_CONST", 2), "ADD",
                 ("PRINT", 2), *END], consts=STR))


def test_for_iter_needs_the_pair_from_for_prep():
    rejects(main([("LOAD_CONST", 2), ("LOAD_CONST", 2), ("FOR_ITER", 5), ("STORE_LOCAL", 0),
                  ("JUMP", 2), *END], consts=STR, nlocals=1),
            "function <main>, offset 2: FOR_ITER needs the loop counter and limit that "
            "FOR_PREP left, found a value and a value")
    # The limit replaced by another value.
    rejects(main([("LOAD_CONST", 2), ("LOAD_CONST", 2), "FOR_PREP", "POP", ("LOAD_CONST", 2),
                  ("FOR_ITER", 8), ("STORE_LOCAL", 0), ("JUMP", 5), *END], consts=STR, nlocals=1),
            "function <main>, offset 5: FOR_ITER needs the loop counter and limit that "
            "FOR_PREP left, found a loop counter and a value")


def test_for_iter_taken_branch_pops_the_pair():
    # After the loop the pair is gone: RETURN of the last value would underflow.
    rejects(main([("LOAD_CONST", 2), ("LOAD_CONST", 2), "FOR_PREP", ("FOR_ITER", 6),
                  ("STORE_LOCAL", 0), ("JUMP", 3), "RETURN"], consts=STR, nlocals=1),
            "function <main>, offset 6: stack underflow (RETURN takes 1, the stack holds 0)")


def test_loop_counter_and_limit_are_only_for_for_iter():
    why = " (the loop counter and limit are for FOR_ITER, or to be popped)"
    prep = [("LOAD_CONST", 2), ("LOAD_CONST", 2), "FOR_PREP"]
    rejects(main([*prep, "ADD", *END], consts=STR),
            "function <main>, offset 3: ADD cannot take a loop limit" + why)
    rejects(main([*prep, "POP", ("STORE_LOCAL", 0), *END], consts=STR, nlocals=1),
            "function <main>, offset 4: STORE_LOCAL cannot take a loop counter" + why)
    rejects(main([*prep, ("PRINT", 2), *END], consts=STR),
            "function <main>, offset 3: PRINT cannot take a loop limit" + why)
    rejects(main([*prep, "FOR_PREP", *END], consts=STR),
            "function <main>, offset 3: FOR_PREP cannot take a loop limit" + why)
    verify(main([*prep, "POP", "POP", *END], consts=STR))   # `break` pops them
