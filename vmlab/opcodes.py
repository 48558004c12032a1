"""The opcode table: the single source of truth for the bytecode.

Every instruction is an (opcode, argument) pair; opcodes without an operand
carry argument 0. One row per opcode gives its name, operand kind, stack
effect, control flow, the operator or builtin it implements, and a one-line
doc. The compiler, the disassembler, the interpreter's coverage check and
`docs/opcodes.md` all read this table; nothing else defines an opcode.

The opcode numbers are also module attributes (`opcodes.ADD`, ...) as plain
ints, which is what the interpreter loop compares against.
"""

from __future__ import annotations


class Operand:
    """What an instruction's argument means."""

    NONE = "none"    # argument unused (always 0)
    CONST = "const"  # index into the code object's constants
    LOCAL = "local"  # local variable slot
    JUMP = "jump"    # absolute instruction index
    FUNC = "func"    # index into the program's functions
    COUNT = "count"  # number of stack values taken


class Flow:
    """How control leaves an instruction."""

    NEXT = "next"      # falls through to the next instruction
    JUMP = "jump"      # always jumps to its target
    BRANCH = "branch"  # jumps to its target or falls through
    RETURN = "return"  # leaves the function


# `pops` is a number, or ARG (the operand says how many: PRINT, ARRAY), or
# ARITY (the called function's parameter count: CALL).
ARG = "arg"
ARITY = "arity"


class OpInfo:
    """One row of the opcode table."""

    __slots__ = ("number", "name", "operand", "pops", "pushes", "flow", "kind",
                 "symbol", "doc", "taken")

    def __init__(self, number, name, operand, pops, pushes, flow, kind, symbol,
                 doc, taken=None):
        self.number = number      # the byte in the instruction stream
        self.name = name
        self.operand = operand    # an Operand kind
        self.pops = pops          # a count, ARG or ARITY
        self.pushes = pushes
        self.flow = flow          # a Flow kind
        self.kind = kind          # "binary", "unary", "builtin" or ""
        self.symbol = symbol      # the operator or builtin name it implements
        self.doc = doc
        self.taken = taken        # (pops, pushes) of a taken branch, if different

    def __repr__(self):
        return f"<opcode {self.number} {self.name}>"


N, K, L, J, F, C = (Operand.NONE, Operand.CONST, Operand.LOCAL, Operand.JUMP,
                    Operand.FUNC, Operand.COUNT)
NEXT, JUMP_, BRANCH, RETURN_ = Flow.NEXT, Flow.JUMP, Flow.BRANCH, Flow.RETURN

# `kind` says how source code reaches the opcode: "binary" and "unary" are
# operators spelled by `symbol`, "builtin" is the builtin function `symbol`.
#  name           operand pops  push flow     kind       symbol   doc
_ROWS = [
    ("LOAD_CONST",    K, 0,     1, NEXT,    "",        None,    "Push constants[arg]."),
    ("LOAD_LOCAL",    L, 0,     1, NEXT,    "",        None,    "Push the value of local variable arg."),
    ("STORE_LOCAL",   L, 1,     0, NEXT,    "",        None,    "Pop a value into local variable arg."),
    ("POP",           N, 1,     0, NEXT,    "",        None,    "Discard the top of the stack."),
    ("ADD",           N, 2,     1, NEXT,    "binary",  "+",     "Pop b, a; push a + b (ints wrap, floats are IEEE)."),
    ("SUB",           N, 2,     1, NEXT,    "binary",  "-",     "Pop b, a; push a - b."),
    ("MUL",           N, 2,     1, NEXT,    "binary",  "*",     "Pop b, a; push a * b."),
    ("DIV",           N, 2,     1, NEXT,    "binary",  "/",     "Pop b, a; push a / b (ints truncate toward zero)."),
    ("MOD",           N, 2,     1, NEXT,    "binary",  "%",     "Pop b, a; push a % b (sign of the dividend)."),
    ("SHL",           N, 2,     1, NEXT,    "binary",  "<<",    "Pop b, a; push a << (b & 63), wrapping."),
    ("SHR",           N, 2,     1, NEXT,    "binary",  ">>",    "Pop b, a; push a >> (b & 63), arithmetic."),
    ("BIT_AND",       N, 2,     1, NEXT,    "binary",  "&",     "Pop b, a; push a & b (ints)."),
    ("BIT_OR",        N, 2,     1, NEXT,    "binary",  "|",     "Pop b, a; push a | b (ints)."),
    ("BIT_XOR",       N, 2,     1, NEXT,    "binary",  "^",     "Pop b, a; push a ^ b (ints)."),
    ("EQ",            N, 2,     1, NEXT,    "binary",  "==",    "Pop b, a; push a == b (same types only)."),
    ("NE",            N, 2,     1, NEXT,    "binary",  "!=",    "Pop b, a; push a != b (same types only)."),
    ("LT",            N, 2,     1, NEXT,    "binary",  "<",     "Pop b, a; push a < b (two ints or two floats)."),
    ("LE",            N, 2,     1, NEXT,    "binary",  "<=",    "Pop b, a; push a <= b."),
    ("GT",            N, 2,     1, NEXT,    "binary",  ">",     "Pop b, a; push a > b."),
    ("GE",            N, 2,     1, NEXT,    "binary",  ">=",    "Pop b, a; push a >= b."),
    ("NEG",           N, 1,     1, NEXT,    "unary",   "-",     "Negate the top of the stack (ints wrap)."),
    ("BIT_NOT",       N, 1,     1, NEXT,    "unary",   "~",     "Replace the top int with its bitwise complement."),
    ("NOT",           N, 1,     1, NEXT,    "unary",   "not",   "Replace the top bool with its negation."),
    ("JUMP",          J, 0,     0, JUMP_,   "",        None,    "Continue at instruction arg."),
    ("JUMP_IF_FALSE", J, 1,     0, BRANCH,  "",        None,    "Pop a bool; continue at arg if it is false."),
    ("JUMP_IF_TRUE",  J, 1,     0, BRANCH,  "",        None,    "Pop a bool; continue at arg if it is true."),
    ("FOR_PREP",      N, 2,     2, NEXT,    "",        None,    "Check that the range bounds lo, hi on the stack are ints."),
    ("FOR_ITER",      J, 2,     3, BRANCH,  "",        None,    "With i, hi on the stack: if i < hi, bump the counter and "
                                                                "push i, else pop both and continue at arg."),
    ("CALL",          F, ARITY, 1, NEXT,    "",        None,    "Pop the arguments, call function arg, push its result."),
    ("RETURN",        N, 1,     0, RETURN_, "",        None,    "Return the top of the stack to the caller."),
    ("PRINT",         C, ARG,   0, NEXT,    "builtin", "print", "Pop arg values; print them separated by spaces."),
    ("ARRAY",         C, ARG,   1, NEXT,    "",        None,    "Pop arg values of one type; push a new array of them."),
    ("ARRAY_FILL",    N, 2,     1, NEXT,    "builtin", "array", "Pop v, n; push a new array of n copies of v."),
    ("INDEX",         N, 2,     1, NEXT,    "",        None,    "Pop i, a; push a[i] (bounds checked)."),
    ("STORE_INDEX",   N, 3,     0, NEXT,    "",        None,    "Pop v, i, a; store a[i] = v (bounds and type checked)."),
    ("LEN",           N, 1,     1, NEXT,    "builtin", "len",   "Replace the top array with its length."),
    ("TO_FLOAT",      N, 1,     1, NEXT,    "builtin", "float", "Convert the top int to a float."),
    ("TO_INT",        N, 1,     1, NEXT,    "builtin", "int",   "Truncate the top float to an int (NaN -> 0, saturating)."),
    ("SQRT",          N, 1,     1, NEXT,    "builtin", "sqrt",  "Replace the top float with its square root."),
    ("ABS",           N, 1,     1, NEXT,    "builtin", "abs",   "Replace the top int or float with its absolute value."),
    ("MIN",           N, 2,     1, NEXT,    "builtin", "min",   "Pop b, a (two ints or two floats); push the smaller (nan if either is)."),
    ("MAX",           N, 2,     1, NEXT,    "builtin", "max",   "Pop b, a (two ints or two floats); push the larger (nan if either is)."),
]

# Stack effect of a taken branch where it differs from falling through.
_TAKEN = {"FOR_ITER": (2, 0)}

OPCODES: tuple[OpInfo, ...] = tuple(
    OpInfo(number, name, operand, pops, pushes, flow, kind, symbol, doc, _TAKEN.get(name))
    for number, (name, operand, pops, pushes, flow, kind, symbol, doc) in enumerate(_ROWS)
)
BY_NAME: dict[str, OpInfo] = {info.name: info for info in OPCODES}
BINARY_OPS: dict[str, int] = {i.symbol: i.number for i in OPCODES if i.kind == "binary"}
UNARY_OPS: dict[str, int] = {i.symbol: i.number for i in OPCODES if i.kind == "unary"}
BUILTINS: dict[str, OpInfo] = {i.symbol: i for i in OPCODES if i.kind == "builtin"}

# Opcode numbers as plain module attributes: `opcodes.ADD == 4`.
globals().update({info.name: info.number for info in OPCODES})

# ORDER (as Lua's lopcodes.h marks its ORDER OP): the binary operators, then
# the comparisons, are consecutive numbers, in this order. Encoders rely on
# it (vmlab/native/encode.py numbers a constant form and a branch per
# operator from ADD and from EQ; jit and the native host test ranges): put a
# new opcode outside the run, or change them with it.
ORDER_BINARY = ("ADD", "SUB", "MUL", "DIV", "MOD", "SHL", "SHR", "BIT_AND", "BIT_OR", "BIT_XOR",
                "EQ", "NE", "LT", "LE", "GT", "GE")
assert [BY_NAME[n].number for n in ORDER_BINARY] == \
    list(range(BY_NAME["ADD"].number, BY_NAME["ADD"].number + len(ORDER_BINARY))), "ORDER"


def stack_effect(opcode: int, arg: int, arities=(), taken: bool = False) -> tuple[int, int]:
    """(pops, pushes) of one instruction, as CPython's `dis.stack_effect`:
    `arities[f]` is function f's parameter count (what CALL f pops);
    `taken`, the effect of a branch that jumps."""
    info = OPCODES[opcode]
    if taken and info.taken is not None:
        return info.taken
    pops = arg if info.pops == ARG else arities[arg] if info.pops == ARITY else info.pops
    return pops, info.pushes
