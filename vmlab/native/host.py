"""The host side of the native interpreter: it prints, reports errors, and
makes room, whenever the compiled loop stops for it."""

from __future__ import annotations

import functools
import struct
from array import array

import numpy as np

from vmlab import interrupts
from vmlab import values as v
from vmlab.code import Program
from vmlab.errors import ToyRuntimeError
from vmlab.native import layout as L
from vmlab.native.encode import (
    ARRAY, BOOL, FLOAT, INT, NIL, STR, SWAPPED, Encoded, operands,
)
from vmlab.opcodes import CALL, OPCODES

_PYTHON_TYPES = {INT: int, FLOAT: float, BOOL: bool}


def _float(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<q", bits))[0]


class Machine:
    """The arrays the loop runs over, and the host's part of the work."""

    def __init__(self, program: Program, output, max_depth: int, counting: bool,
                 max_steps: int | None = None):
        self.program, self.output, self.max_depth = program, output, max_depth
        self.max_steps = max_steps
        self.enc = enc = Encoded(program)
        self.counting = counting or max_steps is not None
        # Runs that count run the plain encoding, one instruction per bytecode
        # instruction; the others the fused one.
        self.code, self.starts, self.origin = (
            (enc.counting, enc.counting_start, enc.origin) if self.counting
            else (enc.fused, enc.fused_start, enc.fused_origin))
        main, konst = enc.main, enc.konst
        size = max(1 << 12, konst + int(enc.fn_frame[main]) + 1)
        # The value stack: (payload, tag) per slot; tags 0 are NIL.
        self.slots = np.zeros((size, 2), dtype=np.int64)
        self.slots[:konst, 0], self.slots[:konst, 1] = enc.const_val, enc.const_tag
        self.fns = np.stack([self.starts, enc.fn_arity, enc.fn_nlocals, enc.fn_frame], axis=1)
        self.frames = np.zeros(3 * (max_depth + 1), dtype=np.int64)
        self.heap = np.zeros(1 << 12, dtype=np.int64)
        self.table = np.zeros((64, 3), dtype=np.int64)  # per array: kind, offset, length
        self.free_ids = np.zeros(64, dtype=np.int64)
        self.regs = np.zeros(L.REGISTERS, dtype=np.int64)
        self.counts = np.zeros(len(enc.opcodes), dtype=np.int64)  # per bytecode instruction
        regs = self.regs
        regs[L.R_STEPS] = max_steps if max_steps is not None else 1 << 62
        regs[L.R_PC] = self.starts[main]
        regs[L.R_FUNC] = main
        regs[L.R_FP] = 2 * konst  # the main code's frame, above the constants (doubled)

    def run(self) -> None:
        regs = self.regs
        watch = interrupts.current
        if watch is not None:
            watch.add_flag(lambda: regs.__setitem__(L.R_STOP, 1))
        native = loop()
        while True:
            if watch is not None:
                watch.native += 1
            try:
                status = native(self.code, self.fns.reshape(-1), self.slots.reshape(-1),
                                self.frames, self.heap, self.table.reshape(-1), self.free_ids,
                                regs, self.counts, self.max_depth)
            finally:
                if watch is not None:
                    watch.native -= 1
            if status == L.STOPPED and regs[L.R_STEPS] == 0 and self.counting:
                raise interrupts.Interrupted(interrupts.step_limit(self.max_steps))
            if watch is not None:
                watch.check()
            if status == L.DONE:
                return
            if status == L.PRINTING:
                self.print_line()
            elif status == L.ERROR:
                raise self.error()
            elif status == L.NEED_STACK:
                self.grow_stack(int(self.regs[L.R_NEED]))
            else:
                self.make_room(int(self.regs[L.R_NEED]))

    def counted(self) -> tuple[list[int], list[int]]:
        """(executions per opcode, calls per function) of a counting run."""
        enc = self.enc
        opcodes = np.bincount(enc.opcodes, weights=self.counts, minlength=len(OPCODES))
        calls = np.zeros(len(enc.codes), dtype=np.int64)
        at = enc.opcodes == CALL
        np.add.at(calls, enc.args[at], self.counts[at])
        return opcodes.astype(np.int64).tolist(), calls.tolist()

    # --- values ---
    def value(self, tag: int, payload: int):
        """A stack slot as a toy value (arrays as fresh ToyArrays)."""
        if tag == INT:
            return payload
        if tag == FLOAT:
            return _float(payload)
        if tag == BOOL:
            return payload != 0
        if tag == NIL:
            return None
        if tag == STR:
            return self.enc.strings[payload]
        kind, start, n = (int(x) for x in self.table[payload])  # kind: the elements' tag
        items = self.heap[start:start + n]
        python_type = _PYTHON_TYPES[kind]
        if kind == FLOAT:
            return v.ToyArray(array("d", items.view(np.float64).tobytes()), float)
        return v.ToyArray(array(v.TYPECODES[python_type], items.tolist()), python_type)

    def print_line(self) -> None:
        regs = self.regs
        first, n = operands(self.code, int(regs[L.R_PC]) - 1, int(regs[L.R_FP]) // 2)
        items = [self.value(int(self.slots[k, 1]), int(self.slots[k, 0]))
                 for k in range(first, first + n)]
        self.output.line(" ".join(map(v.format_value, items)))

    # --- errors ---
    def error(self) -> ToyRuntimeError:
        regs = self.regs
        kind, a, b, c = (int(regs[k]) for k in (L.R_ERR, L.R_E1, L.R_E2, L.R_E3))
        if kind == L.DIVISION_BY_ZERO:
            message = str(v.division_by_zero())
        elif kind == L.INDEX_ERROR:
            message = str(v.index_error(a, b))
        elif kind == L.NEGATIVE_LENGTH:
            message = str(v.negative_length(a))
        elif kind == L.TOO_LONG:
            message = str(v.too_long(a))
        elif kind == L.STACK_OVERFLOW:
            message = str(v.stack_overflow())
        else:
            opcode = self.enc.opcodes[self.origin[int(regs[L.R_PC]) - 1]]
            if self.code[2 * (int(regs[L.R_PC]) - 1)] >> 8 & SWAPPED:
                a, b = b, a  # (encode.py: a constant left operand taken as c)
            message = _type_error(int(opcode), a, b, c)
        return ToyRuntimeError(message, self.traceback(), self.program.source_name)

    def traceback(self) -> list[tuple[str, int]]:
        """(function, line) per active frame, outermost first."""
        regs, enc = self.regs, self.enc
        places = [int(self.frames[3 * d + 1]) for d in range(int(regs[L.R_DEPTH]))]
        places.append(int(regs[L.R_PC]))
        trace = []
        for after in places:
            func, pc = enc.place(int(self.origin[after - 1]))
            code = enc.codes[func]
            trace.append((code.name, code.lines[pc]))
        return trace

    # --- room ---
    def grow_stack(self, need: int) -> None:
        grown = np.zeros((max(need, 2 * len(self.slots)), 2), dtype=np.int64)
        grown[:len(self.slots)] = self.slots
        self.slots = grown

    def make_room(self, need: int) -> None:
        """Collect the arrays no stack slot refers to (arrays cannot hold
        arrays, so the stack is all the roots there are; the frames' slots
        above their stack's depth may still hold arrays no longer used, and
        keep them until a later collection), compact the heap, and grow the
        heap or the table if that is not enough."""
        regs = self.regs
        top = int(regs[L.R_FP]) // 2 + int(self.enc.fn_frame[int(regs[L.R_FUNC])])
        count = int(regs[L.R_ARRAYS])
        live = np.zeros(count, dtype=bool)
        slots = self.slots[:top]
        live[slots[slots[:, 1] == ARRAY, 0]] = True
        live_ids = np.flatnonzero(live)
        used = int(self.table[live_ids, 2].sum())
        size = max(len(self.heap), 2 * (used + need))
        heap = np.zeros(size, dtype=np.int64)
        top = 0
        for ident in live_ids:
            start, n = int(self.table[ident, 1]), int(self.table[ident, 2])
            heap[top:top + n] = self.heap[start:start + n]
            self.table[ident, 1] = top
            top += n
        self.heap = heap
        regs[L.R_HEAP] = top
        dead = np.flatnonzero(~live)
        if len(dead) == 0 and count == len(self.table):
            grown = 2 * len(self.table)
            self.table = np.concatenate([self.table, np.zeros((grown - count, 3), np.int64)])
            self.free_ids = np.zeros(grown, dtype=np.int64)
        self.free_ids[:len(dead)] = dead
        regs[L.R_FREE] = len(dead)


_TYPE_NAMES = {NIL: "nil", BOOL: "bool", INT: "int", FLOAT: "float", ARRAY: "array<int>",
               10 + INT: "array<int>", 10 + FLOAT: "array<float>", 10 + BOOL: "array<bool>"}


def _type_error(op: int, a: int, b: int, c: int) -> str:
    """The message of a type error: the reference semantics' own, for
    operands of the types the loop reported (a tag, or 10 + an array's
    element tag)."""
    operands = (v.representative(_TYPE_NAMES[t]) for t in (a, b, c)[:v.operand_count(op)])
    try:
        v.OPERATIONS[op](*operands)
    except v.ToyError as error:
        return str(error)
    raise AssertionError(f"no type error for {OPCODES[op].name}")  # pragma: no cover


def run(program: Program, output, max_depth: int, stats=None,
        max_steps: int | None = None) -> None:
    """Run a program in the native interpreter (see vmlab.interp.run);
    `max_steps` bounds the instructions it executes."""
    machine = Machine(program, output, max_depth, stats is not None, max_steps)
    try:
        machine.run()
    finally:
        if stats is not None:
            opcodes, calls = machine.counted()
            stats.opcodes[:] = opcodes
            stats.calls[:] = calls[:-1]


@functools.cache
def loop():
    """The loop: from its shared library (vmlab/native/aot.py: no numba to
    import), else compiled by numba or loaded from numba's cache; once per
    process."""
    from vmlab.native import aot
    found = aot.loop()
    if found is None:
        from vmlab.native.loop import compiled
        found = compiled()
    return found
