"""Runtime values and the semantics of every operation on them.

Toy values are plain Python objects: int (kept in the 64-bit range), float,
bool, None for nil, and ToyArray. Each function below implements one opcode's
rule from the SPEC, including its type checks and error messages, so that the
interpreter loop stays a readable dispatch and other tiers have one reference.
"""

from __future__ import annotations

import math
from array import array

from vmlab import opcodes as op

INT_MIN = -(1 << 63)
INT_MAX = (1 << 63) - 1
MAX_ARRAY_LENGTH = 100_000_000  # see docs/language.md: "Limits"

_TWO_63 = float(1 << 63)
_NAN = math.nan
_INF = math.inf


class ToyError(Exception):
    """A runtime error raised by an operation; the tier adds the traceback."""


class ToyArray:
    """A fixed-length array whose elements share one type (int, float or bool).

    The elements are machine values in an `array.array` (int64, binary64, one
    byte per bool), so native tiers read and write the very same memory: an
    array passes between the interpreter and compiled code without a copy.
    `header` is the native view of it, made by the JIT when it first needs one.
    """

    __slots__ = ("items", "elem", "header")

    def __init__(self, items: array, elem: type):
        self.items = items
        self.elem = elem
        self.header = None

    def values(self):
        """The elements as toy values (bools are stored as bytes)."""
        return (x != 0 for x in self.items) if self.elem is bool else iter(self.items)


# The array.array type code that stores each element type.
TYPECODES = {int: "q", float: "d", bool: "b"}


_TYPE_NAMES = {int: "int", float: "float", bool: "bool", type(None): "nil",
               ToyArray: "array"}


def type_name(value) -> str:
    """The toy name of a value's type: int, float, bool, nil or array."""
    return _TYPE_NAMES[type(value)]


def format_value(value) -> str:
    """The text `print` writes for a value (floats as Python's repr)."""
    kind = type(value)
    if kind is int or kind is str:
        return str(value)
    if kind is float:
        return repr(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "nil"
    return "[" + ", ".join(map(format_value, value.values())) + "]"


def wrap(n: int) -> int:
    """Reduce an integer to the signed 64-bit range, two's complement."""
    return ((n + (1 << 63)) & 0xFFFF_FFFF_FFFF_FFFF) - (1 << 63)


def type_error(symbol: str, *operands) -> ToyError:
    names = " and ".join(type_name(x) for x in operands)
    return ToyError(f"type error: cannot apply '{symbol}' to {names}")


def condition_error(value) -> ToyError:
    return ToyError(f"type error: condition must be bool, not {type_name(value)}")


# Errors that depend on values, not types: native code raises them too, with
# the operands it has at hand, and gets its message from here.
def division_by_zero() -> ToyError:
    return ToyError("division by zero")


def index_error(i: int, length: int) -> ToyError:
    return ToyError(f"index {i} out of bounds for length {length}")


def negative_length(n: int) -> ToyError:
    return ToyError(f"negative array length {n}")


def too_long(n: int) -> ToyError:
    return ToyError(f"array length {n} exceeds the limit of {MAX_ARRAY_LENGTH}")


def stack_overflow() -> ToyError:
    return ToyError("stack overflow")


def check_range(lo, hi) -> None:
    """The bounds of `for i in lo..hi` must be ints (FOR_PREP)."""
    if type(lo) is not int or type(hi) is not int:
        bad = lo if type(lo) is not int else hi
        raise ToyError(f"type error: range bounds must be int, not {type_name(bad)}")


# --- arithmetic -------------------------------------------------------------

def add(a, b):
    kind = type(a)
    if kind is type(b):
        if kind is int:
            r = a + b
            return r if INT_MIN <= r <= INT_MAX else wrap(r)
        if kind is float:
            return a + b
    raise type_error("+", a, b)


def sub(a, b):
    kind = type(a)
    if kind is type(b):
        if kind is int:
            r = a - b
            return r if INT_MIN <= r <= INT_MAX else wrap(r)
        if kind is float:
            return a - b
    raise type_error("-", a, b)


def mul(a, b):
    kind = type(a)
    if kind is type(b):
        if kind is int:
            r = a * b
            return r if INT_MIN <= r <= INT_MAX else wrap(r)
        if kind is float:
            return a * b
    raise type_error("*", a, b)


def div(a, b):
    kind = type(a)
    if kind is type(b):
        if kind is int:
            if b == 0:
                raise division_by_zero()
            q = abs(a) // abs(b)  # truncate toward zero
            return wrap(-q if (a < 0) != (b < 0) else q)  # MIN / -1 wraps to MIN
        if kind is float:
            if b == 0.0:  # IEEE: x/0 is a signed infinity, 0/0 and nan/0 are nan
                if a == 0.0 or a != a:
                    return _NAN
                return math.copysign(_INF, a) * math.copysign(1.0, b)
            return a / b
    raise type_error("/", a, b)


def mod(a, b):
    kind = type(a)
    if kind is type(b):
        if kind is int:
            if b == 0:
                raise division_by_zero()
            r = abs(a) % abs(b)  # the sign of the dividend
            return -r if a < 0 else r
        if kind is float:  # C's fmod, which math.fmod refuses for x=inf or y=0
            if b == 0.0 or a in (_INF, -_INF):
                return _NAN
            return math.fmod(a, b)
    raise type_error("%", a, b)


def _int_operands(symbol, a, b):
    if type(a) is not int or type(b) is not int:
        raise type_error(symbol, a, b)


def shl(a, b):
    _int_operands("<<", a, b)
    return wrap(a << (b & 63))


def shr(a, b):
    _int_operands(">>", a, b)
    return a >> (b & 63)


def bit_and(a, b):
    _int_operands("&", a, b)
    return a & b


def bit_or(a, b):
    _int_operands("|", a, b)
    return a | b


def bit_xor(a, b):
    _int_operands("^", a, b)
    return a ^ b


# --- comparisons ------------------------------------------------------------

def eq(a, b):
    if type(a) is not type(b):
        raise type_error("==", a, b)
    return a == b  # arrays have no __eq__: identity


def ne(a, b):
    if type(a) is not type(b):
        raise type_error("!=", a, b)
    return a != b


def _ordered(symbol, a, b):
    kind = type(a)
    if kind is not type(b) or (kind is not int and kind is not float):
        raise type_error(symbol, a, b)


def lt(a, b):
    _ordered("<", a, b)
    return a < b


def le(a, b):
    _ordered("<=", a, b)
    return a <= b


def gt(a, b):
    _ordered(">", a, b)
    return a > b


def ge(a, b):
    _ordered(">=", a, b)
    return a >= b


# --- unary operators --------------------------------------------------------

def neg(a):
    if type(a) is int:
        return wrap(-a) if a == INT_MIN else -a
    if type(a) is float:
        return -a
    raise type_error("-", a)


def bit_not(a):
    if type(a) is not int:
        raise type_error("~", a)
    return ~a


def not_(a):
    if type(a) is not bool:
        raise type_error("not", a)
    return not a


# --- builtins ---------------------------------------------------------------

def to_float(a):
    if type(a) is int:
        return float(a)
    if type(a) is float:
        return a
    raise type_error("float", a)


def to_int(a):
    if type(a) is int:
        return a
    if type(a) is float:
        if a != a:
            return 0
        if a >= _TWO_63:
            return INT_MAX
        if a <= -_TWO_63:
            return INT_MIN
        return int(a)
    raise type_error("int", a)


def sqrt(a):
    if type(a) is not float:
        raise type_error("sqrt", a)
    return math.sqrt(a) if a >= 0.0 else _NAN  # nan stays nan, -0.0 stays -0.0


def abs_(a):
    if type(a) is int:
        return wrap(-a) if a == INT_MIN else abs(a)
    if type(a) is float:
        return abs(a)
    raise type_error("abs", a)


def _extreme(symbol: str, smaller: bool):
    """min or max: of two ints, or of two floats as IEEE 754-2019's minimum
    and maximum (JavaScript's Math.min and Math.max): nan if either operand
    is nan, and -0.0 below 0.0."""
    def extreme(a, b):
        kind = type(a)
        if kind is type(b) and (kind is int or kind is float):
            if a < b:
                return a if smaller else b
            if b < a:
                return b if smaller else a
            if a == b:  # (the same number, or 0.0 and -0.0)
                return a if (kind is int or math.copysign(1.0, a) < 0) == smaller else b
            return _NAN
        raise type_error(symbol, a, b)
    extreme.__name__ = extreme.__qualname__ = symbol
    return extreme


min_ = _extreme("min", True)
max_ = _extreme("max", False)


def length(a):
    if type(a) is not ToyArray:
        raise type_error("len", a)
    return len(a.items)


# --- arrays -----------------------------------------------------------------

def array_fill(n, v) -> ToyArray:
    """array(n, v): n copies of v."""
    if type(n) is not int:
        raise ToyError(f"type error: array length must be int, not {type_name(n)}")
    if type(v) not in TYPECODES:
        raise ToyError(f"type error: cannot make an array of {type_name(v)}")
    if n < 0:
        raise negative_length(n)
    if n > MAX_ARRAY_LENGTH:
        raise too_long(n)
    return ToyArray(array(TYPECODES[type(v)], [v]) * n, type(v))


def array_literal(values: list) -> ToyArray:
    """[e1, e2, ...]: the elements must share one type."""
    elem = type(values[0])
    if elem not in TYPECODES:
        raise ToyError(f"type error: cannot make an array of {type_name(values[0])}")
    for v in values:
        if type(v) is not elem:
            raise ToyError("type error: array elements must have one type, "
                           f"got {type_name(values[0])} and {type_name(v)}")
    return ToyArray(array(TYPECODES[elem], values), elem)


def _checked_index(a, i) -> int:
    if type(a) is not ToyArray:
        raise ToyError(f"type error: cannot index {type_name(a)}")
    if type(i) is not int:
        raise ToyError(f"type error: array index must be int, not {type_name(i)}")
    if not 0 <= i < len(a.items):
        raise index_error(i, len(a.items))
    return i


def index(a, i):
    i = _checked_index(a, i)  # first: `a` may not be an array at all
    item = a.items[i]
    return item != 0 if a.elem is bool else item


def store_index(a, i, v) -> None:
    i = _checked_index(a, i)
    if type(v) is not a.elem:
        raise ToyError(f"type error: cannot store {type_name(v)} in array of "
                       f"{_TYPE_NAMES[a.elem]}")
    a.items[i] = v


# --- what a value of a type looks like ----------------------------------------

def representative(type_: str):
    """A value of the type (a name as type_name gives, `array<int>`, or
    "str") that no operation rejects for its value alone: 1, not 0, so that
    division tells type errors from division by zero. Other tiers learn an
    operation's result type and its type errors by running it on these."""
    if type_ == "str":
        return "s"
    if type_.startswith("array<"):
        elem = {"int": int, "float": float, "bool": bool}[type_[6:-1]]
        return ToyArray(array(TYPECODES[elem], [elem(1)] * 2), elem)
    return {"int": 1, "float": 1.0, "bool": True, "nil": None}[type_]


# --- each opcode's semantics ----------------------------------------------------
# One table, by opcode: the interpreter runs these, the JIT infers its types
# from them, and the native tiers ask them for their error messages.

def condition(value) -> bool:
    """The test of a conditional jump."""
    if type(value) is not bool:
        raise condition_error(value)
    return value


def array_pair(first, item) -> ToyArray:
    """The check `[first, ..., item, ...]` makes of one more element (ARRAY,
    whose operand count varies, has this two-operand form here)."""
    return array_literal([first, item])


# Two operands, one result: `pop b, a; push f(a, b)`.
BINARY = {op.ADD: add, op.SUB: sub, op.MUL: mul, op.DIV: div, op.MOD: mod,
          op.SHL: shl, op.SHR: shr, op.BIT_AND: bit_and, op.BIT_OR: bit_or,
          op.BIT_XOR: bit_xor, op.MIN: min_, op.MAX: max_}
COMPARISONS = {op.EQ: eq, op.NE: ne, op.LT: lt, op.LE: le, op.GT: gt, op.GE: ge}
# One operand: `replace the top with f(top)`.
UNARY = {op.NEG: neg, op.BIT_NOT: bit_not, op.NOT: not_, op.LEN: length,
         op.TO_FLOAT: to_float, op.TO_INT: to_int, op.SQRT: sqrt, op.ABS: abs_}
# Every opcode that computes on values or checks them.
OPERATIONS = {**BINARY, **COMPARISONS, **UNARY, op.INDEX: index,
              op.STORE_INDEX: store_index, op.ARRAY_FILL: array_fill,
              op.FOR_PREP: check_range, op.JUMP_IF_FALSE: condition,
              op.JUMP_IF_TRUE: condition, op.ARRAY: array_pair}


def operand_count(opcode: int) -> int:
    """How many operands OPERATIONS[opcode] takes."""
    return 2 if opcode == op.ARRAY else op.OPCODES[opcode].pops
