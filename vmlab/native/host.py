"""The host side of the native interpreter: it prints, reports errors, and
makes room, whenever the compiled loop stops for it."""

from __future__ import annotations

import struct
from array import array

import numpy as np

from vmlab import interrupts
from vmlab import values as v
from vmlab.code import Program
from vmlab.errors import ToyRuntimeError
from vmlab.native import loop as L
from vmlab.native.encode import (
    ARRAY, BOOL, ELEM_FLOAT, ELEM_TAGS, FLOAT, INT, NIL, STR, Encoded,
)
from vmlab.opcodes import OPCODES

_PYTHON_TYPES = {ELEM_TAGS[0]: int, ELEM_TAGS[1]: float, ELEM_TAGS[2]: bool}


def _float(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<q", bits))[0]


class Machine:
    """The arrays the loop runs over, and the host's part of the work."""

    def __init__(self, program: Program, output, max_depth: int, counting: bool,
                 max_steps: int | None = None):
        self.program, self.output, self.max_depth = program, output, max_depth
        self.max_steps = max_steps
        self.enc = enc = Encoded(program)
        main = enc.main
        size = max(1 << 12, int(enc.fn_frame[main]) + 1)
        self.stack = np.zeros(size, dtype=np.int64)
        self.tags = np.zeros(size, dtype=np.int8)
        self.frames = np.zeros(3 * (max_depth + 1), dtype=np.int64)
        self.heap = np.zeros(1 << 12, dtype=np.int64)
        self.arr_kind = np.zeros(64, dtype=np.int8)
        self.arr_off = np.zeros(64, dtype=np.int64)
        self.arr_len = np.zeros(64, dtype=np.int64)
        self.free_ids = np.zeros(64, dtype=np.int64)
        self.regs = np.zeros(L.REGISTERS, dtype=np.int64)
        self.counts = np.zeros(len(OPCODES), dtype=np.int64)
        self.calls = np.zeros(len(enc.codes), dtype=np.int64)
        self.counting = counting or max_steps is not None
        regs = self.regs
        regs[L.R_STEPS] = max_steps if max_steps is not None else 1 << 62
        regs[L.R_PC] = enc.fn_start[main]
        regs[L.R_FUNC] = main
        regs[L.R_SP] = enc.fn_nlocals[main]  # the main code's locals: nil

    def run(self) -> None:
        enc, regs = self.enc, self.regs
        watch = interrupts.current
        if watch is not None:
            watch.add_flag(lambda: regs.__setitem__(L.R_STOP, 1))
        while True:
            if watch is not None:
                watch.native += 1
            try:
                status = L.run(enc.code if self.counting else enc.fused, enc.const_tag, enc.const_val, enc.fn_start,
                               enc.fn_arity, enc.fn_nlocals, enc.fn_frame, self.stack, self.tags,
                               self.frames, self.heap, self.arr_kind, self.arr_off, self.arr_len,
                               self.free_ids, regs, self.counts, self.calls, self.counting,
                               self.max_depth)
            finally:
                if watch is not None:
                    watch.native -= 1
            if status == L.STOPPED and regs[L.R_STEPS] < 0:
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
        kind = int(self.arr_kind[payload])
        start = int(self.arr_off[payload])
        items = self.heap[start:start + int(self.arr_len[payload])]
        python_type = _PYTHON_TYPES[ELEM_TAGS[kind]]
        if kind == ELEM_FLOAT:
            return v.ToyArray(array("d", items.view(np.float64).tobytes()), float)
        return v.ToyArray(array(v.TYPECODES[python_type], items.tolist()), python_type)

    def print_line(self) -> None:
        regs = self.regs
        n = int(self.enc.code[2 * (regs[L.R_PC] - 1) + 1])
        sp = int(regs[L.R_SP])
        items = [self.value(int(self.tags[k]), int(self.stack[k])) for k in range(sp - n, sp)]
        self.output.line(" ".join(map(v.format_value, items)))
        regs[L.R_SP] = sp - n

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
            message = _type_error(int(regs[L.R_OP]), a, b, c)
        return ToyRuntimeError(message, self.traceback(), self.program.source_name)

    def traceback(self) -> list[tuple[str, int]]:
        """(function, line) per active frame, outermost first."""
        regs, enc = self.regs, self.enc
        places = [int(self.frames[3 * d + 1]) for d in range(int(regs[L.R_DEPTH]))]
        places.append(int(regs[L.R_PC]))
        trace = []
        for after in places:
            func, pc = enc.place(after - 1)
            code = enc.codes[func]
            trace.append((code.name, code.lines[pc]))
        return trace

    # --- room ---
    def grow_stack(self, need: int) -> None:
        size = max(need, 2 * len(self.stack))
        self.stack = np.concatenate([self.stack, np.zeros(size - len(self.stack), np.int64)])
        self.tags = np.concatenate([self.tags, np.zeros(size - len(self.tags), np.int8)])

    def make_room(self, need: int) -> None:
        """Collect the arrays no stack slot refers to (arrays cannot hold
        arrays, so the stack is all the roots there are), compact the heap,
        and grow the heap or the table if that is not enough."""
        regs = self.regs
        sp = int(regs[L.R_SP])
        count = int(regs[L.R_ARRAYS])
        live = np.zeros(count, dtype=bool)
        live[self.stack[:sp][self.tags[:sp] == ARRAY]] = True
        live_ids = np.flatnonzero(live)
        used = int(self.arr_len[live_ids].sum())
        size = max(len(self.heap), 2 * (used + need))
        heap = np.zeros(size, dtype=np.int64)
        top = 0
        for ident in live_ids:
            start, n = int(self.arr_off[ident]), int(self.arr_len[ident])
            heap[top:top + n] = self.heap[start:start + n]
            self.arr_off[ident] = top
            top += n
        self.heap = heap
        regs[L.R_HEAP] = top
        dead = np.flatnonzero(~live)
        if len(dead) == 0 and count == len(self.arr_kind):
            grown = 2 * len(self.arr_kind)
            for name in ("arr_kind", "arr_off", "arr_len", "free_ids"):
                old = getattr(self, name)
                setattr(self, name, np.concatenate([old, np.zeros(grown - len(old), old.dtype)]))
        self.free_ids[:len(dead)] = dead
        regs[L.R_FREE] = len(dead)


def _representative(code: int):
    """A value of the type a tag (or 10 + an array's element kind) stands for."""
    if code >= 10:
        python_type = _PYTHON_TYPES[ELEM_TAGS[code - 10]]
        return v.ToyArray(array(v.TYPECODES[python_type], [python_type(1)] * 2), python_type)
    if code == ARRAY:
        return _representative(10)
    return {NIL: None, BOOL: True, INT: 1, FLOAT: 1.0}[code]


def _type_error(op: int, a: int, b: int, c: int) -> str:
    """The message of a type error: the reference semantics' own, for
    operands of the types the loop reported."""
    from vmlab.interp import BINARY, COMPARISONS, UNARY
    from vmlab import opcodes as o

    info = OPCODES[op]
    rep = _representative
    try:
        if op in BINARY or op in COMPARISONS:
            ({**BINARY, **COMPARISONS})[op](rep(a), rep(b))
        elif op in UNARY:
            UNARY[op](rep(a))
        elif op in (o.JUMP_IF_FALSE, o.JUMP_IF_TRUE):
            raise v.condition_error(rep(a))
        elif op == o.FOR_PREP:
            v.check_range(rep(a), rep(b))
        elif op == o.INDEX:
            v.index(rep(a), rep(b))
        elif op == o.STORE_INDEX:
            v.store_index(rep(a), rep(b), rep(c))
        elif op == o.ARRAY_FILL:
            v.array_fill(rep(a), rep(b))
        elif op == o.ARRAY:
            v.array_literal([rep(a), rep(b)])
    except v.ToyError as error:
        return str(error)
    raise AssertionError(f"no type error for {info.name}")  # pragma: no cover


def run(program: Program, output, max_depth: int, stats=None,
        max_steps: int | None = None) -> None:
    """Run a program in the native interpreter (see vmlab.interp.run);
    `max_steps` bounds the instructions it executes."""
    machine = Machine(program, output, max_depth, stats is not None, max_steps)
    try:
        machine.run()
    finally:
        if stats is not None:
            stats.opcodes[:] = machine.counts.tolist()
            stats.calls[:] = machine.calls[:-1].tolist()
