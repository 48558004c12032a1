"""The boundary between compiled code and the host: errors, printing,
arrays, and calls in and out.

Compiled code never returns an error code through its callers: a runtime
error calls `rt_raise`, which records what happened in `rt_error` and
`longjmp`s straight back to the entry wrapper, which `setjmp`ed on the way
in. That keeps calls free of checks (and tail calls as tail calls). The
toy traceback comes from the shadow stack: `rt_shadow[d]` is the call site
that made the frame at depth d, which that frame writes there only if it
raises or calls on (jit.lower).

Compiled code sees an array as a pointer to a header {length, data, refs,
owner}; `refs` counts the references compiled code holds. The
interpreter's arrays (vmlab.values.ToyArray, elements in an array.array)
are shared, not copied: the host keeps one alive while its count is not
zero. Arrays compiled code makes are its own, in the C heap (jit.lower's
`new_array`, `rt_free`: no call into Python); one that reaches the interpreter (a
result, a side exit's state) becomes a ToyArray there. It can be copied
then: when control is back in the host, no native frame is left to see it.
"""

from __future__ import annotations

import bisect
import ctypes
import os
import struct
import sys
from array import array

from jit import engine
from jit.tiering import STACK_RESERVE
from jit.types import ELEMENTS, TAGS, apply, element, is_tagged, type_of
from vmlab import interrupts
from vmlab import values as v

# What rt_raise's `kind` means; the message comes from vmlab.values.
DIVISION_BY_ZERO, INDEX_ERROR, STACK_OVERFLOW, NEGATIVE_LENGTH, TOO_LONG, \
    TYPE_ERROR, OUT_OF_MEMORY, INTERRUPTED = range(1, 9)

# rt_print's `kind`: a value's tag (jit.types.TAGS), or a string constant.
PRINT_STRING = len(TAGS)

ERROR_FIELDS = 5  # kind, site, depth, a, b
# Before the shadow stack's first entry, two i64 words that compiled code
# reads at its calls and loops through the shadow stack pointer it passes
# along (a register), not through globals: the interrupt flag, set from
# outside to stop (vmlab.interrupts), and the call limit, the call depth at
# which a call fails, set to --max-depth on each entry from the interpreter.
# A stop sets the flag, then the limit to 0, so that the depth test of a
# call that may recurse catches both (jit.lower's check_depth; the entry
# wrapper, after setting the limit, looks at the flag again).
SHADOW_INTERRUPT, SHADOW_LIMIT = -2, -1  # i64 indexes from the shadow stack
SHADOW_HEADER = 4                        # i32 slots they take

# The memory check's marks on a freed array (Runtime.memcheck).
POISON_BYTE = 0xA5
POISONED = -(1 << 40)

RUNTIME_IR = r"""
; The runtime every compiled module links against.
@rt_jmpbuf = global [64 x i64] zeroinitializer, align 16  ; where errors jump to
@rt_error = global [5 x i64] zeroinitializer    ; kind, site, depth, a, b of the error
@rt_shadow = global ptr null                    ; i32 call site per call depth (SHADOW_HEADER)
@rt_exit = global ptr null                      ; where a side exit leaves pc, locals, stack
@rt_work = global i64 0                         ; calls and loop iterations in baseline code

declare void @longjmp(ptr, i32) noreturn

; `caller` is the call site that made the raising frame (at `depth`): its
; slot in the shadow stack, which it fills only on paths that call on.
define void @rt_raise(i64 %kind, i64 %site, i64 %depth, i64 %a, i64 %b, i32 %caller)
    noreturn cold noinline {
  %shadow = load ptr, ptr @rt_shadow
  %slot = getelementptr i32, ptr %shadow, i64 %depth
  store i32 %caller, ptr %slot
  store i64 %kind, ptr @rt_error
  %p1 = getelementptr i64, ptr @rt_error, i64 1
  store i64 %site, ptr %p1
  %p2 = getelementptr i64, ptr @rt_error, i64 2
  store i64 %depth, ptr %p2
  %p3 = getelementptr i64, ptr @rt_error, i64 3
  store i64 %a, ptr %p3
  %p4 = getelementptr i64, ptr @rt_error, i64 4
  store i64 %b, ptr %p4
  call void @longjmp(ptr @rt_jmpbuf, i32 1)
  unreachable
}

; Arrays compiled code makes live in one block of the C heap, the header
; {length, data, refs, owner} and the data right after it; `owner` is the
; element size (the host's headers say 0). jit.lower's new_array makes them,
; inlined; the last reference frees one here, and gives the host's arrays
; back to the host. With @rt_memcheck set, a freed block is poisoned and
; kept (Runtime.memcheck); @rt_live counts the blocks.
@rt_memcheck = global i64 0
@rt_live = global i64 0

declare void @free(ptr)
declare void @llvm.memset.p0.i64(ptr, i8, i64, i1)
declare void @rt_release(i64)

define void @rt_free(ptr %header) {
entry:
  %powner = getelementptr i64, ptr %header, i64 3
  %size = load i64, ptr %powner
  %host = icmp eq i64 %size, 0
  br i1 %host, label %to_host, label %here
to_host:
  %address = ptrtoint ptr %header to i64
  call void @rt_release(i64 %address)
  ret void
here:
  %live = load i64, ptr @rt_live
  %live1 = sub i64 %live, 1
  store i64 %live1, ptr @rt_live
  %check = load i64, ptr @rt_memcheck
  %keep = icmp ne i64 %check, 0
  br i1 %keep, label %poison, label %release
release:
  call void @free(ptr %header)
  ret void
poison:
  %n = load i64, ptr %header
  %bytes = mul i64 %n, %size
  %pdata = getelementptr i64, ptr %header, i64 1
  %data = load ptr, ptr %pdata
  call void @llvm.memset.p0.i64(ptr %data, i8 POISON_BYTE, i64 %bytes, i1 false)
  store i64 0, ptr %header
  %prefs = getelementptr i64, ptr %header, i64 2
  store i64 POISONED, ptr %prefs
  ret void
}

; A side exit: the frame's state is in @rt_exit; the interpreter takes over.
define void @rt_exit_jump() noreturn cold noinline {
  call void @longjmp(ptr @rt_jmpbuf, i32 2)
  unreachable
}
""".replace("POISON_BYTE", str(POISON_BYTE - 256)).replace("POISONED", str(POISONED))

# What an entry wrapper returns.
RETURNED, RAISED, EXITED = 0, 1, 2


class Header(ctypes.Structure):
    """The native view of a ToyArray."""
    _fields_ = [("length", ctypes.c_int64), ("data", ctypes.c_void_p),
                ("refs", ctypes.c_int64), ("owner", ctypes.c_int64)]


EXITED_EARLY = object()  # Runtime.call's answer after a side exit


class Symbols:
    """The numbers compiled code uses for places (a call or an error: an
    instruction) and print's string constants, so that the host can name
    them. Each is numbered across the whole program, the main code first:
    the program alone fixes the numbers, so code compiled in one run serves
    the next (jit.codecache)."""

    def __init__(self, program):
        self.codes = [program.main, *program.functions]  # by function number + 1
        self._instrs, self._consts = [0], [0]  # where each code's numbers start
        for code in self.codes:
            self._instrs.append(self._instrs[-1] + len(code.instrs))
            self._consts.append(self._consts[-1] + len(code.consts))

    def site(self, func: int, pc: int) -> int:
        return self._instrs[func + 1] + pc

    def place(self, site: int) -> tuple[str, int]:
        """(function name, source line) of a site."""
        i = bisect.bisect_right(self._instrs, site) - 1
        return self.codes[i].name, self.codes[i].lines[site - self._instrs[i]]

    def string(self, func: int, index: int) -> int:
        return self._consts[func + 1] + index

    def text(self, number: int) -> str:
        i = bisect.bisect_right(self._consts, number) - 1
        return self.codes[i].consts[number - self._consts[i]]


class NativeError(v.ToyError):
    """A runtime error in compiled code, with the toy frames it crossed."""

    def __init__(self, message: str, frames: list[tuple[str, int]], replaces_current: bool):
        super().__init__(message)
        self.frames, self.replaces_current = frames, replaces_current


_I64 = struct.Struct("<q")
_F64 = struct.Struct("<d")


def _float_bits(x: float) -> int:
    return _I64.unpack(_F64.pack(x))[0]


def _bits_float(bits: int) -> float:
    return _F64.unpack(_I64.pack(bits))[0]


class Runtime:
    """The host side for one run: callbacks, arrays, entering compiled code."""

    # An entry wrapper: (function, args, out) -> RETURNED, RAISED or EXITED.
    ENTRY = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
    EXITED_EARLY = EXITED_EARLY

    def __init__(self, program, output, max_depth: int, memcheck: bool | None = None):
        """`memcheck` (default: the environment variable VMLAB_JIT_MEMCHECK=1):
        poison the arrays compiled code frees and check the reference counts
        at the end (`check_memory`)."""
        self.output, self.max_depth = output, max_depth
        self.memcheck = (os.environ.get("VMLAB_JIT_MEMCHECK") == "1" if memcheck is None
                         else memcheck)
        self.freed: list[v.ToyArray] = []  # memcheck: poisoned, never really freed
        self.symbols = Symbols(program)
        self.arrays: dict[int, v.ToyArray] = {}  # header address -> array, while refs > 0
        self.adopted: dict[int, v.ToyArray] = {}  # a native array's -> its copy, until freed
        self._words, self._out = (ctypes.c_int64 * 16)(), (ctypes.c_int64 * 2)()  # call()'s
        self._line: list[str] = []
        self._shadow = (ctypes.c_int32 * (SHADOW_HEADER + max_depth + 2))()
        self._interrupt = ctypes.c_int64.from_buffer(self._shadow)  # (SHADOW_INTERRUPT)
        self._limit = ctypes.c_int64.from_buffer(self._shadow, 8)    # (SHADOW_LIMIT)
        global _current
        _current = self  # the callbacks reach the current run through it
        jit = engine.engine()
        if not getattr(jit, "runtime_loaded", False):
            jit.add(RUNTIME_IR, "runtime", engine.BASELINE)
            jit.runtime_loaded = True
        ctypes.c_void_p.from_address(jit.global_address("rt_shadow")).value = \
            ctypes.addressof(self._shadow) + 4 * SHADOW_HEADER
        self._exit = ctypes.c_void_p.from_address(jit.global_address("rt_exit"))
        self._error = (ctypes.c_int64 * ERROR_FIELDS).from_address(jit.global_address("rt_error"))
        self.use_stack(None)
        self.work = ctypes.c_int64.from_address(jit.global_address("rt_work"))
        ctypes.c_int64.from_address(jit.global_address("rt_memcheck")).value = self.memcheck
        self._live = ctypes.c_int64.from_address(jit.global_address("rt_live"))
        self._live.value = 0
        self._free = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(jit.address("rt_free"))
        self._interrupt.value = 0
        self._watch = None

    def use_stack(self, stack_bytes: int | None) -> None:
        """Compiled code runs on a thread stack of `stack_bytes` (None: the
        main thread's): the native stack it may use below its entry, and
        `frame_limit`, the largest native frame of a compiled function with
        which `max_depth` calls fit in it."""
        if stack_bytes is None:
            import resource
            soft, _ = resource.getrlimit(resource.RLIMIT_STACK)
            stack_bytes = soft if 0 < soft < (1 << 40) else 8 << 20
        self.stack_bytes = stack_bytes
        budget = max(stack_bytes - STACK_RESERVE, STACK_RESERVE // 2)
        self.frame_limit = budget // (self.max_depth + 1)

    def _raise_interrupt(self) -> None:
        self._interrupt.value = 1
        self._limit.value = 0  # (every call fails the depth test)

    # --- callbacks from compiled code ---
    def print_item(self, kind: int, bits: int) -> None:
        if kind == PRINT_STRING:
            self._line.append(self.symbols.text(bits))
        elif element(TAGS[kind]) is not None:
            # (A native array is copied to be printed: compiled code frees
            # it, so a copy kept in `adopted` would outlive the block.)
            arr = self.arrays.get(bits) or self._copy(TAGS[kind], bits)
            self._line.append(v.format_value(arr))
        else:
            self._line.append(v.format_value(self.decode(TAGS[kind], bits)))

    def print_end(self) -> None:
        self.output.line(" ".join(self._line))
        self._line.clear()

    # --- arrays ---
    def header(self, arr: v.ToyArray) -> Header:
        if arr.header is None:
            arr.header = Header(len(arr.items), arr.items.buffer_info()[0], 0, 0)
        return arr.header

    @staticmethod
    def _copy(type_: str, address: int) -> v.ToyArray:
        """A ToyArray with the elements of the native array at `address`."""
        header = Header.from_address(address)
        python_type = ELEMENTS[element(type_)]
        items = array(v.TYPECODES[python_type])
        items.frombytes(ctypes.string_at(header.data, header.length * header.owner))
        return v.ToyArray(items, python_type)

    def retain(self, arr: v.ToyArray) -> int:
        """One more reference from compiled code; the header's address."""
        header = self.header(arr)
        header.refs += 1
        address = ctypes.addressof(header)
        self.arrays[address] = arr
        return address

    def release(self, address: int) -> None:
        """Compiled code dropped its last reference."""
        arr = self.arrays.pop(address, None)
        # (Referenced by `arr` and getrefcount's argument only: nothing else
        # holds it, so this frees it.)
        if self.memcheck and arr is not None and sys.getrefcount(arr) == 2:
            self._poison(arr)
        if arr is None and self.adopted.pop(address, None) is not None:
            self._free(address)  # (a native array; the interpreter has its copy)

    def _poison(self, arr: v.ToyArray) -> None:
        """Fill a freed array with a pattern and keep its memory: compiled
        code that still reads it reads POISON_BYTE bytes or a length of 0,
        a wrong answer every time, not only when the memory is reused."""
        address, n = arr.items.buffer_info()
        ctypes.memset(address, POISON_BYTE, n * arr.items.itemsize)
        arr.header.length, arr.header.refs = 0, POISONED
        self.freed.append(arr)

    def check_memory(self) -> None:
        """At the end of a run that ended normally (memcheck): every
        reference compiled code took is given back, and no freed array was
        counted again. A failure is a bug in vmlab: RuntimeError."""
        if not self.memcheck:
            return
        leaked = [f"{v.format_value(a)[:40]} ({a.header.refs} references)"
                  for a in self.arrays.values()]
        touched = [v.format_value(a)[:40] for a in self.freed if a.header.refs != POISONED]
        if self._live.value:
            leaked.append(f"{self._live.value} array(s) compiled code made")
        if leaked or touched:
            raise RuntimeError("JIT memory check failed: "
                               + "; ".join([f"leaked {x}" for x in leaked] +
                                           [f"counted after it was freed: {x}"
                                            for x in touched]))

    # --- calls into compiled code ---
    def encode(self, type_: str, value) -> list[int]:
        """A value as the words compiled code takes for `type_`: a tag and
        a payload if that is a union, else the payload."""
        if is_tagged(type_):
            own = type_of(value)
            return [TAGS.index(own), *self.encode(own, value)]
        if type_ == "float":
            return [_float_bits(value)]
        if element(type_) is not None:
            return [self.retain(value)]
        return [int(value) if value is not None else 0]

    def decode_tagged(self, tag: int, bits: int):
        return self.decode(TAGS[tag], bits)

    def decode(self, type_: str, bits: int):
        if type_ == "int":
            return bits
        if type_ == "float":
            return _bits_float(bits)
        if type_ == "bool":
            return bits != 0
        if type_ == "nil":
            return None
        if bits == 0:
            return None  # an array local not assigned yet (side exits only)
        arr = self.arrays.get(bits)
        if arr is None:
            arr = self.adopted.get(bits)
            if arr is None:
                arr = self.adopted[bits] = self._copy(type_, bits)
            header = Header.from_address(bits)
        else:
            header = arr.header
        header.refs -= 1  # the caller's reference goes to the interpreter
        if header.refs == 0:
            self.release(bits)
        return arr

    def call(self, function, depth: int, arg_types, args, ret_type: str,
             replaces_current: bool, exit_buffer=None, borrowed=frozenset()):
        """Run compiled code with the interpreter's `args`: its result, or
        EXITED_EARLY after a side exit (the state is in `exit_buffer`); a
        runtime error raises NativeError with the native toy frames. The
        parameters in `borrowed` (jit.lower.borrowed) count no reference of
        their own: the one taken here for the call is given back after it."""
        words = [depth]
        for t, a in zip(arg_types, args, strict=True):
            words += [a] if t == "int" else self.encode(t, a)
        lent = [a for i, a in enumerate(args) if i in borrowed and type(a) is v.ToyArray]
        try:
            return self._enter(function, depth, words, ret_type, replaces_current, exit_buffer)
        finally:
            for arr in lent:  # (as native code's decref would)
                arr.header.refs -= 1
                if arr.header.refs == 0:
                    self.release(ctypes.addressof(arr.header))

    def _enter(self, function, depth: int, words: list[int], ret_type: str,
               replaces_current: bool, exit_buffer):
        if len(words) > len(self._words):  # (native code never calls back in here:
            self._words = (ctypes.c_int64 * len(words))()  # one buffer serves)
        self._words[:len(words)] = words
        out = self._out  # (a tagged result takes both words)
        if exit_buffer is not None:
            self._exit.value = ctypes.addressof(exit_buffer)
        watch = interrupts.current
        if watch is None:
            status = function(ctypes.addressof(self._words), ctypes.addressof(out))
        else:
            if watch is not self._watch:
                self._watch = watch
                watch.add_flag(self._raise_interrupt)
            watch.native += 1
            try:
                status = function(ctypes.addressof(self._words), ctypes.addressof(out))
            finally:
                watch.native -= 1
            watch.check()  # stopped while native code ran
        if status == RAISED:
            self._raise_error(depth, replaces_current)
        if status == EXITED:
            return EXITED_EARLY
        if ret_type == "int":
            return out[0]
        if is_tagged(ret_type):
            return self.decode_tagged(out[0], out[1])
        return self.decode(ret_type, out[0])

    def _raise_error(self, entry_depth: int, replaces_current: bool) -> None:
        kind, site, depth, a, b = self._error
        self._line.clear()
        if kind == DIVISION_BY_ZERO:
            error = v.division_by_zero()
        elif kind == INDEX_ERROR:
            error = v.index_error(a, b)
        elif kind == STACK_OVERFLOW:
            error = v.stack_overflow()
        elif kind == NEGATIVE_LENGTH:
            error = v.negative_length(a)
        elif kind == TOO_LONG:
            error = v.too_long(a)
        elif kind == TYPE_ERROR:  # the operation a, on operands of the tags packed in b
            types = tuple(TAGS[(b >> 3 * i) & 7] for i in range(v.operand_count(a)))
            error = v.ToyError(apply(v.OPERATIONS[a], types)[1])
        elif kind == INTERRUPTED:
            raise interrupts.Interrupted()  # (the watch knows why)
        else:
            raise MemoryError()  # reported as the interpreter's would be
        place = self.symbols.place
        frames = [place(self._shadow[SHADOW_HEADER + d]) for d in range(entry_depth + 1, depth + 1)]
        frames.append(place(site))
        raise NativeError(str(error), frames, replaces_current)


_current: Runtime | None = None


def _print_item(kind, bits):
    _current.print_item(kind, bits)


def _print_end():
    _current.print_end()


def _release(address):
    _current.release(address)


_CALLBACKS = [
    ("rt_print", ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_int64)(_print_item)),
    ("rt_print_end", ctypes.CFUNCTYPE(None)(_print_end)),
    ("rt_release", ctypes.CFUNCTYPE(None, ctypes.c_int64)(_release)),
]
for _name, _callback in _CALLBACKS:
    engine.add_symbol(_name, ctypes.cast(_callback, ctypes.c_void_p).value)

