"""Range-check elimination: for loops whose array indices provably stay in
bounds get a second copy of their body without the bounds checks.

Every `a[e]` checks `0 <= e < len(a)`. In an innermost `for v in lo..hi`
loop, an array local `a` that the loop never assigns keeps its length (arrays
have a fixed length), and so does an int local `k` its value; the loop
variable `v`, if only the loop assigns it, runs from lo to hi - 1. An index
that is a linear expression of those, `e = c + c_v*v + c_1*k_1 + ...` (from
+, -, unary - and * by a constant), takes its least and greatest values at the
loop's ends, so one test before the loop,

    lo >= hi  or  0 <= e(lo) < len(a) and 0 <= e(hi - 1) < len(a)  for each a[e]

(computed in 128 bits, so that no sum wraps) proves every check of those
accesses. The accesses may also sit in a small function the loop calls and
LLVM inlines (Queens' `free_maxs[c + r]` in a helper), in terms of its
parameters, which the call's arguments replace. jit.lower versions the loop,
as HotSpot's range-check elimination and loop predication do: when the test
holds the loop runs the copy without those checks (and calls copies of such
helpers without theirs), else the original, which raises the interpreter's
error at the same iteration as before. Only innermost loops are versioned, so
each body is copied at most once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from vmlab import opcodes as op
from vmlab.code import jump_sources
from vmlab.opcodes import OPCODES, Flow

from jit.types import element

# Bounds on an index expression, so that its value at the loop's ends fits
# the guard's 128 bits: terms, |coefficient|, |constant|.
MAX_TERMS, MAX_COEFFICIENT, MAX_CONSTANT = 4, 64, 1 << 32


class Affine(NamedTuple):
    """An int: `const` plus the sum of coefficient * local (by slot)."""
    const: int
    terms: tuple[tuple[int, int], ...]  # (slot, coefficient), by slot, none 0

    @staticmethod
    def of(const: int = 0, terms: dict | None = None) -> Affine | None:
        terms = {s: k for s, k in (terms or {}).items() if k}
        if (len(terms) > MAX_TERMS or abs(const) > MAX_CONSTANT
                or any(abs(k) > MAX_COEFFICIENT for k in terms.values())):
            return None
        return Affine(const, tuple(sorted(terms.items())))

    def scaled_sum(self, other: Affine, k: int = 1) -> Affine | None:
        """self + k * other."""
        terms = dict(self.terms)
        for s, c in other.terms:
            terms[s] = terms.get(s, 0) + k * c
        return Affine.of(self.const + k * other.const, terms)

    def substitute(self, values: dict[int, object]) -> Affine | None:
        """This expression with each slot replaced by `values[slot]` (None
        if one is not an Affine)."""
        total = Affine(self.const, ())
        for s, k in self.terms:
            value = values.get(s)
            if not isinstance(value, Affine):
                return None
            total = total.scaled_sum(value, k)
            if total is None:
                return None
        return total


class ArrayLocal(NamedTuple):
    slot: int


class CheckedLoop(NamedTuple):
    prep: int                          # the pc of its FOR_PREP
    end: int                           # the pc after it: FOR_ITER's target
    var: int | None                    # the loop variable's local, if only the loop sets it
    needs: frozenset[tuple[int, Affine]]  # (array local, index) the test before it proves
    unchecked: frozenset[int]          # its INDEX and STORE_INDEX pcs that need no check
    calls: tuple[tuple[int, frozenset[int]], ...]  # (CALL pc, the callee's unchecked pcs)

    @property
    def body(self) -> range:
        """Its pcs: the FOR_ITER, then the body."""
        return range(self.prep + 1, self.end)


def checked_loops(code, spec, inlined: Callable = lambda callee: False) -> dict[int, CheckedLoop]:
    """The innermost for loops of one specialization worth versioning, by
    the pc of their FOR_PREP. `inlined(callee)`: whether a callee is
    inlined, so that its accesses may be proven too."""
    instrs, states, into = code.instrs, spec.states, jump_sources(code)
    found = {}
    for prep, (opcode, _) in enumerate(instrs[:-1]):
        header = prep + 1
        if (opcode != op.FOR_PREP or instrs[header][0] != op.FOR_ITER
                or states[prep] is None or states[header] is None):
            continue
        loop = _loop(code, spec, prep, instrs[header][1], into, inlined)
        if loop is not None:
            found[prep] = loop
    return found


def _loop(code, spec, prep: int, end: int, into, inlined) -> CheckedLoop | None:
    instrs, states, header = code.instrs, spec.states, prep + 1
    body = range(header, end)
    for pc in body:
        opcode, arg = instrs[pc]
        if pc != header and opcode in (op.FOR_PREP, op.FOR_ITER):
            return None  # not innermost
        if opcode == op.JUMP and arg < pc and arg != header:
            return None  # a while loop inside
    if any(source not in body for pc in body[1:] for source in into.get(pc, ())):
        return None  # entered elsewhere than at its header
    stores = [arg for pc in body for opcode, arg in [instrs[pc]] if opcode == op.STORE_LOCAL]
    var = None
    if instrs[header + 1][0] == op.STORE_LOCAL:
        v = instrs[header + 1][1]
        if stores.count(v) == 1 and spec.local_types[v] == "int":
            var = v
    written = set(stores)
    before = states[prep][0]

    def array(origin) -> int | None:
        """The array local `origin` is, if the loop never assigns it."""
        if (isinstance(origin, ArrayLocal) and origin.slot not in written
                and element(spec.local_types[origin.slot]) is not None
                and before[origin.slot] == spec.local_types[origin.slot]):
            return origin.slot
        return None

    def index(origin) -> bool:
        return isinstance(origin, Affine) and all(
            s == var or (s not in written and spec.local_types[s] == "int"
                         and before[s] == "int") for s, _ in origin.terms)
    needs, unchecked, calls = set(), set(), []
    for pc, operands in _operands(code, spec, body, into):
        if instrs[pc][0] != op.CALL:
            if array(operands[0]) is not None and index(operands[1]):
                needs.add((operands[0].slot, operands[1]))
                unchecked.add(pc)
            continue
        callee = spec.callees.get(pc)
        if callee is None or callee.key == spec.key or not inlined(callee):
            continue
        proven = set()
        for at, param, expression in _parameter_accesses(callee):
            i = expression.substitute(dict(enumerate(operands)))
            if array(operands[param]) is not None and i is not None and index(i):
                needs.add((operands[param].slot, i))
                proven.add(at)
        if proven:
            calls.append((pc, frozenset(proven)))
    if not needs:
        return None
    return CheckedLoop(prep, end, var, frozenset(needs), frozenset(unchecked), tuple(calls))


def _parameter_accesses(callee):
    """(pc, array parameter, index in terms of int parameters) of each INDEX
    and STORE_INDEX of `callee` whose array and index are so (parameters
    that it never assigns)."""
    code = callee.code
    assigned = {arg for opcode, arg in code.instrs if opcode == op.STORE_LOCAL}
    params = [p for p in range(code.arity) if p not in assigned]
    arrays = {p for p in params if element(callee.local_types[p]) is not None}
    ints = {p for p in params if callee.local_types[p] == "int"}
    for pc, operands in _operands(code, callee, range(len(code.instrs)), jump_sources(code)):
        if code.instrs[pc][0] == op.CALL:
            continue
        array, i = operands[:2]
        if (isinstance(array, ArrayLocal) and array.slot in arrays and isinstance(i, Affine)
                and all(s in ints for s, _ in i.terms)):
            yield pc, array.slot, i


def constant_arguments(spec) -> dict[int, frozenset[int]]:
    """Which arguments of each CALL of one specialization are int
    constants (as far as the same block shows), by the CALL's pc."""
    code = spec.code
    found = {}
    for pc, operands in _operands(code, spec, range(len(code.instrs)), jump_sources(code)):
        if code.instrs[pc][0] == op.CALL:
            constant = frozenset(i for i, o in enumerate(operands)
                                 if isinstance(o, Affine) and not o.terms)
            if constant:
                found[pc] = constant
    return found


def tested_parameters(spec) -> frozenset[int]:
    """The parameters that the test before some versioned loop of `spec`
    computes with (if LLVM inlines the helpers the loop calls): what a
    caller's constant arguments can simplify (jit.compiler.plan)."""
    loops = checked_loops(spec.code, spec, lambda callee: True).values()
    return frozenset(slot for loop in loops for _, index in loop.needs
                     for slot, _ in index.terms if slot < spec.code.arity)


def _operands(code, spec, pcs: range, into):
    """(pc, what each operand is) of each INDEX (array, index), STORE_INDEX
    (array, index, value) and CALL (its arguments) in `pcs`: an ArrayLocal,
    an Affine of int locals, or None, as far as the same block shows."""
    instrs, states = code.instrs, spec.states
    origin: dict[int, object] = {}  # stack depth -> what its entry is
    for pc in pcs:
        if states[pc] is None:
            continue
        opcode, arg = instrs[pc]
        local_types, stack_types = states[pc][0], tuple(states[pc][1])
        depth = len(stack_types)
        if pc in into or pc - 1 not in pcs or OPCODES[instrs[pc - 1][0]].flow != Flow.NEXT:
            origin = {}  # (a block's start: what its stack holds is not known here)
        pops = {op.INDEX: 2, op.STORE_INDEX: 3}.get(opcode)
        if opcode == op.CALL and pc in spec.callees:
            pops = spec.callees[pc].code.arity
        if pops is not None:
            yield pc, [origin.get(d) for d in range(depth - pops, depth)]
        result = _result(code, opcode, arg, local_types, stack_types,
                         [origin.get(d) for d in range(depth - 2, depth)])
        info = OPCODES[opcode]
        after = pc + 1 < len(states) and states[pc + 1]
        kept = len(after[1]) - info.pushes if after and info.flow == Flow.NEXT else 0
        origin = {d: s for d, s in origin.items() if d < kept}
        if result is not None:
            origin[kept] = result


def _result(code, opcode: int, arg, local_types, stack_types: tuple, top: list):
    """What the value an instruction pushes is, if an ArrayLocal or an
    Affine (`top`: what the top two stack entries are)."""
    if opcode == op.LOAD_LOCAL:
        t = local_types[arg]
        if t == "int":
            return Affine(0, ((arg, 1),))
        return ArrayLocal(arg) if element(t) is not None else None
    if opcode == op.LOAD_CONST:
        value = code.consts[arg]
        return Affine.of(value) if type(value) is int else None
    a, b = top
    if opcode == op.NEG and stack_types[-1:] == ("int",) and isinstance(b, Affine):
        return Affine(0, ()).scaled_sum(b, -1)
    if stack_types[-2:] != ("int", "int") or not (isinstance(a, Affine) and isinstance(b, Affine)):
        return None
    if opcode in (op.ADD, op.SUB):
        return a.scaled_sum(b, 1 if opcode == op.ADD else -1)
    if opcode == op.MUL and (not a.terms or not b.terms):
        constant, other = (a, b) if not a.terms else (b, a)
        return Affine(0, ()).scaled_sum(other, constant.const)
    return None
