"""The static types the JIT specializes on, and how they relate to values.

A type is a short string. The concrete types are the tags of a run-time
value, in TAGS order, and "str" for the string constants that only `print`
takes. Where a value may have several types, its type is their union,
written "int|nil" (members in TAGS order), or ANY for every tag: compiled
code keeps such a value *tagged* (a tag, its index in TAGS, and a 64-bit
payload) and checks the tag where an operation needs it. Two more appear
during inference only: UNSET, a member for a local that some path has not
assigned yet (the interpreter reads it as nil), and BOTTOM, the result of a
call whose return type is still being worked out (recursion).

The typing rules are not written down here: the JIT asks vmlab.values, the
reference semantics, what an operation does to a representative value of
each operand type (see `apply` and `outcomes`). So a type error the JIT
predicts has exactly the interpreter's message.
"""

from __future__ import annotations

import functools
import itertools

from vmlab import values as v

UNSET = "unset"
BOTTOM = "bottom"
TAGS = ("nil", "bool", "int", "float", "array<int>", "array<float>", "array<bool>")
TAG = {name: i for i, name in enumerate(TAGS)}
ANY = "any"
ARRAY_TAGS = frozenset(t for t in TAGS if t.startswith("array<"))
ELEMENTS = {"int": int, "float": float, "bool": bool}
_ELEMENT_NAMES = {python_type: name for name, python_type in ELEMENTS.items()}
_ORDER = {name: i for i, name in enumerate((UNSET, *TAGS, "str"))}


def type_of(value) -> str:
    """The static type of a runtime value."""
    kind = type(value)
    if kind is v.ToyArray:
        return f"array<{_ELEMENT_NAMES[value.elem]}>"
    return v.type_name(value) if kind is not str else "str"


@functools.cache
def members(type_: str) -> tuple[str, ...]:
    """The concrete types (and UNSET) a type stands for, in TAGS order."""
    if type_ == BOTTOM:
        return ()
    found = []
    for part in type_.split("|"):
        found.extend(TAGS if part == ANY else (part,))
    return tuple(found)


@functools.cache
def _union(found: frozenset) -> str:
    if not found:
        return BOTTOM
    names = sorted(found, key=_ORDER.__getitem__)
    if found.issuperset(TAGS):
        names = [UNSET, ANY] if UNSET in found else [ANY]
    return "|".join(names)


def union(*types: str) -> str:
    """The type of a value that has one of `types` (BOTTOM for none)."""
    return _union(frozenset(m for t in types for m in members(t)))


def assigned(type_: str) -> str:
    """The type of a local that is read: UNSET means nil, as in the interpreter."""
    return union(*("nil" if m == UNSET else m for m in members(type_)))


def is_tagged(type_: str) -> bool:
    """Does compiled code keep a value of this type tagged (several types)?"""
    return len(members(type_)) > 1


def has_array(type_: str) -> bool:
    """May a value of this type be an array (a reference compiled code counts)?"""
    return not ARRAY_TAGS.isdisjoint(members(type_))


def element(type_: str) -> str | None:
    """"int" for "array<int>", None for a type that is not one array type."""
    return type_[6:-1] if type_.startswith("array<") and "|" not in type_ else None


def show(types) -> str:
    """Types as a specialization's name shows them: `int, any`."""
    return ", ".join(types)


representative = v.representative


def apply(operation, operand_types: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(result type, None), or (None, the runtime error message) when the
    operation fails for any operands of these concrete types."""
    try:
        result = operation(*map(representative, operand_types))
    except v.ToyError as error:
        return None, str(error)
    return (type_of(result) if result is not None else "nil"), None


@functools.cache
def outcomes(operation, operand_types: tuple[str, ...]) -> tuple:
    """Every combination of the operands' member types, with what the
    operation gives for it: ((types, result type or None, error or None), ...)."""
    return tuple((combo, *apply(operation, combo))
                 for combo in itertools.product(*map(members, operand_types)))


def result_type(operation, operand_types: tuple[str, ...]) -> str:
    """The union of the results of the combinations that succeed (BOTTOM:
    none does, the operation always fails)."""
    return union(*(r for _, r, _ in outcomes(operation, operand_types) if r is not None))
