"""Range-check elimination: for loops whose array indices provably stay in
bounds get a second copy of their body without the bounds checks.

Every `a[k]` checks `0 <= k < len(a)`. In an innermost `for v in lo..hi`
loop, an array local `a` that the loop never assigns keeps its length (arrays
have a fixed length), and so does an int local `k` its value; the loop
variable `v`, if only the loop assigns it, runs from lo to hi - 1. So one
test before the loop,

    lo >= hi  or  (lo >= 0 and hi <= len(a)  for each a[v],
                   k <u len(a)               for each a[k] of an invariant k)

proves every check of those accesses. jit.lower versions the loop, as
HotSpot's range-check elimination and loop predication do: when the test
holds the loop runs the copy without those checks, else the original, which
raises the interpreter's error at the same iteration as before. Only
innermost loops are versioned, so each body is copied at most once.
"""

from __future__ import annotations

from typing import NamedTuple

from vmlab import opcodes as op
from vmlab.code import jump_sources
from vmlab.opcodes import OPCODES, Flow

from jit.types import element


class CheckedLoop(NamedTuple):
    prep: int                          # the pc of its FOR_PREP
    end: int                           # the pc after it: FOR_ITER's target
    var: int | None                    # the loop variable's local, if only the loop sets it
    pairs: frozenset[tuple[int, int]]  # (array local, index local) with provable bounds

    @property
    def body(self) -> range:
        """Its pcs: the FOR_ITER, then the body."""
        return range(self.prep + 1, self.end)


def checked_loops(code, spec) -> dict[int, CheckedLoop]:
    """The innermost for loops of one specialization worth versioning, by
    the pc of their FOR_PREP."""
    instrs, states, into = code.instrs, spec.states, jump_sources(code)
    found = {}
    for prep, (opcode, _) in enumerate(instrs[:-1]):
        header = prep + 1
        if (opcode != op.FOR_PREP or instrs[header][0] != op.FOR_ITER
                or states[prep] is None or states[header] is None):
            continue
        loop = _loop(code, spec, prep, instrs[header][1], into)
        if loop is not None:
            found[prep] = loop
    return found


def _loop(code, spec, prep: int, end: int, into) -> CheckedLoop | None:
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

    def invariant_array(slot: int) -> bool:
        return (slot not in written and element(spec.local_types[slot]) is not None
                and before[slot] == spec.local_types[slot])

    def index(slot: int) -> bool:
        return slot == var or (slot not in written and spec.local_types[slot] == "int"
                               and before[slot] == "int")
    pairs = set()
    for array, i in _accesses(code, spec, body, into):
        if array is not None and i is not None and invariant_array(array) and index(i):
            pairs.add((array, i))
    return CheckedLoop(prep, end, var, frozenset(pairs)) if pairs else None


def _accesses(code, spec, body: range, into):
    """(array local, index local) of each INDEX and STORE_INDEX in `body`
    whose array and index were pushed by LOAD_LOCAL in the same block
    (None where not)."""
    instrs, states = code.instrs, spec.states
    origin: dict[int, int] = {}  # stack depth -> the local its entry was loaded from
    for pc in body:
        if states[pc] is None:
            continue
        opcode, arg = instrs[pc]
        depth = len(states[pc][1])
        if pc in into or pc - 1 not in body or OPCODES[instrs[pc - 1][0]].flow != Flow.NEXT:
            origin = {}  # (a block's start: what its stack holds is not known here)
        if opcode == op.INDEX:
            yield origin.get(depth - 2), origin.get(depth - 1)
        elif opcode == op.STORE_INDEX:
            yield origin.get(depth - 3), origin.get(depth - 2)
        info = OPCODES[opcode]
        after = pc + 1 < len(states) and states[pc + 1]
        kept = len(after[1]) - info.pushes if after and info.flow == Flow.NEXT else 0
        origin = {d: s for d, s in origin.items() if d < kept}
        if opcode == op.LOAD_LOCAL:
            origin[depth] = arg
