"""The static types the JIT specializes on, and how they relate to values.

A type is a short string: "int", "float", "bool", "nil", "array<int>",
"array<float>", "array<bool>", and "str" for the string constants that only
`print` takes. Two more appear during inference only: UNSET for a local that
no path has assigned yet, and BOTTOM for the result of a call whose return
type is still being worked out (recursion).

The typing rules are not written down here: the JIT asks vmlab.values, the
reference semantics, what an operation does to a representative value of
each operand type (see `apply`). So a type error the JIT predicts has exactly
the interpreter's message.
"""

from __future__ import annotations

from array import array

from vmlab import values as v

UNSET = "unset"
BOTTOM = "bottom"
ELEMENTS = {"int": int, "float": float, "bool": bool}
_ELEMENT_NAMES = {python_type: name for name, python_type in ELEMENTS.items()}


def type_of(value) -> str:
    """The static type of a runtime value."""
    kind = type(value)
    if kind is v.ToyArray:
        return f"array<{_ELEMENT_NAMES[value.elem]}>"
    return v.type_name(value) if kind is not str else "str"


def element(type_: str) -> str | None:
    """"int" for "array<int>", None for a type that is not an array."""
    return type_[6:-1] if type_.startswith("array<") else None


def representative(type_: str):
    """A value of the type that no operation rejects for its value alone
    (1, not 0, so that division tells type errors from division by zero)."""
    if type_ == "str":
        return "s"
    elem = element(type_)
    if elem is not None:
        python_type = ELEMENTS[elem]
        return v.ToyArray(array(v.TYPECODES[python_type], [python_type(1)] * 2), python_type)
    return {"int": 1, "float": 1.0, "bool": True, "nil": None}[type_]


def apply(operation, operand_types: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(result type, None), or (None, the runtime error message) when the
    operation fails for any operands of these types."""
    try:
        result = operation(*map(representative, operand_types))
    except v.ToyError as error:
        return None, str(error)
    return (type_of(result) if result is not None else "nil"), None
