"""While loops the JIT lowers specially: counted ones, strip-mined like a
for loop, and small ones, unrolled twice so that they poll half as often.

A while loop's back-edge polls for a stop (Ctrl-C, --timeout), and in a loop
of two or three machine cycles that branch is a fifth of the time (sieve:
1.4x C with it, 1.15x without). A for loop avoids it by running chunks of
iterations between polls; a while loop can do the same when its trip is
countable from the bytecode alone, which is what HotSpot calls a counted loop:

    header:  LOAD_LOCAL v; LOAD_LOCAL n | LOAD_CONST; LT | LE; JUMP_IF_FALSE exit
             ...                         (no other store to v, n or s)
    step:    LOAD_LOCAL v; LOAD_LOCAL s | LOAD_CONST; ADD; STORE_LOCAL v
    back:    JUMP header                 (the loop's only back-edge)
    exit:

all of v, n and s ints. Every iteration that comes round adds s to v, so
with s > 0 a strip of iterations can be bounded by one limit tested in place
of `v < n` (jit.lower); the step's sign is only known at run time, and a
loop whose step is not positive polls on every iteration, as before.
"""

from __future__ import annotations

from typing import NamedTuple

from vmlab import opcodes as op
from vmlab.code import jump_sources

# The largest while loop body, in bytecode instructions, that the optimizing
# tier lowers twice (unrolled_loops).
UNROLL_SIZE = 32


class CountedLoop(NamedTuple):  # (dataclasses: 7 ms more to import)
    header: int             # the pc of the loop test's first instruction
    test: int               # the pc of its JUMP_IF_FALSE
    back_edge: int          # the pc of the JUMP back to it
    var: int                # the local that counts: v
    bound: tuple[str, int]  # ("local", slot) or ("const", value): n
    step: tuple[str, int]   # the same for s
    inclusive: bool         # the test is v <= n


def counted_loops(code, spec) -> dict[int, CountedLoop]:
    """The counted while loops of one specialization, by header pc."""
    instrs, into = code.instrs, jump_sources(code)
    found = {}
    for back, (opcode, header) in enumerate(instrs):
        if opcode == op.JUMP and header < back:
            loop = _counted(code, spec, header, back, into)
            if loop is not None:
                found[header] = loop
    return found


def _counted(code, spec, header: int, back: int, into) -> CountedLoop | None:
    instrs, step_at = code.instrs, back - 4
    if step_at < header + 4 or spec.states[header] is None:
        return None
    (load_v, v), (load_n, n), (compare, _), (test, exit_) = instrs[header:header + 4]
    (load_v2, v2), (load_s, s), (add, _), (store, v3) = instrs[step_at:back]
    if not (load_v == load_v2 == op.LOAD_LOCAL and v == v2 == v3 and store == op.STORE_LOCAL
            and compare in (op.LT, op.LE) and test == op.JUMP_IF_FALSE and exit_ == back + 1
            and add == op.ADD):
        return None
    bound, step = _operand(code, spec, load_n, n), _operand(code, spec, load_s, s)
    if bound is None or step is None or spec.local_types[v] != "int" or v in (n, s):
        return None
    # Every iteration that comes round must pass the step, and nothing else
    # may change v, n or s inside the loop.
    if any(source > header for source in into.get(header, ()) if source != back):
        return None
    if any(into.get(pc) for pc in range(step_at + 1, back + 1)):
        return None
    body = range(header, back + 1)
    written = {arg for pc in body for opcode, arg in [instrs[pc]]
               if opcode == op.STORE_LOCAL and pc != back - 1}
    if written & {v, *(slot for kind, slot in (bound, step) if kind == "local")}:
        return None
    if any(pc in spec.errors or pc in spec.exits
           for pc in (*range(header, header + 4), *range(step_at, back + 1))):
        return None
    return CountedLoop(header, header + 3, back, v, bound, step, compare == op.LE)


def _operand(code, spec, opcode: int, arg: int):
    """("local", slot) or ("const", value) for an int operand, else None."""
    if opcode == op.LOAD_LOCAL and spec.local_types[arg] == "int":
        return ("local", arg)
    if opcode == op.LOAD_CONST and type(code.consts[arg]) is int:
        return ("const", code.consts[arg])
    return None


def unrolled_loops(code, spec, counted) -> dict[int, range]:
    """The while loops to lower twice, by header pc, with their bodies: the
    first copy's back-edges go to the second copy's header, the second's
    poll and go back to the first's, so the loop polls every other
    iteration. Innermost, not `counted`, with no call (a poll is little
    beside one; a recursive call's inlined copies would each double) and
    at most UNROLL_SIZE instructions. List's `while y_tail != -1` (two
    loads a turn) ran 30% longer with a poll each turn (docs/jit.md)."""
    instrs = code.instrs
    backs: dict[int, int] = {}  # header -> its last back-edge
    for pc, (opcode, arg) in enumerate(instrs):
        if opcode == op.JUMP and arg <= pc and spec.states[pc] is not None:
            backs[arg] = max(backs.get(arg, pc), pc)
    found = {}
    for header, back in backs.items():
        body = range(header, back + 1)
        if (header in counted or len(body) > UNROLL_SIZE or spec.states[header] is None
                or instrs[header][0] == op.FOR_ITER):
            continue
        inner = any(opcode in (op.FOR_PREP, op.FOR_ITER, op.CALL)
                    or (opcode == op.JUMP and arg <= pc and arg != header)
                    for pc in body for opcode, arg in [instrs[pc]])
        if not inner:
            found[header] = body
    return found
