"""AST node classes: what the parser builds and the checker and compiler walk.

Every node knows its source position (1-based line and column) and its
nesting depth, which the parser bounds so that the recursive passes after it
can never exhaust Python's stack. The checker adds resolution results
(`slot`, `func`) to the nodes that need them.
"""

from __future__ import annotations

from itertools import zip_longest


class Node:
    __slots__ = ("line", "col", "depth")
    _fields: tuple[str, ...] = ()

    def __init__(self, line: int, col: int, *values):
        self.line, self.col, self.depth = line, col, 0
        for name, value in zip_longest(self._fields, values):  # unset fields: None
            setattr(self, name, value)

    def __repr__(self):
        args = ", ".join(repr(getattr(self, f)) for f in self._fields)
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        """Structural equality, ignoring positions (used by tests)."""
        return type(self) is type(other) and all(
            getattr(self, f) == getattr(other, f) for f in self._fields)

    __hash__ = None


# --- top level and statements ----------------------------------------------

class Program(Node):
    __slots__ = _fields = ("items",)          # FnDef and statement nodes, in order


class FnDef(Node):
    __slots__ = _fields = ("name", "params", "body")  # params: list[Param]


class Param(Node):
    __slots__ = _fields = ("name",)


class Block(Node):
    __slots__ = _fields = ("stmts",)


class Let(Node):
    __slots__ = _fields = ("name", "value", "slot")


class Assign(Node):
    __slots__ = _fields = ("target", "value")  # target: Name or Index


class If(Node):
    __slots__ = _fields = ("cond", "then", "orelse")  # orelse: Block, If or None


class While(Node):
    __slots__ = _fields = ("cond", "body")


class For(Node):
    __slots__ = _fields = ("var", "lo", "hi", "body", "slot")


class Break(Node):
    __slots__ = ()


class Continue(Node):
    __slots__ = ()


class Return(Node):
    __slots__ = _fields = ("value",)          # None for a bare `return;`


class ExprStmt(Node):
    __slots__ = _fields = ("expr",)


# --- expressions ------------------------------------------------------------

class Int(Node):
    __slots__ = _fields = ("value",)


class Float(Node):
    __slots__ = _fields = ("value",)


class Str(Node):
    __slots__ = _fields = ("value",)


class Bool(Node):
    __slots__ = _fields = ("value",)


class Nil(Node):
    __slots__ = ()


class Name(Node):
    __slots__ = _fields = ("id", "slot")


class Call(Node):
    __slots__ = _fields = ("name", "args", "func")  # func: a Code index or builtin name


class Index(Node):
    __slots__ = _fields = ("obj", "index")


class Unary(Node):
    __slots__ = _fields = ("op", "operand")   # op: "-", "~" or "not"


class Binary(Node):
    __slots__ = _fields = ("op", "left", "right")


class Logical(Node):
    __slots__ = _fields = ("op", "left", "right")  # op: "and" or "or"


class ArrayLit(Node):
    __slots__ = _fields = ("items",)
