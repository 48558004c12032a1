"""A Program as the flat arrays the native interpreter loop reads.

The bytecode is the same; only its layout changes: all code objects end to
end in one int64 array of (opcode, argument) pairs, jump targets and constant
indices made absolute, one constant pool of (tag, 64-bit payload) with floats
stored as their bits. The main code is the last function.

`fused` is the same code with instructions fused, for runs that count no
instructions; the fused instructions' own slots stay as they were, for error
messages and for the host, which sees the same pcs either way. Nothing is
fused across a jump target.

- A binary operator right after the LOAD_CONST or LOAD_LOCAL of its right
  operand runs as one instruction in the load's slot, as Lua's instructions
  take a constant or a register as operand: FUSED_CONST or FUSED_LOCAL plus
  the operator's opcode; the load's argument in the low 32 bits.
- If the left operand was loaded by a LOAD_LOCAL just before, the three run
  as one in that slot, with LOCAL_LEFT and the local in bits 32-47: a
  register instruction, as Lua's ADD R(A) R(B) K(C).
- An operator (fused or not) followed by a STORE_LOCAL also stores its result
  there (STORE_RESULT, the local in bits 48 and up); a comparison followed by
  JUMP_IF_FALSE or JUMP_IF_TRUE also jumps (THEN_BRANCH), as the JVM's
  if_icmplt does.
- A FOR_ITER followed by the STORE_LOCAL of its counter becomes FOR_STORE
  (its argument: the exit target, and the local << 32), and a backward JUMP
  to a FOR_STORE becomes JUMP_FOR, which runs the FOR_STORE too.
- An INDEX after the LOAD_LOCALs of its array and index becomes INDEX_LL
  (argument: the two locals, the index's << 16), and a STORE_INDEX after
  those and the LOAD_CONST or LOAD_LOCAL of its value STORE_INDEX_LLK or
  STORE_INDEX_LLL (the value's constant or local << 32), as Lua's GETTABLE
  and SETTABLE take registers and constants.
- Jumps to an unconditional JUMP go to its target instead, where that keeps
  every loop's backward JUMP (where runs are stopped) backward.
"""

from __future__ import annotations

import struct

import numpy as np

from vmlab import opcodes as op
from vmlab.code import Program
from vmlab.disasm import jump_targets
from vmlab.opcodes import ARG, ARITY, OPCODES, Flow, Operand

# Value tags: what the 64-bit payload beside each stack slot means.
NIL, BOOL, INT, FLOAT, ARRAY, STR = range(6)
# Array element kinds.
ELEM_INT, ELEM_FLOAT, ELEM_BOOL = range(3)
ELEM_TAGS = (INT, FLOAT, BOOL)
# Fused opcodes (see above): the operator's opcode plus one of these.
FUSED_CONST, FUSED_LOCAL, THEN_BRANCH, LOCAL_LEFT, STORE_RESULT = 64, 128, 256, 512, 1024
_LOCALS_FUSED = 1 << 15  # locals numbered below this fit in a fused argument
FOR_STORE, JUMP_FOR, INDEX_LL, STORE_INDEX_LLL, STORE_INDEX_LLK = range(FUSED_CONST - 1,
                                                                       FUSED_CONST - 6, -1)
assert len(OPCODES) < STORE_INDEX_LLK
_LOADS = {op.LOAD_CONST: FUSED_CONST, op.LOAD_LOCAL: FUSED_LOCAL}


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


def max_stack(code, arities: list[int]) -> int:
    """The deepest the operand stack gets in a code object."""
    depth = [-1] * len(code.instrs)
    depth[0], work, deepest = 0, [0], 0
    while work:
        pc = work.pop()
        opcode, arg = code.instrs[pc]
        info = OPCODES[opcode]
        pops = arg if info.pops == ARG else arities[arg] if info.pops == ARITY else info.pops
        after = depth[pc] - pops + info.pushes
        deepest = max(deepest, depth[pc] + (1 if opcode == op.FOR_ITER else 0), after)
        targets = []
        if info.flow in (Flow.JUMP, Flow.BRANCH):
            taken = after if info.taken is None else depth[pc] - info.taken[0] + info.taken[1]
            targets.append((arg, taken))
        if info.flow in (Flow.NEXT, Flow.BRANCH):
            targets.append((pc + 1, after))
        for target, d in targets:
            if depth[target] < 0:
                depth[target] = d
                work.append(target)
    return deepest


def _fused(code, codes, starts):
    """The fused encoding of `code` (see above)."""
    fused = code.copy()
    for c, start in zip(codes, starts, strict=True):
        targets = jump_targets(c)
        for pc in range(1, len(c.instrs)):
            (opcode, arg), before, at = c.instrs[pc], c.instrs[pc - 1][0], 2 * (start + pc - 1)
            if pc in targets:
                continue
            if OPCODES[opcode].kind == "binary":
                after, stored = c.instrs[pc + 1] if pc + 1 < len(c.instrs) else (None, None)
                then, dest = 0, 0  # what the operator does next: branch, store
                if pc + 1 in targets:
                    pass
                elif op.EQ <= opcode <= op.GE and after in (op.JUMP_IF_FALSE, op.JUMP_IF_TRUE):
                    then = THEN_BRANCH
                elif after == op.STORE_LOCAL and stored < _LOCALS_FUSED:
                    then, dest = STORE_RESULT, stored << 48
                if before not in _LOADS or code[at + 1] >= 1 << 32:  # operands on the stack
                    fused[at + 2] += then
                    fused[at + 3] += dest
                    continue
                fused[at] = _LOADS[before] + opcode + then
                fused[at + 1] += dest
                left = c.instrs[pc - 2] if pc >= 2 else (None, None)
                if left[0] == op.LOAD_LOCAL and left[1] < _LOCALS_FUSED and pc - 1 not in targets:
                    fused[at - 2] = fused[at] + LOCAL_LEFT
                    fused[at - 1] = fused[at + 1] | (left[1] << 32)
            elif opcode == op.STORE_LOCAL and before == op.FOR_ITER:
                fused[at] = FOR_STORE
                fused[at + 1] += arg << 32
            elif opcode in (op.INDEX, op.STORE_INDEX):
                _fuse_index(fused, c, start, pc, targets)
        for pc, (opcode, _) in enumerate(c.instrs):
            at = 2 * (start + pc)
            if opcode in (op.JUMP, op.JUMP_IF_FALSE, op.JUMP_IF_TRUE):
                fused[at + 1] = target = _threaded(code, start + pc, opcode == op.JUMP)
                if opcode == op.JUMP and target <= start + pc and fused[2 * target] == FOR_STORE:
                    fused[at] = JUMP_FOR
    return fused


def _fuse_index(fused, c, start: int, pc: int, targets) -> None:
    """INDEX_LL or STORE_INDEX_LL* in the slot of the array's LOAD_LOCAL, if
    the array, the index (and the value) come straight from loads."""
    n = 2 if c.instrs[pc][0] == op.INDEX else 3
    loads = c.instrs[pc - n:pc] if pc >= n else []
    if (len(loads) < n or any(p in targets for p in range(pc - n + 1, pc + 1))
            or any(opcode != op.LOAD_LOCAL or arg >= _LOCALS_FUSED
                   for opcode, arg in loads[:2])):
        return
    at = 2 * (start + pc - n)
    arg = loads[0][1] | loads[1][1] << 16
    if n == 2:
        fused[at], fused[at + 1] = INDEX_LL, arg
    else:
        kind, value = loads[2]
        if kind == op.LOAD_CONST:  # (its argument here is absolute: the code's own)
            fused[at], fused[at + 1] = STORE_INDEX_LLK, arg | fused[at + 5] << 32
        elif kind == op.LOAD_LOCAL and value < _LOCALS_FUSED:
            fused[at], fused[at + 1] = STORE_INDEX_LLL, arg | value << 32


def _threaded(code, pc: int, stops: bool) -> int:
    """Where the jump at `pc` ends up after the unconditional JUMPs it lands
    on. Runs are stopped at backward JUMPs only (`stops`: the jump at `pc` is
    one): a conditional jump is threaded through forward JUMPs only, a JUMP
    through backward ones only if it ends backward itself."""
    target, seen = int(code[2 * pc + 1]), {pc}
    backward = target <= pc
    while code[2 * target] == op.JUMP and target not in seen:
        after = int(code[2 * target + 1])
        if after <= target and not stops:
            break
        seen.add(target)
        backward = backward or after <= target
        target = after
    if stops and backward and target > pc:
        return int(code[2 * pc + 1])
    return target


class Encoded:
    """The arrays, and what the host needs to map them back."""

    def __init__(self, program: Program):
        codes = [*program.functions, program.main]
        arities = [c.arity for c in codes]
        self.codes = codes
        self.main = len(codes) - 1
        self.strings: list[str] = []
        starts, n = [], 0
        for c in codes:
            starts.append(n)
            n += len(c.instrs)
        words, tags, values = [], [], []
        for c, start in zip(codes, starts, strict=True):
            base = len(tags)
            for value in c.consts:
                tag, payload = constant(value, self.strings)
                tags.append(tag)
                values.append(payload)
            for opcode, arg in c.instrs:
                kind = OPCODES[opcode].operand
                if kind == Operand.JUMP:
                    arg += start
                elif kind == Operand.CONST:
                    arg += base
                words += (opcode, arg)
        self.code = np.array(words or [0], dtype=np.int64)
        self.fused = _fused(self.code, codes, starts)
        self.const_tag = np.array(tags or [0], dtype=np.int8)
        self.const_val = np.array(values or [0], dtype=np.int64)
        self.fn_start = np.array(starts, dtype=np.int64)
        self.fn_arity = np.array(arities, dtype=np.int64)
        self.fn_nlocals = np.array([c.nlocals for c in codes], dtype=np.int64)
        self.fn_frame = np.array([c.nlocals + max_stack(c, arities) for c in codes],
                                 dtype=np.int64)

    def place(self, pc: int) -> tuple[int, int]:
        """(function index, pc within it) of an absolute instruction index."""
        func = int(np.searchsorted(self.fn_start, pc, side="right")) - 1
        return func, pc - int(self.fn_start[func])
