"""A Program as the register code the native interpreter loop runs.

The bytecode is the same; only its encoding for the loop differs. A stack
machine's operand stack has a known depth at every instruction (the verifier
checks that), so each stack entry is a fixed slot of its frame: the locals
first, then one slot per depth. Every instruction becomes a register
instruction naming its slots, as Lua's do: LOAD_LOCAL x at depth 3 is
`MOVE T3 <- x`, ADD at depth 2 is `ADD T0 <- T0, T1`. The constants of all
code objects sit at the bottom of the value stack, below the first frame.

Each instruction is two int64 words:

    word 0: opcode (bits 0-5, numbered by LOOP), flags (8-15), a (16-39), b (40-63)
    word 1: c (bits 0-31), target (32-63)

Slots are stored doubled (slot s as 2s): the loop keeps a (payload, tag)
pair per slot, so an operand is its payload's index as it stands.

`a` is the slot written (for STORE_INDEX, the array); `b` and `c` the slots
read, relative to the frame. The opcode says when `c` is absolute instead: a
constant's slot (LOADK and the _K forms, as Lua's ADDK), a function (CALL),
a count (PRINT, ARRAY), a bytecode pc (COUNT) or a pc (JUMP_FOR's body).

Two encodings of the same program, one numbering of register opcodes:

- `counting`, for runs that count (`--stats`, `--max-steps`): one register
  instruction per bytecode instruction (POP and unreachable code become
  NOP), each after a COUNT, which counts it or stops the run at the step
  limit; the host adds the counts up per opcode, so they are the
  interpreter's. Runs that count nothing do not pay for it.
- `fused`, for the others: the same with the moves register code does not
  need folded into the instructions next to them (`LOAD_LOCAL x; LOAD_CONST
  7; MUL; STORE_LOCAL y` is one `MUL_K y <- x, 7`), a constant left operand
  of a commutative operator or a comparison swapped into c (`2 * x` as
  `x * 2`, `1 < x` as `x > 1`, flagged SWAPPED so that errors name the
  operands in their order), a comparison and the conditional jump after it
  one BRANCH_<cmp>, a JUMP back to a for loop's FOR_ITER a JUMP_FOR (which
  runs that FOR_ITER), jumps to jumps threaded, and the instructions folded
  away dropped. Nothing is folded across a jump target. `fused_origin` maps
  each instruction back to the bytecode instruction whose errors it
  reports, for messages and tracebacks.

Doubled slots fit in 24 bits: the verifier allows 65,535 locals and a
stack of 1,000,000 entries.
"""

from __future__ import annotations

import bisect
import struct

from array import array

from vmlab import opcodes as op
from vmlab.code import Program, jump_sources
from vmlab.opcodes import OPCODES, Flow, stack_effect
from vmlab.verify import MAX_LOCALS, MAX_STACK

# Value tags: what the 64-bit payload beside each stack slot means.
NIL, BOOL, INT, FLOAT, ARRAY, STR = range(6)
# An array's kind is its elements' tag: INT, FLOAT or BOOL.

# Register opcodes, while encoding: a bytecode opcode's own number where the
# register form does the same with named slots (b and c frame slots); these
# for what register code adds. The words number them by LOOP, below.
NOP = op.POP
MOVE = len(OPCODES)   # a = b
LOADK = MOVE + 1      # a = constant c
JUMP_FOR = MOVE + 2   # a for loop's JUMP back and its FOR_ITER
BRANCH = MOVE + 3     # + (comparison - EQ): jump if (b <cmp> c) is the sense
K_FORM = BRANCH + 6   # + (operator - ADD): a = b <op> constant c
BRANCH_K = K_FORM + (op.GE - op.ADD + 1)  # + (comparison - EQ): b <cmp> constant c
STORE_INDEX_K = BRANCH_K + 6              # a[b] = constant c
COUNT = STORE_INDEX_K + 1  # count bytecode instruction k, or stop: the step limit is reached
# Flags. While encoding, B_CONST and C_CONST mark constants (absolute) in b
# and c; once packed, the opcode says it (LOADK, the _K forms). TRUE_SENSE:
# a conditional jump jumps when its condition is true (bit 10 of word 0).
# SWAPPED: a constant left operand was swapped into c.
B_CONST, C_CONST, TRUE_SENSE, SWAPPED = 1, 2, 4, 8
_MIRRORED = {op.ADD: op.ADD, op.MUL: op.MUL, op.BIT_AND: op.BIT_AND, op.BIT_OR: op.BIT_OR,
             op.BIT_XOR: op.BIT_XOR, op.EQ: op.EQ, op.NE: op.NE, op.LT: op.GT,
             op.GT: op.LT, op.LE: op.GE, op.GE: op.LE}
assert 2 * (MAX_LOCALS + MAX_STACK + 3) < 1 << 24  # doubled slots in a, b (24 bits)
_COMPARISONS = range(op.EQ, op.GE + 1)
_FOLD_DISTANCE = 6  # how far after a move its use is looked for
# The operators and builtins: a = f(b) or a = f(b, c).
_VALUE_OPS = {i.number for i in OPCODES
              if i.kind in ("binary", "unary", "builtin") and i.pops in (1, 2) and i.pushes == 1}
_WRITES_A = {MOVE, op.FOR_ITER, op.INDEX, op.ARRAY, op.CALL, *_VALUE_OPS}


def _float_bits(x: float) -> int:
    return struct.unpack("<q", struct.pack("<d", x))[0]


def constant(value, strings: list[str]) -> tuple[int, int]:
    """(tag, payload) of a constant; strings go to `strings` by number."""
    if value is None:
        return NIL, 0
    if type(value) is bool:
        return BOOL, int(value)
    if type(value) is int:
        return INT, value
    if type(value) is float:
        return FLOAT, _float_bits(value)
    strings.append(value)
    return STR, len(strings) - 1


def depths(code, arities: list[int]) -> list[int]:
    """The operand stack's depth before each instruction (-1: unreachable),
    from the opcode table's stack effects."""
    depth = [-1] * len(code.instrs)
    depth[0], work = 0, [0]
    while work:
        pc = work.pop()
        opcode, arg = code.instrs[pc]
        info = OPCODES[opcode]
        pops, pushes = stack_effect(opcode, arg, arities)
        after = depth[pc] - pops + pushes
        targets = []
        if info.flow in (Flow.JUMP, Flow.BRANCH):
            pops, pushes = stack_effect(opcode, arg, arities, taken=True)
            targets.append((arg, depth[pc] - pops + pushes))
        if info.flow in (Flow.NEXT, Flow.BRANCH):
            targets.append((pc + 1, after))
        for target, d in targets:
            if depth[target] < 0:
                depth[target] = d
                work.append(target)
    return depth


def frame_size(code, depth: list[int]) -> int:
    """Slots a frame of `code` needs: its locals and its deepest stack."""
    return code.nlocals + max(d + OPCODES[opcode].pushes
                              for (opcode, _), d in zip(code.instrs, depth, strict=True))


class Row:
    """One register instruction while encoding: its register opcode (None
    once folded away), flags, slots a, b, c, its jump target (a bytecode
    index until packed) and origin (the bytecode instruction whose errors
    it reports)."""

    __slots__ = ("opcode", "flags", "a", "b", "c", "target", "origin", "index")

    def __init__(self, opcode, flags=0, a=0, b=0, c=0, target=0, origin=0):
        self.opcode, self.flags, self.a, self.b, self.c = opcode, flags, a, b, c
        self.target, self.origin = target, origin
        self.index = -1  # its place among the rows of its code (while folding)

    def copy(self) -> Row:
        return Row(self.opcode, self.flags, self.a, self.b, self.c, self.target, self.origin)


def _translate(c, start: int, kbase: int, depth: list[int], arities: list[int]) -> list[Row]:
    """One register instruction per bytecode instruction, targets still
    bytecode indices."""
    out = []
    for pc, (opcode, arg) in enumerate(c.instrs):
        d, t = depth[pc], c.nlocals + depth[pc]  # t: the slot of the stack's next entry
        origin = start + pc
        info = OPCODES[opcode]
        if d < 0 or opcode == op.POP:
            row = Row(NOP, origin=origin)
        elif opcode == op.LOAD_CONST:
            row = Row(MOVE, B_CONST, a=t, b=kbase + arg, origin=origin)
        elif opcode == op.LOAD_LOCAL:
            row = Row(MOVE, a=t, b=arg, origin=origin)
        elif opcode == op.STORE_LOCAL:
            row = Row(MOVE, a=arg, b=t - 1, origin=origin)
        elif (opcode in _VALUE_OPS and info.pops == 2) or opcode == op.INDEX:
            row = Row(opcode, a=t - 2, b=t - 2, c=t - 1, origin=origin)
        elif opcode in _VALUE_OPS:  # (one operand)
            row = Row(opcode, a=t - 1, b=t - 1, origin=origin)
        elif opcode in (op.JUMP, op.JUMP_IF_FALSE, op.JUMP_IF_TRUE):
            sense = TRUE_SENSE if opcode == op.JUMP_IF_TRUE else 0
            code = op.JUMP if opcode == op.JUMP else op.JUMP_IF_FALSE  # (TRUE_SENSE: if true)
            row = Row(code, sense, b=t - 1, target=start + arg, origin=origin)
        elif opcode == op.FOR_PREP:
            row = Row(opcode, b=t - 2, c=t - 1, origin=origin)
        elif opcode == op.FOR_ITER:  # a: where i goes; b: the counter, its limit above
            row = Row(opcode, a=t, b=t - 2, target=start + arg, origin=origin)
        elif opcode == op.CALL:  # a: the first argument, the callee's first slot
            row = Row(opcode, C_CONST, a=t - arities[arg], c=arg, origin=origin)
        elif opcode == op.RETURN:
            row = Row(opcode, b=t - 1, origin=origin)
        elif opcode in (op.PRINT, op.ARRAY):  # the arg entries from b
            row = Row(opcode, C_CONST, a=t - arg, b=t - arg, c=arg, origin=origin)
        elif opcode == op.STORE_INDEX:  # a[b] = c
            row = Row(opcode, a=t - 3, b=t - 2, c=t - 1, origin=origin)
        else:  # pragma: no cover - the table and this function disagree
            raise AssertionError(f"no register form for {info.name}")
        out.append(row)
    return out


def _reads(row: Row, slot: int) -> str | None:
    """How `row` reads frame slot `slot`: "b", "c", "a", "range" or None."""
    opcode = row.opcode
    if opcode in (op.PRINT, op.ARRAY):
        return "range" if row.b <= slot < row.b + row.c else None
    if opcode == op.CALL:
        return "range" if slot >= row.a else None
    if opcode in (op.FOR_PREP, op.FOR_ITER, JUMP_FOR):  # (they stay on the stack)
        return "range" if slot in (row.b, row.b + 1) else None
    if row.b == slot and not row.flags & B_CONST and opcode not in (NOP, op.JUMP):
        return "b"
    if row.c == slot and not row.flags & C_CONST and opcode in _READS_C:
        return "c"
    if row.a == slot and opcode == op.STORE_INDEX:
        return "a"
    return None


_READS_C = {op.INDEX, op.STORE_INDEX, *(n for n in _VALUE_OPS if OPCODES[n].pops == 2)}


def _fold(rows: list[Row], nlocals: int, targets: set[int]) -> None:
    """Fold moves into the instructions next to them (see above), marking
    the moves dropped (opcode None). `targets`: rows some jump reaches."""
    for i, row in enumerate(rows):  # a move to a stack slot: into its one use
        if row.opcode != MOVE or row.a < nlocals:
            continue
        slot, source, const = row.a, row.b, row.flags & B_CONST
        for j in range(i + 1, min(i + 1 + _FOLD_DISTANCE, len(rows))):
            if j in targets:
                break
            use = rows[j]
            how = use.opcode is not None and _reads(use, slot)
            if const and how == "b" and use.opcode in _MIRRORED and not use.flags & C_CONST:
                use.opcode, use.b, use.c = _MIRRORED[use.opcode], use.c, slot
                use.flags |= SWAPPED
                how = "c"
            if _can_take(how, use.opcode, const):
                flag = {"a": 0, "b": B_CONST, "c": C_CONST}[how]
                setattr(use, how, source)
                use.flags = (use.flags & ~flag) | (flag if const else 0)
                row.opcode = None
            if how or (use.opcode in _WRITES_A and use.a == source and not const) or \
                    (use.opcode is not None and use.opcode not in _STRAIGHT):
                break
    last = None  # a result into a stack slot, then moved to a local: straight there
    for i, row in enumerate(rows):
        if row.opcode == NOP:
            row.opcode = None
        if row.opcode is None:
            continue
        follows = (last is not None and i not in targets and not row.flags & B_CONST
                   and row.b == last.a >= nlocals
                   and not any(k in targets for k in range(last.index + 1, i)))
        if follows and row.opcode == MOVE:
            last.a = row.a
            row.opcode = last = None
        elif follows and row.opcode == op.JUMP_IF_FALSE and last.opcode in _COMPARISONS:
            last.opcode = BRANCH + last.opcode - op.EQ
            last.flags |= row.flags & TRUE_SENSE
            last.target = row.target
            row.opcode = last = None
        else:
            row.index = i  # (for the checks above)
            last = row if row.opcode in _WRITES_A - {op.CALL, op.ARRAY} else None


def _can_take(how, opcode, const) -> bool:
    """May an instruction that reads the moved slot as `how` read the
    move's source instead (a constant: only where it has a constant form)?"""
    if how == "b":
        return not const or opcode == MOVE
    if how == "a":
        return not const
    if how == "c":
        return not const or opcode in _C_CONSTANT
    return False


_C_CONSTANT = {op.STORE_INDEX, *range(op.ADD, op.GE + 1)}  # have a constant-c form
_STRAIGHT = {MOVE, op.FOR_PREP, op.INDEX, op.STORE_INDEX, *_VALUE_OPS}


class Encoded:
    """The arrays the loop reads, and what the host needs to map them back."""

    def __init__(self, program: Program):
        codes = [*program.functions, program.main]
        arities = [c.arity for c in codes]
        self.codes = codes
        self.main = len(codes) - 1
        self.strings: list[str] = []
        tags, values, starts, kbases = [], [], [], []
        plain, fused, frames = [], [], []
        for c in codes:
            kbases.append(len(tags))
            for value in c.consts:
                tag, payload = constant(value, self.strings)
                tags.append(tag)
                values.append(payload)
        for c, kbase in zip(codes, kbases, strict=True):
            starts.append(len(plain))
            depth = depths(c, arities)
            frames.append(frame_size(c, depth))
            rows = _translate(c, starts[-1], kbase, depth, arities)
            plain += rows
            fused_rows = [row.copy() for row in rows]
            _fold(fused_rows, c.nlocals, set(jump_sources(c)))
            fused += fused_rows
        self.konst = len(tags)  # constants occupy the stack's first slots
        self.const_tag, self.const_val = tags, values
        self.fn_start = starts
        self.fn_arity = arities
        self.fn_nlocals = [c.nlocals for c in codes]
        self.fn_frame = frames
        self.origin = [pc for pc in range(len(plain)) for _ in (0, 1)]  # (each after its COUNT)
        self.counting_start = [2 * start for start in starts]
        self.opcodes = [opcode for c in codes for opcode, _ in c.instrs]
        self.args = [arg for c in codes for _, arg in c.instrs]
        self.counting = _pack([r for row in plain for r in (Row(COUNT, c=row.origin, origin=row.origin), row)],
                              {pc: 2 * pc for pc in range(len(plain))})
        kept = [row for row in fused if row.opcode is not None]
        at, k = {}, len(kept)
        for row in reversed(fused):  # a dropped row's pc: the next kept row's
            k -= row.opcode is not None
            at[row.origin] = k
        self.fused_start = [at[s] for s in starts]
        self.fused_origin = [row.origin for row in kept]
        self.fused = _pack(kept, at, threaded=True)

    def place(self, origin: int) -> tuple[int, int]:
        """(function index, pc within it) of an absolute bytecode index."""
        func = bisect.bisect_right(self.fn_start, origin) - 1
        return func, origin - self.fn_start[func]


def _pack(rows: list[Row], at: dict[int, int], threaded: bool = False) -> array:
    """The rows as (word 0, word 1) pairs, bytecode targets made row indices;
    with `threaded`, jumps threaded and for-loop back-edges made JUMP_FOR."""
    targets = [at[row.target] for row in rows]
    if threaded:
        for i, row in enumerate(rows):
            if row.opcode in (op.JUMP, op.JUMP_IF_FALSE) or BRANCH <= row.opcode < K_FORM:
                targets[i] = target = _threaded_at(rows, targets, i)
                if row.opcode == op.JUMP and target <= i and rows[target].opcode == op.FOR_ITER:
                    loop = rows[target]
                    rows[i] = Row(JUMP_FOR, C_CONST, loop.a, loop.b, target + 1, origin=row.origin)
                    targets[i] = targets[target]
    words = []
    for i, row in enumerate(rows):
        opcode, flags, a, b, c = row.opcode, row.flags, row.a, row.b, row.c
        if opcode == MOVE and flags & B_CONST:
            opcode, b, c = LOADK, 0, b
        elif flags & C_CONST and op.ADD <= opcode <= op.GE:
            opcode += K_FORM - op.ADD
        elif flags & C_CONST and BRANCH <= opcode < K_FORM:
            opcode += BRANCH_K - BRANCH
        elif flags & C_CONST and opcode == op.STORE_INDEX:
            opcode = STORE_INDEX_K
        elif opcode == NOP:  # (runs that count keep POP's place)
            opcode, targets[i] = op.JUMP, i + 1
        if opcode in _SHARED:  # (its bytecode opcode where a jump's target goes)
            targets[i] = opcode
        if opcode not in _C_NOT_A_SLOT:
            c *= 2
        word = _LOOP_NUMBER[opcode] | flags << 8 | 2 * a << 16 | 2 * b << 40
        words += (word - (1 << 64) if word >= 1 << 63 else word, c | targets[i] << 32)
    return array("q", words or [0, 0])


def _threaded_at(rows: list[Row], targets: list[int], i: int) -> int:
    """Where the jump in row `i` ends up after the JUMPs it lands on. Runs
    are stopped at backward JUMPs only: a conditional jump is threaded
    through forward JUMPs only, a JUMP through backward ones only if it ends
    backward itself (a loop's back-edge stays backward)."""
    stops = rows[i].opcode == op.JUMP
    target, seen = targets[i], {i}
    backward = target <= i
    while rows[target].opcode == op.JUMP and target not in seen:
        after = targets[target]
        if after <= target and not stops:
            break
        seen.add(target)
        backward = backward or after <= target
        target = after
    if stops and backward and target > i:
        return targets[i]
    return target


_C_NOT_A_SLOT = {op.CALL, op.PRINT, op.ARRAY, JUMP_FOR, COUNT}  # c: a function, count, pc

NAMES = {**{i.number: i.name for i in OPCODES}, NOP: "NOP", MOVE: "MOVE", LOADK: "LOADK",
         JUMP_FOR: "JUMP_FOR", STORE_INDEX_K: "STORE_INDEX_K", COUNT: "COUNT",
         **{BRANCH + k: "BRANCH_" + OPCODES[op.EQ + k].name for k in range(6)},
         **{BRANCH_K + k: "BRANCH_" + OPCODES[op.EQ + k].name + "_K" for k in range(6)},
         **{K_FORM + k: OPCODES[op.ADD + k].name + "_K" for k in range(BRANCH_K - K_FORM)}}

# The loop's numbers for the register opcodes: one for each value of the
# opcode's 6 bits, so that the loop's dispatch needs no range test and LLVM
# copies it into the end of every branch (loop.py). The operators and
# builtins without a branch of their own (the rarer ones, and any new one
# until it earns a branch) share one, RARE, their bytecode opcode in the
# target field; NOP is a JUMP to the next instruction; the loads and stores
# are all MOVE or LOADK.
_OWN_BRANCH = {op.NEG, op.NOT, op.LEN, op.ARRAY_FILL}
_SHARED = {n for n in _VALUE_OPS if OPCODES[n].kind != "binary" and n not in _OWN_BRANCH}
_NOT_IN_LOOP = {op.LOAD_CONST, op.LOAD_LOCAL, op.STORE_LOCAL, op.JUMP_IF_TRUE, NOP, *_SHARED}
LOOP_NAMES = (*(NAMES[n] for n in sorted(NAMES) if n not in _NOT_IN_LOOP), "RARE")
LOOP = {name: number for number, name in enumerate(LOOP_NAMES)}
# The budget: 6 bits of opcode, 64 register opcodes, all used. A new
# operator or builtin shares RARE and costs nothing here; one that needs a
# branch of its own (a faster one, a new form) must take the place of
# another (move one into RARE), or widen the field: opcode bits 0-6 in word
# 0 (flags from bit 8 already leave room), `w & 0x7F` in
# vmlab/native/loop.py, and a switch there that covers all 128 values (a
# branch per LOOP name, the rest failing).
assert len(LOOP) == 64, "the loop's dispatch must cover the opcode's 6 bits exactly"
_LOOP_NUMBER = {n: LOOP[NAMES[n]] for n in NAMES if n not in _NOT_IN_LOOP} \
    | {n: LOOP["RARE"] for n in _SHARED}
_C_IS_A_NUMBER = {_LOOP_NUMBER[n] for n in _C_NOT_A_SLOT}


def decode(words: array) -> list[tuple[str, int, int, int, int, int]]:
    """Each instruction as (name, a, b, c, target, flags), to read the code;
    slots as slot numbers (they are doubled in the words)."""
    rows = []
    for i in range(len(words) // 2):
        w, x = int(words[2 * i]), int(words[2 * i + 1])
        c, number = x & 0xFFFFFFFF, w & 0x3F
        name = OPCODES[x >> 32].name if LOOP_NAMES[number] == "RARE" else LOOP_NAMES[number]
        rows.append((name, (w >> 16 & 0xFFFFFF) // 2, (w >> 40 & 0xFFFFFF) // 2,
                     c if number in _C_IS_A_NUMBER else c // 2, x >> 32, w >> 8 & 0xFF))
    return rows


def operands(words: array, pc: int, fp: int) -> tuple[int, int]:
    """The first slot and the count of a PRINT (or ARRAY) at `pc`, in the
    frame at slot `fp`."""
    return (int(words[2 * pc] >> 40 & 0xFFFFFF) // 2 + fp, int(words[2 * pc + 1] & 0xFFFFFFFF))
