"""The host side of the native interpreter: it prints, reports errors, and
makes room, whenever the compiled loop stops for it."""

from __future__ import annotations

import functools
import struct
from array import array

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


def _zeros(n: int) -> array:
    return array("q", bytes(8 * n))


class Machine:
    """The arrays the loop runs over, and the host's part of the work.

    They are `array.array`s of int64, flat (the loop indexes them so):
    importing numpy would cost a run more than the loop's own start-up."""

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
        size = max(1 << 12, konst + enc.fn_frame[main] + 1)
        # The value stack: (payload, tag) per slot; tags 0 are NIL.
        self.slots = _zeros(2 * size)
        self.slots[0:2 * konst:2] = array("q", enc.const_val)
        self.slots[1:2 * konst:2] = array("q", enc.const_tag)
        self.fns = array("q", [x for k in range(len(enc.codes)) for x in (
            self.starts[k], enc.fn_arity[k], enc.fn_nlocals[k], enc.fn_frame[k])])
        self.frames = _zeros(3 * (max_depth + 1))
        self.heap = _zeros(1 << 12)
        self.table = _zeros(3 * 64)  # per array: kind, offset, length
        self.free_ids = _zeros(64)
        self.regs = _zeros(L.REGISTERS)
        self.counts = _zeros(len(enc.opcodes))  # per bytecode instruction
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
                status = native(self.code, self.fns, self.slots, self.frames, self.heap,
                                self.table, self.free_ids, regs, self.counts, self.max_depth)
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
                self.grow_stack(self.regs[L.R_NEED])
            else:
                self.make_room(self.regs[L.R_NEED])

    def counted(self) -> tuple[list[int], list[int]]:
        """(executions per opcode, calls per function) of a counting run."""
        enc = self.enc
        opcodes, calls = [0] * len(OPCODES), [0] * len(enc.codes)
        for opcode, arg, count in zip(enc.opcodes, enc.args, self.counts, strict=True):
            opcodes[opcode] += count
            if opcode == CALL:
                calls[arg] += count
        return opcodes, calls

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
        kind, start, n = self.table[3 * payload:3 * payload + 3]  # kind: the elements' tag
        items = self.heap[start:start + n]
        python_type = _PYTHON_TYPES[kind]
        if kind == FLOAT:
            return v.ToyArray(array("d", items.tobytes()), float)
        return v.ToyArray(array(v.TYPECODES[python_type], items), python_type)

    def print_line(self) -> None:
        regs = self.regs
        first, n = operands(self.code, regs[L.R_PC] - 1, regs[L.R_FP] // 2)
        slots = self.slots
        items = [self.value(slots[2 * k + 1], slots[2 * k]) for k in range(first, first + n)]
        self.output.line(" ".join(map(v.format_value, items)))

    # --- errors ---
    def error(self) -> ToyRuntimeError:
        regs = self.regs
        kind, a, b, c = (regs[k] for k in (L.R_ERR, L.R_E1, L.R_E2, L.R_E3))
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
            opcode = self.enc.opcodes[self.origin[regs[L.R_PC] - 1]]
            if self.code[2 * (regs[L.R_PC] - 1)] >> 8 & SWAPPED:
                a, b = b, a  # (encode.py: a constant left operand taken as c)
            message = _type_error(opcode, a, b, c)
        return ToyRuntimeError(message, self.traceback(), self.program.source_name)

    def traceback(self) -> list[tuple[str, int]]:
        """(function, line) per active frame, outermost first."""
        regs, enc = self.regs, self.enc
        places = [self.frames[3 * d + 1] for d in range(regs[L.R_DEPTH])]
        places.append(regs[L.R_PC])
        trace = []
        for after in places:
            func, pc = enc.place(self.origin[after - 1])
            code = enc.codes[func]
            trace.append((code.name, code.lines[pc]))
        return trace

    # --- room ---
    def grow_stack(self, need: int) -> None:
        """At least `need` slots (the loop reads the arrays' addresses anew
        at each call, so that they may move)."""
        self.slots.extend(_zeros(2 * max(need, len(self.slots)) - len(self.slots)))

    def make_room(self, need: int) -> None:
        """Collect the arrays no stack slot refers to (arrays cannot hold
        arrays, so the stack is all the roots there are; the frames' slots
        above their stack's depth may still hold arrays no longer used, and
        keep them until a later collection), compact the heap, and grow the
        heap or the table if that is not enough."""
        regs, table, old = self.regs, self.table, self.heap
        top = regs[L.R_FP] // 2 + self.enc.fn_frame[regs[L.R_FUNC]]
        count = regs[L.R_ARRAYS]
        live = bytearray(count)
        for tag, payload in zip(self.slots[1:2 * top:2], self.slots[0:2 * top:2]):
            if tag == ARRAY:
                live[payload] = 1
        live_ids = [i for i in range(count) if live[i]]
        used = sum(table[3 * i + 2] for i in live_ids)
        heap = _zeros(max(len(old), 2 * (used + need)))
        top = 0
        for ident in live_ids:
            start, n = table[3 * ident + 1], table[3 * ident + 2]
            heap[top:top + n] = old[start:start + n]
            table[3 * ident + 1] = top
            top += n
        self.heap = heap
        regs[L.R_HEAP] = top
        dead = [i for i in range(count) if not live[i]]
        if not dead and 3 * count == len(table):
            table.extend(_zeros(len(table)))
            self.free_ids = _zeros(len(table) // 3)
        self.free_ids[:len(dead)] = array("q", dead)
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
        import numpy as np

        from vmlab.native.loop import compiled
        numba_loop = compiled()

        def found(*args):  # (numpy views of the same memory: no copies)
            arrays = [np.frombuffer(a, dtype=np.int64) for a in args[:-1]]
            return numba_loop(*arrays, args[-1])
    return found
