"""Bytecode to LLVM IR, one function per specialization.

The translation is an abstract interpretation of the operand stack: every
local and every (stack depth, type) pair gets an `alloca`, each bytecode
instruction becomes a basic block that loads its operands from those slots
and stores its result, and LLVM's SROA pass turns the slots into SSA values
and phis. Types come from inference (jit.infer). A value of one type is a
plain machine value; a value of a union type is *tagged*, `{tag, payload}`
(jit.types), and every operation on it branches on the tags to the same code
a value of each type gets, or to the type error the interpreter raises for
them. Each operation is the plain machine operation plus the checks the SPEC
asks for: zero divisors, MIN / -1, array bounds, shift counts masked to 6
bits, saturating float-to-int, and the call-depth limit, in the
interpreter's order (vmlab.values: operand types, then bounds, then the
element type of a store).

A specialization's LLVM function takes the call depth and the call site
that called it first, in one word (pack_depth_site), the shadow stack
(rt_shadow, passed along: a load of the global per call cost fib a third of
its time), then its parameters (for an on-stack-replacement entry: the live
locals and stack values). The toy traceback needs that site only if this
frame raises or calls on: the frame at depth d writes it to the shadow
stack's slot d on its paths that raise (rt_raise does) and, if it makes
calls, once on entry. A function that calls nothing and is inlined, which
most small helpers are, costs no store at all: its site is a constant in
cold code. Python calls it through an entry wrapper, one per signature: it
reads the arguments from an i64 buffer (two words for a tagged value),
`setjmp`s for errors (jit.runtime), calls the function it is given, and
writes the result back.
"""

from __future__ import annotations

import functools

import llvmlite.ir as ir

from jit import runtime as rt
from jit.infer import Spec, array_literal_type, reaches
from jit.loops import CountedLoop, counted_loops, unrolled_loops
from jit.ranges import CheckedLoop, checked_loops
from jit.types import (
    BOTTOM, TAG, TAGS, UNSET, assigned, element, has_array, is_tagged, members, outcomes,
    result_type,
)
from vmlab import opcodes as op
from vmlab.code import in_loops, jump_sources
from vmlab.opcodes import OPCODES, Flow, stack_effect
from vmlab.values import MAX_ARRAY_LENGTH, OPERATIONS, operand_count

I1, I8, I32, I64 = ir.IntType(1), ir.IntType(8), ir.IntType(32), ir.IntType(64)
F64 = ir.DoubleType()
PTR = ir.PointerType()
HEADER = ir.LiteralStructType([I64, PTR, I64, I64])  # length, data, refs, owner: runtime.Header
TAGGED = ir.LiteralStructType([I64, I64])       # tag (jit.types.TAGS), payload word
_SCALARS = {"int": I64, "float": F64, "bool": I1, "nil": I8, "str": I64}
_ELEMENT_TYPES = {"int": I64, "float": F64, "bool": I8}
FIRST_ARRAY_TAG = min(TAG[t] for t in TAGS if t.startswith("array<"))  # arrays come last
# A function of at most this many bytecode instructions that does not call
# itself is always inlined where a module has a copy of it, in either tier
# (jit.compiler copies such callees into their callers' modules).
INLINE_SIZE = 60
# A function that calls itself is lowered as up to MAX_RECURSION_COPIES
# inlined copies, as long as the inlined body stays within
# RECURSION_BUDGET bytecode instructions: with s self-calls a body of n
# instructions inlined k deep is n * (1 + s + ... + s**(k-1)). fib (16
# instructions, 2 self-calls) gets 5 copies: ~1.0x C instead of 2.7x, for
# ~25 ms more compile time (docs/jit.md).
MAX_RECURSION_COPIES = 5
RECURSION_BUDGET = 512
# Iterations of a for loop between two polls for a stop (vmlab.interrupts).
CHUNK = 1 << 16


VOID = ir.VoidType()
# What compiled code calls and reads outside itself, declared in a module on
# its first use (ModuleBuilder.runtime): the runtime's functions and globals
# (jit/runtime.py defines them), the C library's and LLVM's intrinsics.
# Functions: symbol -> (return type, parameter types, attributes).
RUNTIME_FUNCTIONS = {
    "rt_raise": (VOID, [I64] * 5 + [I32], ("noreturn", "cold")),
    "rt_exit_jump": (VOID, [], ("noreturn",)),
    "rt_print": (VOID, [I64, I64], ()),
    "rt_print_end": (VOID, [], ()),
    "malloc": (PTR, [I64], ()),
    "llvm.memset.p0.i64": (VOID, [PTR, I8, I64, I1], ()),
    "rt_free": (VOID, [PTR], ()),
    "_setjmp": (I32, [PTR], ("returns_twice",)),
    "llvm.sqrt.f64": (F64, [F64], ()),
    "llvm.fabs.f64": (F64, [F64], ()),
    "llvm.fptosi.sat.i64.f64": (I64, [F64], ()),
}
# Globals: symbol -> type.
RUNTIME_GLOBALS = {
    "rt_jmpbuf": ir.ArrayType(I64, 64),
    "rt_shadow": PTR,
    "rt_exit": PTR,
    "rt_work": I64,
    "rt_live": I64,
}


def recursion_copies(spec: Spec) -> int:
    """How many levels of its own recursion one native call of `spec` runs,
    through the self-calls outside loops. A self-call inside a loop calls
    the function itself, not a copy: each copy would sit in the loop of the
    one above, and LLVM, unrolling those loops, multiplies them (Are We
    Fast Yet's Queens, eight iterations deep: 2.4 s to compile, and machine
    code 14x slower than C's). Permute's first call, before its loop, gets
    copies."""
    looped = in_loops(spec.code)
    sites = len([pc for pc, c in spec.callees.items() if c.key == spec.key and pc not in looped])
    copies, size, width = 1, len(spec.code.instrs), 1
    while sites and copies < MAX_RECURSION_COPIES:
        width *= sites
        size += len(spec.code.instrs) * width
        if size > RECURSION_BUDGET:
            break
        copies += 1
    return copies


def pack_depth_site(b, depth, site: int):
    """A function's first argument: the call depth in the low 32 bits, the
    call site that called it in the high ones (one register for both: with
    a separate site, a function of four parameters took its seventh
    argument from the native stack)."""
    return b.or_(depth, const(I64, site << 32))


def unpack_depth_site(b, word):
    """The call depth (an i64) and the site (an i32) of pack_depth_site."""
    return (b.and_(word, const(I64, 0xFFFFFFFF), name="depth"),
            b.trunc(b.lshr(word, const(I64, 32)), I32, name="site"))


# What a leaf split's prefix may not do: keep a value in a local (the body
# starts again from the arguments) or loop by count (for simplicity).
PREFIX_BARRED = frozenset((op.STORE_LOCAL, op.FOR_PREP, op.FOR_ITER))
SPLIT_CANDIDATES = 16


def leaf_split(spec: Spec, inlined) -> tuple[int, frozenset[int]] | None:
    """Where to split a recursive function in two (None: nowhere): an offset
    `at`, with an empty operand stack, such that the code reachable from the
    entry without passing `at` (the prefix) assigns no local, calls only
    functions that `inlined(callee)` says are inlined (so that it makes no
    native call: Towers' move_top_disk), and can return. The function's own
    symbol is then the prefix, and at `at` it tail-calls the body, the
    whole function started at `at`. A call
    that returns from the prefix (a leaf: permute(0), fib(1)) then touches
    neither callee-saved registers nor the native stack (LLVM's
    shrink-wrapping needs a function with no call on that path, and the
    register allocator spills the arguments at the entry of one that
    calls): Permute's leaf was 30 instructions where C's is 4. Not in OSR
    entries, whose state comes from the interpreter."""
    if spec.is_osr or not reaches(spec, spec):
        return None
    instrs, states = spec.code.instrs, spec.states

    def successors(pc: int):
        opcode, arg = instrs[pc]
        flow = OPCODES[opcode].flow
        if pc in spec.errors or flow == Flow.RETURN:
            return ()
        nexts = ((arg,) if flow == Flow.JUMP else (pc + 1, arg) if flow == Flow.BRANCH
                 else (pc + 1,))
        return [n for n in nexts if states[n] is not None]

    def prefix(at: int) -> frozenset[int] | None:
        seen, work, returns = {spec.entry}, [spec.entry], False
        while work:
            pc = work.pop()
            if instrs[pc][0] in PREFIX_BARRED or (
                    pc in spec.callees and not inlined(spec.callees[pc])):
                return None
            returns = returns or OPCODES[instrs[pc][0]].flow == Flow.RETURN
            for n in successors(pc):
                if n != at and n not in seen:
                    seen.add(n)
                    work.append(n)
        return frozenset(seen) if returns else None

    branched = [pc for pc, (opcode, arg) in enumerate(instrs)
                if states[pc] is not None and OPCODES[opcode].flow == Flow.BRANCH]
    candidates = sorted({n for pc in branched for n in successors(pc)
                         if n != spec.entry and not states[n][1]})
    for at in candidates[:SPLIT_CANDIDATES]:
        found = prefix(at)
        if found is not None:
            return at, found
    return None


def borrowed(spec: Spec) -> frozenset[int]:
    """The parameters `spec` borrows: those it never assigns. Its caller
    keeps its own reference to each for the call, so the callee counts none
    (a call passing four arrays counted eight times: Are We Fast Yet's
    Queens). Not in an OSR entry, whose locals come from the interpreter."""
    if spec.is_osr:
        return frozenset()
    stored = {arg for opcode, arg in spec.code.instrs if opcode == op.STORE_LOCAL}
    return frozenset(p for p in range(spec.code.arity) if p not in stored)


def llvm_type(type_: str):
    if is_tagged(type_):
        return TAGGED
    return PTR if element(type_) is not None else _SCALARS[type_]


def const(type_, value):
    return ir.Constant(type_, value)


class ModuleBuilder:
    """One LLVM module: a specialization and the ones it calls, or an entry wrapper."""

    def __init__(self, name: str, symbols: rt.Symbols, max_depth: int,
                 baseline: bool = False, tier_up: int | None = None, debug: str | None = None,
                 size_type: ir.IntType = I64, full_target: bool = False):
        """`max_depth` is compiled in as a constant; the runtime's globals
        are external symbols, which the engine resolves when it links the
        module, so that nothing in the code depends on the process (a code
        cache keeps it: jit.codecache). `baseline`: for the baseline tier.

        With `tier_up` (baseline code), the module's code counts its calls and
        loop back-edges in rt_work, and an OSR entry leaves at a loop
        back-edge once the count reaches `tier_up`, for the interpreter to
        enter optimized code instead.

        With `debug` (the program's file name), every instruction carries
        the source line and bytecode offset it came from as a debug location
        (column: offset + 1), which the assembly shows (`--jit-dump`).
        Locations change no code, but cost compile time: runs have none.

        `size_type`: the target C library's size_t, which malloc takes
        (i32 on wasm32: jit.build). `full_target`: the target honours
        `musttail`, `preserve_mostcc` and volatile loads as one load
        (jit.engine.is_full_target), so recursive functions may get leaf
        splits (leaf_split), prints keep the caller's registers
        (call_keeping) and optimized code polls with a volatile load
        (FunctionLowering.poll)."""
        self.module = ir.Module(name=name)
        self.full_target = full_target
        self.size_type = size_type
        self.symbols, self.max_depth = symbols, max_depth
        self.baseline, self.tier_up = baseline, tier_up
        self._refcounts = self._new_array = None
        self._tbaa: dict[str, object] = {}
        self.debug, self._unit = debug, None
        self.functions: dict[tuple, ir.Function] = {}
        self.slotted: set = set()  # keys of callees to call through their slots
        self.in_bounds_copies: list[tuple] = []  # (spec, function, proven) to lower
        self.split: set = set()  # keys of the functions with a leaf split

    def runtime(self, symbol: str):
        """The function or global `symbol` of RUNTIME_FUNCTIONS or
        RUNTIME_GLOBALS, declared in this module on first use: most modules
        need few, and every declaration costs time to print and parse."""
        value = self.module.globals.get(symbol)
        if value is not None:
            return value
        if symbol in RUNTIME_FUNCTIONS:
            ret, params, attributes = RUNTIME_FUNCTIONS[symbol]
            if symbol == "malloc":
                params = [self.size_type]
            value = ir.Function(self.module, ir.FunctionType(ret, params), symbol)
            for attribute in attributes:
                value.attributes.add(attribute)
        else:
            value = ir.GlobalVariable(self.module, RUNTIME_GLOBALS[symbol], symbol)
            value.linkage = "external"
        return value

    def call_keeping(self, b: ir.IRBuilder, symbol: str, args):
        """Call the runtime's `symbol` through a wrapper that keeps the
        caller's registers (`preserve_mostcc`: all but r11 on x86-64), where
        the target has one. A print on a cold path (Towers' "Cannot put a
        big disk on a smaller one") then costs the hot path no callee-saved
        registers: values live across it stay where they are."""
        target = self.runtime(symbol)
        if not self.full_target:
            return b.call(target, args)
        name = symbol + ".keeping"
        wrapper = self.module.globals.get(name)
        if wrapper is None:
            wrapper = ir.Function(self.module, target.function_type, name)
            wrapper.linkage = "internal"
            wrapper.calling_convention = "preserve_mostcc"
            wrapper.attributes.add("noinline")
            wrapper.attributes.add("cold")
            wb = ir.IRBuilder(wrapper.append_basic_block())
            wb.call(target, wrapper.args)
            wb.ret_void()
        return b.call(wrapper, args)

    def subprogram(self, fn: ir.Function, line: int):
        """With `debug`: `fn`'s debug scope (its DISubprogram), else None."""
        if self.debug is None:
            return None
        m = self.module
        if self._unit is None:
            file = m.add_debug_info("DIFile", {"filename": self.debug, "directory": ""})
            unit = m.add_debug_info("DICompileUnit", {
                "language": ir.DIToken("DW_LANG_C"), "file": file, "producer": "vmlab",
                "isOptimized": not self.baseline, "runtimeVersion": 0,
                "emissionKind": ir.DIToken("LineTablesOnly")}, is_distinct=True)
            m.add_named_metadata("llvm.dbg.cu", unit)
            m.add_named_metadata("llvm.module.flags", m.add_metadata(
                [const(I32, 2), ir.MetaDataString(m, "Debug Info Version"), const(I32, 3)]))
            self._unit = (file, unit, m.add_debug_info(
                "DISubroutineType", {"types": m.add_metadata([])}))
        file, unit, kind = self._unit
        scope = m.add_debug_info("DISubprogram", {
            "name": fn.name, "file": file, "line": line, "type": kind, "unit": unit,
            "spFlags": ir.DIToken("DISPFlagDefinition")}, is_distinct=True)
        fn.set_metadata("dbg", scope)
        return scope

    def tbaa(self, instruction, kind: str):
        """Say which memory `instruction` reads or writes (LLVM's type-based
        alias analysis): "header" (an array's length and data pointer,
        which compiled code never writes), "refs" (its reference count), an
        element type (an array's data), "shadow" (the shadow stack's call
        sites) or "limit" (the call limit). Accesses of different kinds
        never alias, so stores to elements and counts leave lengths, data
        pointers and other arrays' elements in registers. (Calls still
        clobber all memory: the runtime writes headers, and frees.)"""
        tags = self._tbaa
        if kind not in tags:
            if not tags:
                tags[""] = self.module.add_metadata([ir.MetaDataString(self.module, "vmlab")])
            node = self.module.add_metadata([ir.MetaDataString(self.module, kind), tags[""],
                                             const(I64, 0)])
            tags[kind] = self.module.add_metadata([node, node, const(I64, 0)])
        instruction.set_metadata("tbaa", tags[kind])
        return instruction

    @property
    def incref(self) -> ir.Function:
        return self._refcount_helpers()[0]

    @property
    def decref(self) -> ir.Function:
        return self._refcount_helpers()[1]

    def _refcount_helpers(self):
        """incref(header) and decref(header): the count of references compiled
        code holds; at zero `rt_free` frees the array or gives it back to the
        host. (Made on first use: most modules have no arrays.)"""
        if self._refcounts is not None:
            return self._refcounts
        helpers = []
        for name, delta in (("incref", 1), ("decref", -1)):
            fn = ir.Function(self.module, ir.FunctionType(VOID, [PTR]), name)
            fn.linkage = "internal"
            fn.attributes.add("alwaysinline")
            b = ir.IRBuilder(fn.append_basic_block("entry"))
            refs = b.gep(fn.args[0], [const(I32, 0), const(I32, 2)], source_etype=HEADER)
            count = b.add(self.tbaa(b.load(refs, typ=I64), "refs"), const(I64, delta),
                          name="refs")
            self.tbaa(b.store(count, refs), "refs")
            if delta < 0:
                with b.if_then(b.icmp_signed("==", count, const(I64, 0)), likely=False):
                    b.call(self.runtime("rt_free"), [fn.args[0]])
            b.ret_void()
            helpers.append(fn)
        self._refcounts = helpers
        return helpers

    @property
    def new_array(self) -> ir.Function:
        """new_array(size, n, fill): a header for `n` elements of `size`
        bytes, each `fill`, with the data right after it in one block of the
        C heap (jit.runtime: `owner` is the element size), and one
        reference; null when out of memory. Inlined: LLVM sees malloc's
        fresh memory, so arrays made here alias nothing else, their length
        and data pointer are known, and their first values too."""
        if self._new_array is not None:
            return self._new_array
        fn = self._new_array = ir.Function(self.module, ir.FunctionType(PTR, [I64, I64, I64]),
                                           "new_array")
        fn.linkage = "internal"
        fn.attributes.add("alwaysinline")
        size, n, fill = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        malloc = self.runtime("malloc")
        malloc.return_value.add_attribute("noalias")
        bytes_ = b.mul(n, size)
        amount = b.add(bytes_, const(I64, 32))
        if self.size_type != I64:  # (MAX_ARRAY_LENGTH doubles fit in 32 bits)
            amount = b.trunc(amount, self.size_type)
        block = b.call(malloc, [amount], name="block")
        with b.if_then(b.icmp_unsigned("==", block, ir.Constant(PTR, None)), likely=False):
            b.ret(block)
        live = self.runtime("rt_live")
        b.store(b.add(b.load(live, typ=I64), const(I64, 1)), live)
        data = b.gep(block, [const(I64, 32)], source_etype=I8, name="data")
        fields = ((0, n, "header"), (1, data, "header"), (2, const(I64, 1), "refs"),
                  (3, size, "header"))
        for field, value, kind in fields:
            self.tbaa(b.store(value, b.gep(block, [const(I32, 0), const(I32, field)],
                                           source_etype=HEADER)), kind)
        # A fill that is one byte repeated (bools, 0, -1) is a memset, else a loop.
        repeated = b.mul(b.and_(fill, const(I64, 255)), const(I64, 0x0101010101010101))
        bytewise = b.or_(b.icmp_unsigned("!=", size, const(I64, 8)),
                         b.icmp_unsigned("==", repeated, fill))
        with b.if_else(bytewise) as (memset, loop):
            with memset:
                b.call(self.runtime("llvm.memset.p0.i64"),
                       [data, b.trunc(fill, I8), bytes_, const(I1, 0)])
            with loop:
                head = b.block
                body, done = fn.append_basic_block("fill"), fn.append_basic_block("filled")
                b.cbranch(b.icmp_signed(">", n, const(I64, 0)), body, done)
                b.position_at_end(body)
                i = b.phi(I64)
                b.store(fill, b.gep(data, [i], source_etype=I64))  # (int or float bits)
                following = b.add(i, const(I64, 1))
                i.add_incoming(const(I64, 0), head)
                i.add_incoming(following, body)
                b.cbranch(b.icmp_signed("<", following, n), body, done)
                b.position_at_end(done)
        b.ret(block)
        return fn

    def count_reference(self, b, value, type_: str, delta: int) -> None:
        """One reference more or less to `value` if it is an array (a tagged
        value: if its tag says so)."""
        helper = self.incref if delta > 0 else self.decref
        if element(type_) is not None:
            b.call(helper, [value])
        elif is_tagged(type_) and has_array(type_):
            array = b.icmp_unsigned(">=", b.extract_value(value, 0), const(I64, FIRST_ARRAY_TAG))
            with b.if_then(array):
                b.call(helper, [b.inttoptr(b.extract_value(value, 1), PTR)])

    # --- functions ---
    def function(self, spec: Spec, symbol: str | None = None) -> ir.Function:
        """The LLVM function of a specialization: internal to this module,
        or, with `symbol`, that global symbol (defined here or elsewhere)."""
        fn = self.functions.get(spec.key)
        if fn is None:
            ret, params = signature(spec)
            names = {f.name for f in self.functions.values()}
            name = symbol or spec.name()
            while name in names:
                name += "'"
            fn = ir.Function(self.module, ir.FunctionType(ret, [I64, PTR, *params]), name)
            fn.linkage = "external" if symbol else "internal"
            if not symbol and len(spec.code.instrs) <= INLINE_SIZE and not reaches(spec, spec):
                fn.attributes.add("alwaysinline")
            fn.args[0].name, fn.args[1].name = "depth_site", "shadow"
            for arg, (where, slot, _) in zip(fn.args[2:], parameters(spec), strict=True):
                arg.name = spec.code.local_names[slot] if where == "local" else f"stack{slot}"
            self.functions[spec.key] = fn
        return fn

    def slot(self, symbol: str, defined: bool = False) -> ir.GlobalVariable:
        """A baseline function's call slot, `<symbol>.slot`: where baseline
        code in other modules finds its code. It holds the function (its
        own module defines it so); once the function has optimized code,
        the compiler writes that there (jit.compiler), so that callers
        compiled before it run it from their next call, as HotSpot and V8
        patch call targets."""
        name = f"{symbol}.slot"
        slot = self.module.globals.get(name)
        if slot is None:
            slot = ir.GlobalVariable(self.module, PTR, name)
            if defined:
                slot.initializer = self.module.get_global(symbol)  # (defined first)
        return slot

    def define(self, spec: Spec, symbol: str | None = None) -> None:
        fn = self.function(spec, symbol)
        if symbol is not None and self.baseline:
            self.slot(symbol, defined=True)
        split = (leaf_split(spec, self.inlined) if self.full_target and not self.baseline
                 else None)
        if split is None:
            FunctionLowering(self, spec, fn).lower()
        else:  # (see leaf_split)
            body = self.variant(spec, "body", "noinline")
            split = (*split, body)
            self.split.add(spec.key)
            FunctionLowering(self, spec, body, start=split[0]).lower()
            FunctionLowering(self, spec, fn, split=split).lower()
        for copy in range(1, self.copies(spec)):
            FunctionLowering(self, spec, self.recursion_copy(spec, copy), copy).lower()
        if split is not None and (spec.key, "leaf") in self.functions:
            FunctionLowering(self, spec, self.functions[spec.key, "leaf"], split=split).lower()
        while self.in_bounds_copies:
            spec, fn, proven = self.in_bounds_copies.pop()
            FunctionLowering(self, spec, fn, proven=proven).lower()

    def inlined(self, spec: Spec) -> bool:
        """Will LLVM inline every call of `spec` in this module, and its
        calls? (Those copied in that are `alwaysinline`: ModuleBuilder.function.)"""
        fn = self.functions.get(spec.key)
        return (fn is not None and "alwaysinline" in fn.attributes
                and all(self.inlined(callee) for callee in spec.callees.values()))

    def in_bounds_copy(self, spec: Spec, proven: frozenset[int]) -> ir.Function:
        """A copy of an inlined function without the bounds checks at the
        offsets `proven`, for a versioned loop (jit.ranges) whose test
        before it proved them for its call; lowered once the function
        being lowered is done."""
        key = (spec.key, proven)
        fn = self.functions.get(key)
        if fn is None:
            fn = self.functions[key] = self.variant(spec, "in-bounds")
            self.in_bounds_copies.append((spec, fn, proven))
        return fn

    def copies(self, spec: Spec) -> int:
        """Levels of its own recursion one native call of `spec` runs: none
        more in baseline code, whose -O0 frames, one per inlined level, would
        exhaust the native stack before the call limit."""
        return 1 if self.baseline else recursion_copies(spec)

    def recursion_copy(self, spec: Spec, copy: int) -> ir.Function:
        """Copy `copy` of a function that calls itself: copy i calls copy
        i + 1, the last calls the original. The copies are inlined, so one
        native call runs several levels of the recursion (as gcc's recursive
        inlining does); each level keeps its own checks. Copy 0 of a
        function with a leaf split is its prefix inlined (`#leaf`, which
        calls the body): a leaf call (Towers' disks == 1) then makes no
        native call at all. (LLVM inlines a prefix as small as Permute's
        by itself; not Towers', which has move_top_disk in it.)"""
        if copy == 0:
            if spec.key not in self.split:
                return self.function(spec)
            key = (spec.key, "leaf")
            if key not in self.functions:
                self.functions[key] = self.variant(spec, "leaf")
            return self.functions[key]
        key = (spec.key, copy)
        fn = self.functions.get(key)
        if fn is None:
            fn = self.functions[key] = self.variant(spec, str(copy))
        return fn

    def variant(self, spec: Spec, suffix: str, attribute: str = "alwaysinline") -> ir.Function:
        """A new internal function with the type and parameter names of
        `spec`'s, named `<its name>#<suffix>` (primed until unique): a leaf
        split's body, a recursion copy, an in-bounds copy."""
        original = self.function(spec)
        name = f"{original.name}#{suffix}"
        while name in self.module.globals:
            name += "'"
        fn = ir.Function(self.module, original.function_type, name)
        fn.linkage = "internal"
        fn.attributes.add(attribute)
        for arg, named in zip(fn.args, original.args, strict=True):
            arg.name = named.name
        return fn

    def entry(self, ret, params: list) -> str:
        """`i64 wrapper(ptr function, ptr args, ptr out)` for functions of
        the LLVM type `ret (i64 depth_site, ptr shadow, *params)`:
        runtime.RETURNED, RAISED or EXITED. It depends on the signature
        only, so the process compiles one per signature, not one per
        function (jit.tiering); its symbol."""
        symbol = f"vmlab.entry({', '.join(map(str, params))}) -> {ret}"
        called = ir.FunctionType(ret, [I64, PTR, *params])
        fn = ir.Function(self.module, ir.FunctionType(I64, [ir.PointerType(called), PTR, PTR]),
                         symbol)
        function, args, out = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        first = b.call(self.runtime("_setjmp"), [self.runtime("rt_jmpbuf")], name="setjmp")
        run, fail = fn.append_basic_block("run"), fn.append_basic_block("error")
        b.cbranch(b.icmp_signed("==", first, const(I32, 0)), run, fail)
        b.position_at_end(fail)
        b.ret(b.zext(first, I64))  # longjmp's value: RAISED or EXITED
        b.position_at_end(run)
        shadow = b.load(self.runtime("rt_shadow"), typ=PTR)
        limit = shadow_word(b, shadow, rt.SHADOW_LIMIT)
        b.store(const(I64, self.max_depth), limit)
        # A stop asked for before this entry lowers the limit to 0
        # (rt.SHADOW_LIMIT); one asked for later does it itself.
        b.fence("seq_cst")
        flag = b.load_atomic(shadow_word(b, shadow, rt.SHADOW_INTERRUPT), "seq_cst", 8, typ=I64)
        with b.if_then(b.icmp_signed("!=", flag, const(I64, 0)), likely=False):
            b.store(const(I64, 0), limit)
        words = iter(range(1 + 2 * len(params)))

        def word():
            return b.load(b.gep(args, [const(I64, next(words))], source_etype=I64), typ=I64)
        values = [word(), shadow]
        for type_ in params:
            values.append(tagged(b, word(), word()) if type_ == TAGGED else
                          from_word(b, word(), type_))
        result = b.call(function, values)  # (the host's frame has no site: 0)
        if isinstance(ret, ir.VoidType):  # (the function never returns)
            b.unreachable()
            return symbol
        if ret == TAGGED:
            b.store(b.extract_value(result, 0), out)
            result = b.extract_value(result, 1)
            out = b.gep(out, [const(I64, 1)], source_etype=I64)
        b.store(to_word(b, result), out)
        b.ret(const(I64, 0))
        return symbol


def signature(spec: Spec):
    """(return type, parameter types) of a specialization's LLVM function,
    after the call depth: what its entry wrapper depends on."""
    ret = VOID if spec.ret == BOTTOM else llvm_type(spec.ret)
    return ret, [llvm_type(t) for _, _, t in parameters(spec)]


def parameters(spec: Spec) -> list[tuple[str, int, str]]:
    """("local" or "stack", slot, type) of each value a specialization takes:
    the arguments of a call, or the live locals and stack of an OSR entry."""
    if not spec.is_osr:
        return [("local", i, t) for i, t in enumerate(spec.entry_locals[: spec.code.arity])]
    return ([("local", i, t) for i, t in enumerate(spec.entry_locals) if t != UNSET] +
            [("stack", i, t) for i, t in enumerate(spec.entry_stack)])


def from_word(b, word, type_):
    """An i64 word as a value of the LLVM type `type_` (not TAGGED)."""
    if type_ == F64:
        return b.bitcast(word, F64)
    if type_ == I1:
        return b.trunc(word, I1)
    if type_ == I8:  # nil
        return const(I8, 0)
    if type_ == PTR:
        return b.inttoptr(word, PTR)
    return word


def to_word(b, value):
    """A value (not tagged) as the i64 word the host and tagged values hold."""
    if value.type == F64:
        return b.bitcast(value, I64)
    if value.type in (I1, I8):
        return b.zext(value, I64)
    if value.type == PTR:
        return b.ptrtoint(value, I64)
    return value


class VolatileLoad(ir.LoadInstr):
    """`load volatile`, which llvmlite's builder does not write."""

    def descr(self, buf):
        line = []
        super().descr(line)
        buf.append(line[0].replace("load ", "load volatile ", 1))


def shadow_word(b, shadow, index: int):
    """The address of one of the i64 words before the shadow stack
    (runtime.SHADOW_INTERRUPT, SHADOW_LIMIT)."""
    return b.gep(shadow, [const(I64, index)], source_etype=I64)


def tagged(b, tag, word):
    """The tagged value {tag, word}."""
    return b.insert_value(b.insert_value(ir.Constant(TAGGED, ir.Undefined), tag, 0), word, 1)


def convert(b, value, from_type: str, to_type: str):
    """A value of type `from_type` as one of type `to_type`: tagged if that
    is a union, or, from a union, unboxed to the member it is known to hold."""
    if from_type == to_type or (is_tagged(from_type) and is_tagged(to_type)):
        return value
    if is_tagged(to_type):
        return tagged(b, const(I64, TAG[from_type]), to_word(b, value))
    assert is_tagged(from_type), (from_type, to_type)
    return from_word(b, b.extract_value(value, 1), llvm_type(to_type))


def tag_and_word(b, value, type_: str):
    """(tag, payload word) of a value, as a tagged value would hold it."""
    if is_tagged(type_):
        return b.extract_value(value, 0), b.extract_value(value, 1)
    return const(I64, TAG[type_]), to_word(b, value)


OWNED = -1  # a stack entry's owner when it holds its own reference (or is no array)


def ownership(spec: Spec) -> list:
    """Per pc, who owns each array on the operand stack: the local it was
    loaded from (borrowed: no reference of its own, none to drop), or OWNED.

    Borrowing saves a count up and down for every `a[i]`. A borrowed entry
    becomes owned (its count goes up) before its local is overwritten, when
    it is stored, passed or returned, and where paths that disagree meet."""
    code, states = spec.code, spec.states
    owners: list = [None] * len(states)
    owners[spec.entry] = (OWNED,) * len(spec.entry_stack)
    work = [spec.entry]

    def flow(target, stack) -> None:
        if states[target] is None:
            return
        old = owners[target]
        merged = stack if old is None else tuple(a if a == b else OWNED
                                                 for a, b in zip(old, stack, strict=True))
        if merged != old:
            owners[target] = merged
            work.append(target)

    while work:
        pc = work.pop()
        if pc in spec.errors or pc in spec.exits:
            continue
        stack = owners[pc]
        opcode, arg = code.instrs[pc]
        info = OPCODES[opcode]
        if opcode == op.LOAD_LOCAL:
            after = stack + ((arg if has_array(spec.local_types[arg]) else OWNED),)
        elif opcode == op.STORE_LOCAL:
            after = tuple(OWNED if o == arg else o for o in stack[:-1])
        elif opcode == op.CALL:
            callee = spec.callees[pc]
            after = stack[: len(stack) - callee.code.arity] + (OWNED,)
        else:
            pops, pushes = stack_effect(opcode, arg)
            after = stack[: len(stack) - pops] + (OWNED,) * pushes
        if opcode == op.FOR_ITER:
            flow(arg, stack[:-2])
        elif info.flow in (Flow.JUMP, Flow.BRANCH):
            flow(arg, after)
        if info.flow in (Flow.NEXT, Flow.BRANCH) and not (
                opcode == op.CALL and spec.callees[pc].ret == BOTTOM):
            flow(pc + 1, after)
    return owners


def _packed(b, items) -> ir.Value:
    """The tags of an operation's operands, three bits each: what the host
    needs to name their types in a type error (rt.TYPE_ERROR)."""
    word = const(I64, 0)
    for i, (value, type_) in enumerate(items):
        tag = b.extract_value(value, 0) if is_tagged(type_) else const(I64, TAG[type_])
        word = b.or_(word, b.shl(tag, const(I64, 3 * i)))
    return word


class FunctionLowering:
    """The LLVM function of one specialization.

    Within a basic block the operand stack is a Python list of SSA values;
    only where blocks meet is it spilled to (and reloaded from) the stack
    slots, which SROA then turns into phis. That keeps the IR small, which is
    most of the compile time."""

    def __init__(self, mb: ModuleBuilder, spec: Spec, fn: ir.Function, copy: int = 0,
                 start: int | None = None, split: tuple | None = None,
                 proven: frozenset[int] = frozenset()):
        """`start`: the offset the function starts at (a leaf split's body);
        `split`: (offset, the prefix's offsets, the body's function) for a
        leaf split's prefix (see leaf_split); `proven`: the INDEX and
        STORE_INDEX offsets whose bounds its caller proved (a copy of a
        helper that a versioned loop calls: ModuleBuilder.in_bounds_copy)."""
        self.mb, self.spec, self.fn, self.copy = mb, spec, fn, copy
        self.start = spec.entry if start is None else start
        self.split = split
        self.looped = in_loops(spec.code)  # offsets inside loops
        self.code = spec.code
        self.shadow = fn.args[1]  # (the shadow stack, as rt_shadow)
        self.limit = None  # the call limit, read on entry (check_depth)
        # Every alloca goes in the entry block (the only ones SROA promotes);
        # the prologue follows it.
        self.allocas = ir.IRBuilder(fn.append_basic_block("entry"))
        self.depth, self.site = unpack_depth_site(self.allocas, fn.args[0])
        self.prologue = fn.append_basic_block("prologue")
        self.b = ir.IRBuilder()
        self.blocks = {pc: fn.append_basic_block(f"pc{pc}") for pc in self._leaders()}
        self.local_slots: dict[int, ir.AllocaInstr] = {}
        self.stack_slots: dict[tuple[int, str], ir.AllocaInstr] = {}
        self.chunk_slots: dict[int, ir.AllocaInstr] = {}
        self.inner_blocks: dict[int, ir.Block] = {}
        self.outer_blocks: dict[int, ir.Block] = {}
        self.stack: list[tuple] = []  # (value, type, owner): owner OWNED or a local
        self.owners_at = ownership(spec)
        # An array local's length and data pointer, kept beside it: after SROA
        # they are plain values, loop-invariant wherever the local is.
        self.fields: dict[int, tuple] = {}
        self.counts_work = mb.tier_up is not None and copy == 0
        self.borrowed = borrowed(spec)  # (parameters: no reference of their own)
        self.counted = counted_loops(self.code, spec)  # by header pc
        self.counted_tests = {loop.test: loop for loop in self.counted.values()}
        # Small while loops lowered twice (jit.loops.unrolled_loops): the
        # second copy's blocks by (the versioned loop being lowered, header),
        # and while one is lowered, its header and the first copy's blocks.
        self.unrolled = ({} if mb.baseline or split is not None
                         else unrolled_loops(self.code, spec, self.counted))
        self.second: dict[tuple, dict[int, ir.Block]] = {}
        self.second_of: tuple[int, dict] | None = None
        # Offsets inside a while loop that polls at every back-edge (not a
        # for loop's or a counted loop's, which poll once a strip).
        self.polled = {pc for back, (opcode, header) in enumerate(self.code.instrs)
                       if opcode == op.JUMP and header <= back and header not in self.counted
                       and self.code.instrs[header][0] != op.FOR_ITER
                       for pc in range(header, back + 1)}
        # Range-check elimination (jit.ranges): each versioned loop's copy
        # without checks, its blocks by pc; while one is lowered, the
        # accesses that need no check, and the calls that run a copy of
        # their callee with fewer checks (by pc).
        self.checked = {} if mb.baseline else checked_loops(self.code, spec, mb.inlined)
        self.copies = {prep: {pc: fn.append_basic_block(f"pc{pc}.unchecked")
                              for pc in loop.body if pc in self.blocks}
                       for prep, loop in self.checked.items()}
        self.version: int | None = None  # the FOR_PREP of the copy being lowered
        self.proven = self.unchecked = proven
        self.unchecked_calls: dict[int, frozenset[int]] = {}
        self.scope = mb.subprogram(fn, self.code.line)  # (debug locations, or None)

    def _leaders(self) -> list[int]:
        """The reachable pcs that start a basic block."""
        spec, instrs = self.spec, self.code.instrs
        targets = jump_sources(self.code)
        leaders = []
        for pc, state in enumerate(spec.states):
            if state is None:
                continue
            before = pc - 1
            if (pc == spec.entry or pc in targets or before < 0 or spec.states[before] is None
                    or OPCODES[instrs[before][0]].flow != Flow.NEXT
                    or before in spec.errors or before in spec.exits):
                leaders.append(pc)
        return leaders

    # --- slots ---
    def local_slot(self, slot: int):
        if slot not in self.local_slots:
            t = self.spec.local_types[slot]
            self.local_slots[slot] = self.allocas.alloca(llvm_type(t),
                                                         name=self.code.local_names[slot])
        return self.local_slots[slot]

    def chunk_slot(self, pc: int):
        """Where the strip-mined loop at `pc` (a for loop, or a counted while
        loop) keeps the end of its current chunk (MIN, empty, until the loop
        sets one: also when an OSR entry starts inside the loop)."""
        if pc not in self.chunk_slots:
            slot = self.chunk_slots[pc] = self.allocas.alloca(I64, name=f"chunk{pc}")
            self.allocas.store(const(I64, -2**63), slot)
        return self.chunk_slots[pc]

    def loop_inner(self, pc: int):
        """The inner loop's header of the strip-mined loop at `pc` (in the
        copy being lowered)."""
        key = (self.version, pc)
        if key not in self.inner_blocks:
            self.inner_blocks[key] = self.fn.append_basic_block(f"pc{pc}.iter")
        return self.inner_blocks[key]

    def loop_outer(self, pc: int):
        """The outer loop's header of the counted while loop at `pc`."""
        if pc not in self.outer_blocks:
            self.outer_blocks[pc] = self.fn.append_basic_block(f"pc{pc}.refill")
        return self.outer_blocks[pc]

    def stack_slot(self, depth: int, type_: str):
        key = (depth, type_)
        if key not in self.stack_slots:
            self.stack_slots[key] = self.allocas.alloca(llvm_type(type_), name=f"s{depth}")
        return self.stack_slots[key]

    def push(self, value, type_: str, owner: int = OWNED) -> None:
        self.stack.append((value, type_, owner))

    def pop(self):
        """(value, type, owner) of the top of the stack."""
        return self.stack.pop()

    def spill(self) -> None:
        """Leave the stack in its slots, as the types it has here."""
        for depth, (value, t, _) in enumerate(self.stack):
            self.b.store(value, self.stack_slot(depth, t))

    def edge(self, target: int, block=None, stack=None):
        """The block to branch to for `target` (its own, or `block`) with
        `stack` (the current one): the stack is stored in the slots of the
        types `target` expects, converted where it is narrower. Entries
        borrowed here but owned there get their reference on a block of
        their own, taken only by this edge."""
        b = self.b
        stack = self.stack if stack is None else stack
        block = block or self.blocks[target]
        types, owners = self.spec.states[target][1], self.owners_at[target]
        for depth, (value, t, _) in enumerate(stack):
            b.store(convert(b, value, t, types[depth]), self.stack_slot(depth, types[depth]))
        borrowed = [(value, t) for (value, t, owner), wanted in zip(stack, owners, strict=True)
                    if owner != wanted]
        if not borrowed:
            return block
        own = self.fn.append_basic_block(f"pc{target}.own")
        with b.goto_block(own):
            for value, t in borrowed:
                self.mb.count_reference(b, value, t, +1)
            b.branch(block)
        return own

    def goto(self, pc: int) -> None:
        self.b.branch(self.edge(pc))

    def release(self, value, type_: str, owner: int) -> None:
        """Done with a stack entry: drop its reference if it has one."""
        if owner == OWNED:
            self.mb.count_reference(self.b, value, type_, -1)

    def own(self, value, type_: str, owner: int) -> None:
        """The entry goes somewhere that keeps it: it needs its own reference."""
        if owner != OWNED:
            self.mb.count_reference(self.b, value, type_, +1)

    def load_local(self, slot: int, type_: str):
        """Local `slot`, which holds a value of type `type_` here."""
        storage = self.spec.local_types[slot]
        return convert(self.b, self.b.load(self.local_slot(slot)), storage, type_)

    # --- the function ---
    def lower(self) -> None:
        spec, a = self.spec, ir.IRBuilder(self.prologue)
        for slot, t in enumerate(spec.local_types):
            if element(t) is not None:
                a.store(ir.Constant(PTR, None), self.local_slot(slot))
            elif is_tagged(t):  # nil until assigned, as in the interpreter
                a.store(tagged(a, const(I64, TAG["nil"]), const(I64, 0)), self.local_slot(slot))
        for value, (where, slot, t) in zip(self.fn.args[2:], parameters(spec), strict=True):
            if where == "local":
                a.store(convert(a, value, t, spec.local_types[slot]), self.local_slot(slot))
                if element(spec.local_types[slot]) is not None:
                    self.remember_fields(a, slot, value)
            else:
                a.store(value, self.stack_slot(slot, t))
        if spec.callees and (self.split is None  # (for the traceback of an error further down)
                             or any(pc in spec.callees for pc in self.split[1])):
            self.mb.tbaa(a.store(self.site, a.gep(self.shadow, [self.depth], source_etype=I32)),
                         "shadow")
        if self.counts_work and not spec.is_osr:
            self.count_work(a)
        a.branch(self.blocks[self.start])
        if self.split is not None:
            self.lower_prefix()
            return
        self.lower_pcs(range(len(spec.states)))
        self.lower_second_copies()
        for prep, loop in self.checked.items():
            original = self.blocks
            self.blocks = {**original, **self.copies[prep]}
            self.version, self.unchecked = prep, self.proven | loop.unchecked
            self.unchecked_calls = dict(loop.calls)
            self.lower_pcs(loop.body)
            self.lower_second_copies()
            self.blocks, self.version, self.unchecked = original, None, self.proven
            self.unchecked_calls = {}
        self.allocas.branch(self.prologue)

    def back_edge(self, header: int, pc: int):
        """The block a back-edge at `pc` of the unrolled loop at `header`
        goes to: from the first copy, the second copy's header; from the
        second, after a poll, the first's."""
        if self.second_of is not None and self.second_of[0] == header:
            self.poll(self.b, pc)
            return self.second_of[1][header]
        key = (self.version, header)
        if key not in self.second:
            self.second[key] = {at: self.fn.append_basic_block(f"pc{at}.second")
                                for at in self.unrolled[header] if at in self.blocks}
        return self.second[key][header]

    def lower_second_copies(self) -> None:
        """The second copy of each unrolled loop the code just lowered (the
        function's, or a versioned loop's copy) went round."""
        for header, body in self.unrolled.items():
            blocks = self.second.get((self.version, header))
            if blocks is not None:
                first = self.blocks
                self.blocks, self.second_of = {**first, **blocks}, (header, first)
                self.lower_pcs(body)
                self.blocks, self.second_of = first, None

    def lower_prefix(self) -> None:
        """A leaf split's prefix: its offsets, and at the split a tail call
        of the body with the function's own arguments."""
        at, prefix, body = self.split
        self.lower_pcs(sorted(prefix))
        b = self.b
        b.position_at_end(self.blocks[at])
        self.locate(at)
        inlined = "alwaysinline" in self.fn.attributes  # (the #leaf copy: recursion_copy)
        b.ret(b.call(body, list(self.fn.args), tail=None if inlined else "musttail"))
        self.allocas.branch(self.prologue)
        for block in self.fn.blocks:  # (the body's offsets, not lowered here)
            if not block.is_terminated:
                ir.IRBuilder(block).unreachable()

    def lower_pcs(self, pcs) -> None:
        """Lower the instructions at `pcs`, in order, into `blocks`."""
        for pc in pcs:
            state = self.spec.states[pc]
            if state is None:
                continue
            if pc in self.blocks:
                self.b.position_at_end(self.blocks[pc])
                if pc in self.counted:  # a counted loop's entry, to its outer loop;
                    self.b.branch(self.loop_outer(pc))  # the bytecode's test is
                    self.b.position_at_end(self.loop_inner(pc))  # the inner loop's
                self.stack = [(self.b.load(self.stack_slot(d, t)), t, owner) for d, (t, owner)
                              in enumerate(zip(state[1], self.owners_at[pc], strict=True))]
            self.instruction(pc)

    def poll(self, b, pc: int) -> None:
        """Stop if vmlab.interrupts raised the flag (Ctrl-C, --timeout): at
        every loop back-edge (and, through the call limit, at the calls that
        may recurse: check_depth), so no run is unstoppable. A load LLVM
        never hoists out of the loop: in optimized code volatile where that
        is one load (full_target; x86-64 then compares in memory, `cmpq $0,
        -16(%rsi)`, an instruction fewer than an atomic load's), else
        atomic."""
        word = shadow_word(b, self.shadow, rt.SHADOW_INTERRUPT)
        if self.mb.full_target and not self.mb.baseline:  # (fast instruction selection
            # folds neither: the baseline tier's stays atomic)
            flag = VolatileLoad(b.block, word, typ=I64)
            flag.align = 8
            b._insert(flag)
        else:
            flag = b.load_atomic(word, "monotonic", 8, typ=I64)
        with b.if_then(b.icmp_signed("!=", flag, const(I64, 0)), likely=False):
            self.raise_error(b, rt.INTERRUPTED, pc)

    def count_work(self, b):
        """One more call or loop iteration in baseline code; the count."""
        count = b.add(b.load(self.mb.runtime("rt_work"), typ=I64), const(I64, 1))
        b.store(count, self.mb.runtime("rt_work"))
        return count

    def raise_error(self, b, kind: int, pc: int, x=None, y=None) -> None:
        site = self.mb.symbols.site(self.spec.func, pc)
        b.call(self.mb.runtime("rt_raise"), [const(I64, kind), const(I64, site), self.depth,
                                  x if x is not None else const(I64, 0),
                                  y if y is not None else const(I64, 0), self.site])
        b.unreachable()

    def type_error(self, pc: int, opcode: int, items) -> None:
        """Raise the type error OPERATIONS[opcode] raises for operands of
        these (run-time) types: the host asks vmlab.values for its message."""
        self.raise_error(self.b, rt.TYPE_ERROR, pc, const(I64, opcode), _packed(self.b, items))

    def side_exit(self, pc: int) -> None:
        """Leave the frame's state in rt_exit (pc, then a tag and a payload
        word per local and stack entry) for the interpreter, and jump out."""
        b = self.b
        buffer = b.load(self.mb.runtime("rt_exit"), typ=PTR)

        def put(index: int, value, type_: str) -> None:
            for i, word in enumerate(tag_and_word(b, value, type_)):
                b.store(word, b.gep(buffer, [const(I64, 1 + 2 * index + i)], source_etype=I64))
        b.store(const(I64, pc), buffer)
        locals_, _ = self.spec.states[pc]
        for slot, t in enumerate(locals_):
            if t != UNSET:  # (never assigned here: the interpreter's is nil)
                storage = self.spec.local_types[slot]
                put(slot, b.load(self.local_slot(slot)), storage)
        for depth, (value, t, owner) in enumerate(self.stack):
            self.own(value, t, owner)  # the interpreter gets a reference of its own
            put(len(locals_) + depth, value, t)
        b.call(self.mb.runtime("rt_exit_jump"), [])
        b.unreachable()

    def check_depth(self, pc: int, recursive: bool) -> None:
        """Before a call: the call depth against --max-depth, so that deep
        recursion ends in `stack overflow` at the exact call (the native
        stack has room for that many frames of every compiled function:
        jit.frames). Where the call may recurse, outside a loop that polls
        at every back-edge, against the call limit instead
        (rt.SHADOW_LIMIT): --max-depth until a stop lowers it to 0, so
        that the one test also stops a recursion when asked. The frame
        reads the limit once, on entry, so that the test of a call in a
        loop is the loop's invariant: a stop is seen by the next frame.
        (A call in a polled loop needs no such test: the loop's poll comes
        round; a call that cannot recurse makes a call tree of bounded
        size.)"""
        b = self.b
        if recursive and pc not in self.polled:
            if self.limit is None:
                a = self.allocas
                self.limit = self.mb.tbaa(a.load_atomic(
                    shadow_word(a, self.shadow, rt.SHADOW_LIMIT), "unordered", 8, typ=I64),
                    "limit")
                self.limit.set_metadata("range", self.mb.module.add_metadata(
                    [const(I64, 0), const(I64, self.mb.max_depth + 1)]))  # (0: stopped)
            limit = self.limit
        else:
            limit = const(I64, self.mb.max_depth)
        with b.if_then(b.icmp_unsigned(">=", self.depth, limit), likely=False):
            with b.if_then(b.icmp_unsigned("<", self.depth, const(I64, self.mb.max_depth))):
                self.poll(b, pc)
            self.raise_error(b, rt.STACK_OVERFLOW, pc)

    def check(self, failed, kind: int, pc: int, x=None, y=None) -> None:
        """Raise `kind` at `pc` if `failed` is true."""
        b = self.b
        with b.if_then(failed, likely=False):
            self.raise_error(b, kind, pc, x, y)

    # --- values of several types ---
    def guard(self, pc: int, opcode: int, items, combo):
        """The values of `items` ((value, type) pairs) as the types `combo`,
        once their tags say they are (else the type error), or None if
        they never are (the block has ended)."""
        b, wrong = self.b, None
        for (value, t), c in zip(items, combo, strict=True):
            if t == c:
                continue
            if c not in members(t):
                self.type_error(pc, opcode, items)
                return None
            bad = b.icmp_unsigned("!=", b.extract_value(value, 0), const(I64, TAG[c]))
            wrong = bad if wrong is None else b.or_(wrong, bad)
        if wrong is not None:
            with b.if_then(wrong, likely=False):
                self.type_error(pc, opcode, items)
        return [convert(b, value, t, c) for (value, t), c in zip(items, combo, strict=True)]

    def cases(self, pc: int, opcode: int, items, combos, emit, result_type: str):
        """Branch on the types `items` ((value, type) pairs) hold at run time:
        `emit(combo, values)` makes the code for each combination of member
        types in `combos` (the values unboxed to those types) and returns
        (value, type), or None if it ended the block; any other combination
        raises the type error of OPERATIONS[opcode]. The results meet as a
        value of `result_type`, or None if no combination falls through
        (the block has ended)."""
        b = self.b

        def finish(result):
            return None if result is None else convert(b, result[0], result[1], result_type)

        tagged_items = [i for i, (_, t) in enumerate(items) if is_tagged(t)]
        if len(combos) <= 1 or not tagged_items:  # a test of the tags, at most
            combo = next(iter(combos), None)
            if combo is None or (not tagged_items and combo != tuple(t for _, t in items)):
                self.type_error(pc, opcode, items)
                return None
            values = self.guard(pc, opcode, items, combo)
            return None if values is None else finish(emit(combo, values))
        key = None
        for shift, i in enumerate(tagged_items):
            tag = b.shl(b.extract_value(items[i][0], 0), const(I64, 3 * shift))
            key = tag if key is None else b.or_(key, tag)
        default = self.fn.append_basic_block(f"pc{pc}.type_error")
        merge = self.fn.append_basic_block(f"pc{pc}.merge")
        switch = b.switch(key, default)
        incoming = []
        for combo in combos:
            block = self.fn.append_basic_block(f"pc{pc}.{'.'.join(combo)}")
            switch.add_case(sum(TAG[combo[i]] << (3 * shift)
                                for shift, i in enumerate(tagged_items)), block)
            b.position_at_end(block)
            values = [convert(b, value, t, c) for (value, t), c in zip(items, combo, strict=True)]
            result = finish(emit(combo, values))
            if result is not None:
                incoming.append((result, b.block))
                b.branch(merge)
        b.position_at_end(default)
        self.type_error(pc, opcode, items)
        b.position_at_end(merge)
        if not incoming:
            b.unreachable()
            return None
        phi = b.phi(llvm_type(result_type))
        for value, block in incoming:
            phi.add_incoming(value, block)
        return phi

    def operation(self, pc: int, opcode: int, items, emit, handles=None):
        """OPERATIONS[opcode] on `items` ((value, type) pairs): the
        combinations of types that succeed (or that `handles(combo)` says
        `emit` takes) go to `emit`, the others raise the interpreter's type
        error. Its result, as in `cases`."""
        types = tuple(t for _, t in items)
        combos = [combo for combo, result, _ in outcomes(OPERATIONS[opcode], types)
                  if result is not None or (handles is not None and handles(combo))]
        return self.cases(pc, opcode, items, combos, emit,
                          result_type(OPERATIONS[opcode], types))

    # --- one instruction ---
    def locate(self, pc: int) -> None:
        """With debug locations: what the builder emits next comes from `pc`."""
        if self.scope is not None:
            self.b.debug_metadata = self.mb.module.add_debug_info(
                "DILocation", {"line": self.code.lines[pc], "column": pc + 1,
                               "scope": self.scope})

    def instruction(self, pc: int) -> None:
        self.locate(pc)
        if pc in self.spec.exits:
            self.side_exit(pc)
            return
        opcode, arg = self.code.instrs[pc]
        info = OPCODES[opcode]
        handler = _HANDLERS.get(opcode, _operation)
        if handler(self, pc, arg) is _ENDS_BLOCK:
            return
        if info.flow == Flow.NEXT and pc + 1 in self.blocks:
            self.goto(pc + 1)

    def remember_fields(self, b, slot: int, header) -> None:
        """Keep the length and data pointer of the array now in `slot`."""
        if slot not in self.fields:
            self.fields[slot] = (self.allocas.alloca(I64, name=f"{self.code.local_names[slot]}.length"),
                                 self.allocas.alloca(PTR, name=f"{self.code.local_names[slot]}.data"))
        length, data = self.fields[slot]
        b.store(self.header_field(header, 0, I64, "length", b), length)
        b.store(self.header_field(header, 1, PTR, "data", b), data)

    def array_fields(self, array, owner: int):
        """(length, data pointer) of an array on the stack."""
        if owner != OWNED and owner in self.fields:  # borrowed from a local: its copies
            length, data = self.fields[owner]
            return self.b.load(length), self.b.load(data)
        return (self.header_field(array, 0, I64, "length"),
                self.header_field(array, 1, PTR, "data"))

    def header_field(self, array, field: int, type_, name: str, b=None):
        """An array's length or data pointer. They never change while the
        array lives, but a plain load: LLVM must not move it past the call
        that may free the array. (Loops read an array local's copies,
        `fields`, which are loop-invariant.)"""
        b = b or self.b
        return self.mb.tbaa(b.load(b.gep(array, [const(I32, 0), const(I32, field)],
                                         source_etype=HEADER), typ=type_, name=name), "header")

    def element_pointer(self, array, owner: int, index, elem: str, pc: int):
        """The address of array[index], after the bounds check."""
        b = self.b
        length, data = self.array_fields(array, owner)
        if pc not in self.unchecked:
            self.check(b.icmp_unsigned(">=", index, length), rt.INDEX_ERROR, pc, index, length)
        return b.gep(data, [index], source_etype=_ELEMENT_TYPES[elem])

    def in_bounds(self, loop: CheckedLoop, lo, hi):
        """True if every access `loop.needs` names is in bounds in every
        iteration of `for v in lo..hi`: each index at v = lo and at v = hi - 1
        (the least and the greatest values of a linear expression), in 128
        bits, where no sum of its bounded terms wraps (jit.ranges)."""
        b, wide = self.b, ir.IntType(128)
        ends = (b.sext(lo, wide), b.sub(b.sext(hi, wide), const(wide, 1)))
        tests = []
        for array, index in sorted(loop.needs):
            length = b.zext(self.header_field(b.load(self.local_slot(array)), 0, I64, "length"),
                            wide)
            varies = any(slot == loop.var for slot, _ in index.terms)
            for v in ends if varies else ends[:1]:
                value = const(wide, index.const)
                for slot, k in index.terms:
                    term = v if slot == loop.var else b.sext(b.load(self.local_slot(slot)), wide)
                    value = b.add(value, term if k == 1 else b.mul(term, const(wide, k)))
                tests.append(b.icmp_unsigned("<", value, length))  # (negative: huge, unsigned)
        empty = b.icmp_signed(">=", lo, hi)  # (no iteration at all)
        return b.or_(empty, functools.reduce(b.and_, tests))

    def allocate(self, elem: str, n, fill_bits, pc: int):
        b = self.b
        size = const(I64, 1 if elem == "bool" else 8)
        header = b.call(self.mb.new_array, [size, n, fill_bits])
        self.check(b.icmp_unsigned("==", header, ir.Constant(PTR, None)), rt.OUT_OF_MEMORY, pc)
        return header


_ENDS_BLOCK = object()


def _load_const(f: FunctionLowering, pc, arg):
    value = f.code.consts[arg]
    if type(value) is str:
        f.push(const(I64, f.mb.symbols.string(f.spec.func, arg)), "str")
    elif value is None:
        f.push(const(I8, 0), "nil")
    elif type(value) is bool:
        f.push(const(I1, value), "bool")
    elif type(value) is float:
        f.push(const(F64, value), "float")
    else:
        f.push(const(I64, value), "int")


def _load_local(f: FunctionLowering, pc, arg):
    here = f.spec.states[pc][0][arg]
    if here == UNSET:
        f.push(const(I8, 0), "nil")  # never assigned: nil, as in the interpreter
        return
    t = assigned(here)
    value = f.load_local(arg, t)
    f.push(value, t, arg if has_array(t) else OWNED)  # arrays: borrowed


def _store_local(f: FunctionLowering, pc, arg):
    b = f.b
    value, t, owner = f.pop()
    storage = f.spec.local_types[arg]
    slot = f.local_slot(arg)
    if not has_array(storage) or owner == arg:  # no array to count, or `x = x`
        b.store(convert(b, value, t, storage), slot)
        return
    for depth, (entry, entry_type, borrower) in enumerate(f.stack):
        if borrower == arg:  # it borrows the value about to be replaced: keep it
            f.mb.count_reference(b, entry, entry_type, +1)
            f.stack[depth] = (entry, entry_type, OWNED)
    f.own(value, t, owner)
    old = b.load(slot)
    if element(storage) is not None:
        with b.if_then(b.icmp_unsigned("!=", old, ir.Constant(PTR, None))):
            b.call(f.mb.decref, [old])
    else:
        f.mb.count_reference(b, old, storage, -1)
    b.store(convert(b, value, t, storage), slot)
    if element(storage) is not None:
        f.remember_fields(b, arg, value)


def _pop(f: FunctionLowering, pc, arg):
    f.release(*f.pop())


def _jump(f: FunctionLowering, pc, arg):
    if arg <= pc and f.counts_work:
        count = f.count_work(f.b)
        if f.spec.is_osr:
            with f.b.if_then(f.b.icmp_signed(">=", count, const(I64, f.mb.tier_up)),
                             likely=False):
                f.side_exit(pc)  # the interpreter runs this jump, into optimized code
    if arg <= pc and (f.code.instrs[arg][0] == op.FOR_ITER  # a for loop's back-edge,
                      or arg in f.counted):                # or a counted loop's:
        f.b.branch(f.edge(arg, f.loop_inner(arg)))         # to its inner loop
        return _ENDS_BLOCK
    if arg <= pc and arg in f.unrolled:  # to the unrolled loop's other copy
        f.b.branch(f.edge(arg, f.back_edge(arg, pc)))
        return _ENDS_BLOCK
    if arg <= pc:  # a while loop's back-edge
        f.poll(f.b, pc)
    f.goto(arg)
    return _ENDS_BLOCK


def _jump_if(f: FunctionLowering, pc, arg):
    opcode = f.code.instrs[pc][0]
    value, t, _ = f.pop()
    cond = f.operation(pc, opcode, [(value, t)], lambda combo, values: (values[0], "bool"))
    if cond is None:
        return _ENDS_BLOCK
    taken, fallthrough = f.edge(arg), f.edge(pc + 1)
    if pc in f.counted_tests:  # (the strip tests v itself: cond goes unused)
        _strip(f, f.counted_tests[pc], fallthrough, taken)
        return _ENDS_BLOCK
    if opcode == op.JUMP_IF_FALSE:
        f.b.cbranch(cond, fallthrough, taken)
    else:
        f.b.cbranch(cond, taken, fallthrough)
    return _ENDS_BLOCK


def _strip(f: FunctionLowering, loop: CountedLoop, body, exit_) -> None:
    """A counted while loop (jit.loops), strip-mined: the inner loop tests
    `v < limit`, where the limit bounds a strip of at most CHUNK iterations;
    the outer loop (`refill`, where every entry starts) tests the loop's own
    condition, polls, and sets the next strip's limit. When no strip can be
    bounded (a step <= 0, or v could wrap) the limit is MIN: every iteration
    goes round the outer loop and polls, as in any while loop."""
    b, shift = f.b, CHUNK.bit_length() - 1
    limit_slot, refill = f.chunk_slot(loop.header), f.loop_outer(loop.header)
    v = b.load(f.local_slot(loop.var))
    b.cbranch(b.icmp_signed("<", v, b.load(limit_slot)), body, refill).set_weights([CHUNK, 1])
    b.position_at_end(refill)
    v = b.load(f.local_slot(loop.var))
    n, s = (b.load(f.local_slot(x)) if kind == "local" else const(I64, x)
            for kind, x in (loop.bound, loop.step))
    poll = f.fn.append_basic_block(f"pc{loop.header}.poll")
    b.cbranch(b.icmp_signed("<=" if loop.inclusive else "<", v, n), poll, exit_)
    b.position_at_end(poll)
    f.poll(b, loop.back_edge)
    room = b.sub(n, v)  # (as unsigned: exact, since v <= n)
    positive = b.icmp_signed(">", s, const(I64, 0))
    # s <= room / 2**(shift+1): a whole strip, v + s * CHUNK, stays below n
    # with room to spare for the last step, which therefore cannot wrap.
    whole = b.and_(positive, b.icmp_unsigned("<=", s, b.lshr(room, const(I64, shift + 1))))
    # Else the strip ends the loop (fewer than 2 * CHUNK iterations), if
    # no step can wrap past n; the test `v < n` is then `v < end`.
    end = b.add(n, const(I64, 1)) if loop.inclusive else n
    no_wrap = b.icmp_signed("<" if loop.inclusive else "<=", n,
                            b.sub(const(I64, 2**63 - 1), s))
    limit = b.select(whole, b.add(v, b.shl(s, const(I64, shift))),
                     b.select(b.and_(positive, no_wrap), end, const(I64, -2**63)))
    b.store(limit, limit_slot)
    b.branch(body)


def _for_prep(f: FunctionLowering, pc, arg):
    # The bounds, checked to be ints (unboxed if they were tagged). The first
    # chunk: min(hi, lo + CHUNK), so that a loop shorter than a chunk never
    # polls and LLVM sees its trip count.
    b = f.b
    checked = f.guard(pc, op.FOR_PREP, [(value, t) for value, t, _ in f.stack[-2:]],
                      ("int", "int"))
    if checked is None:
        return _ENDS_BLOCK
    lo, hi = checked
    f.stack[-2:] = [(lo, "int", OWNED), (hi, "int", OWNED)]
    near_max = b.icmp_signed(">", lo, const(I64, 2**63 - 1 - CHUNK))
    end = b.add(lo, const(I64, CHUNK))
    first = b.select(b.icmp_signed("<", hi, end), hi, end)
    b.store(b.select(near_max, hi, first), f.chunk_slot(pc + 1))
    loop = f.checked.get(pc)
    if loop is not None:  # versioned: the copy without checks where they are proven
        b.cbranch(f.in_bounds(loop, lo, hi), f.edge(pc + 1, f.copies[pc][pc + 1]),
                  f.edge(pc + 1)).set_weights([CHUNK, 1])
        return _ENDS_BLOCK


def _for_iter(f: FunctionLowering, pc, arg):
    """A for loop, strip-mined: an inner loop runs up to CHUNK iterations
    without polling (a plain counted loop, which LLVM can vectorize), and the
    outer loop polls for a stop and sets the next chunk's end."""
    b = f.b
    f.spill()  # (as the inner loop reloads it)
    inner = f.loop_inner(pc)
    b.branch(inner)
    b.position_at_end(inner)
    f.stack = [(b.load(f.stack_slot(d, t)), t, owner) for d, (_, t, owner)
               in enumerate(f.stack)]
    (i, _, _), (limit, _, _) = f.stack[-2:]
    body, refill, poll = (f.fn.append_basic_block(f"pc{pc}.{name}")
                          for name in ("next", "refill", "poll"))
    chunk_slot = f.chunk_slot(pc)
    b.cbranch(b.icmp_signed("<", i, b.load(chunk_slot)), body, refill)
    b.position_at_end(refill)
    b.cbranch(b.icmp_signed("<", i, limit), poll, f.edge(arg, stack=f.stack[:-2]))
    b.position_at_end(poll)
    f.poll(b, pc)
    left = b.sub(limit, i)  # (as unsigned: exact, since i < limit)
    b.store(b.select(b.icmp_unsigned(">", left, const(I64, CHUNK)),
                     b.add(i, const(I64, CHUNK)), limit), chunk_slot)
    b.branch(f.blocks[pc])  # the outer loop's back-edge
    b.position_at_end(body)
    f.stack[-2] = (b.add(i, const(I64, 1)), "int", OWNED)
    f.push(i, "int")
    f.goto(pc + 1)
    return _ENDS_BLOCK


def _call(f: FunctionLowering, pc, arg):
    b, mb = f.b, f.mb
    callee = f.spec.callees[pc]
    lent = borrowed(callee)
    args, kept = [], []
    for index in reversed(range(callee.code.arity)):
        value, t, owner = f.pop()
        if index in lent:  # the callee borrows it: this frame keeps it until the call returns
            kept.append((value, t, owner))
        else:
            f.own(value, t, owner)  # the callee's parameter holds its reference
        args.append(convert(b, value, t, callee.entry_locals[index]))
    args.reverse()
    itself = callee.key == f.spec.key
    # A self-call in a loop calls the function itself (recursion_copies).
    copy = (f.copy + 1) % mb.copies(f.spec) if itself and pc not in f.looped else 0
    # (A recursion copy is inlined: its calls make no native frame.)
    f.check_depth(pc, reaches(callee, f.spec) and copy == 0)
    if not itself and callee.key in mb.slotted:
        # (Read at each call, atomically: the compiler thread may write it.)
        fn = mb.function(callee)
        target = b.load_atomic(mb.slot(fn.name), "monotonic", 8,
                               typ=ir.PointerType(fn.function_type))
    elif pc in f.unchecked_calls:  # (its callee's accesses proven: a versioned loop's copy)
        target = mb.in_bounds_copy(callee, f.unchecked_calls[pc])
    elif not itself:
        target = mb.function(callee)
    else:
        target = mb.recursion_copy(callee, copy)
    result = b.call(target, [pack_depth_site(b, b.add(f.depth, const(I64, 1)),
                                             mb.symbols.site(f.spec.func, pc)), f.shadow, *args])
    if callee.ret == BOTTOM:  # it never returns
        b.unreachable()
        return _ENDS_BLOCK
    for item in kept:
        f.release(*item)
    f.push(result, callee.ret)


def _return(f: FunctionLowering, pc, arg):
    b = f.b
    value, t, owner = f.pop()
    f.own(value, t, owner)  # the caller gets a reference of its own
    while f.stack:  # what a `return` inside loops leaves below
        f.release(*f.pop())
    for slot, storage in enumerate(f.spec.local_types):
        if slot in f.borrowed:
            continue
        if element(storage) is not None:
            old = b.load(f.local_slot(slot))
            with b.if_then(b.icmp_unsigned("!=", old, ir.Constant(PTR, None))):
                b.call(f.mb.decref, [old])
        elif has_array(storage):
            f.mb.count_reference(b, b.load(f.local_slot(slot)), storage, -1)
    b.ret(convert(b, value, t, f.spec.ret))
    return _ENDS_BLOCK


def _print(f: FunctionLowering, pc, arg):
    b, mb = f.b, f.mb
    items = [f.pop() for _ in range(arg)][::-1]
    for value, t, _ in items:
        kind, word = ((const(I64, rt.PRINT_STRING), value) if t == "str" else
                      tag_and_word(b, value, t))
        mb.call_keeping(b, "rt_print", [kind, word])
    mb.call_keeping(b, "rt_print_end", [])
    for item in items:
        f.release(*item)


def _array(f: FunctionLowering, pc, arg):
    """[e1, ..., en]: for each type the first element may have, the others
    are checked against it in order (the interpreter's order), then the
    array is made."""
    b = f.b
    items = [f.pop() for _ in range(arg)][::-1]
    values = [(value, t) for value, t, _ in items]
    result_type = array_literal_type(tuple(t for _, t in values))
    elems = [elem for elem in members(values[0][1]) if elem in ("int", "float", "bool")]

    def make(combo, unboxed):
        elem = combo[0]
        elements = [unboxed[0]]
        for value, t in values[1:]:
            checked = f.guard(pc, op.ARRAY, [(unboxed[0], elem), (value, t)], (elem, elem))
            if checked is None:  # this element never has the first one's type
                return None
            elements.append(checked[1])
        header = f.allocate(elem, const(I64, arg), const(I64, 0), pc)
        data = f.header_field(header, 1, PTR, "data")
        for i, value in enumerate(elements):
            if elem == "bool":
                value = b.zext(value, I8)
            b.store(value, b.gep(data, [const(I64, i)], source_etype=_ELEMENT_TYPES[elem]))
        return header, f"array<{elem}>"

    # (A first element of the wrong type is the error of a pair of it.)
    result = f.cases(pc, op.ARRAY, [values[0], values[0]], [(t, t) for t in elems], make,
                     result_type)
    if result is None:
        return _ENDS_BLOCK
    f.push(result, result_type)  # (its elements were no arrays: nothing to release)


def _operation(f: FunctionLowering, pc, arg):
    """The operators and builtins of OPERATIONS, for the types they meet here."""
    opcode = f.code.instrs[pc][0]
    n = operand_count(opcode)
    items = f.stack[len(f.stack) - n:]
    del f.stack[len(f.stack) - n:]
    values = [(value, t) for value, t, _ in items]
    owners = [owner for _, _, owner in items]

    def run(combo, unboxed):
        kept = [o if t == c else OWNED for o, (_, t), c in zip(owners, values, combo,
                                                              strict=True)]
        return LOWERINGS[opcode, _kind(combo[0])](f, pc, opcode, unboxed, combo, kept)
    result = f.operation(pc, opcode, values, run, TAKES_FAILING.get(opcode))
    if result is None:
        return _ENDS_BLOCK
    for item in items:
        f.release(*item)  # (after the operation: INDEX reads the array first)
    if OPCODES[opcode].pushes:
        f.push(result, result_type(OPERATIONS[opcode], tuple(t for _, t in values)))


# --- the operators and builtins: one lowering per opcode and operand type ---
# LOWERINGS[opcode, kind] lowers OPERATIONS[opcode] for operands whose first
# is of `kind` (its type; "array" for every array type), the others of the
# types vmlab.values accepts with it: lower(f, pc, opcode, values, types,
# owners) gives (value, result type), or None if it ended the block.
LOWERINGS: dict[tuple[int, str], object] = {}


def _kind(type_: str) -> str:
    return "array" if element(type_) is not None else type_


def lowering(opcodes, kinds):
    """Register the decorated function as the lowering of each opcode for
    each operand kind."""
    def register(lower):
        for opcode in opcodes:
            for kind in kinds:
                LOWERINGS[opcode, kind] = lower
        return lower
    return register


def _instruction(method: str):
    """A lowering that is one IRBuilder instruction on the operands, of the
    operands' type."""
    def lower(f, pc, opcode, values, types, owners):
        return getattr(f.b, method)(*values), types[0]
    return lower


for _opcode, _on_int, _on_float in ((op.ADD, "add", "fadd"), (op.SUB, "sub", "fsub"),
                                    (op.MUL, "mul", "fmul"), (op.NEG, "neg", "fneg"),
                                    (op.DIV, None, "fdiv"), (op.MOD, None, "frem")):
    LOWERINGS[_opcode, "float"] = _instruction(_on_float)
    if _on_int:
        LOWERINGS[_opcode, "int"] = _instruction(_on_int)
for _opcode, _method in ((op.BIT_AND, "and_"), (op.BIT_OR, "or_"), (op.BIT_XOR, "xor"),
                         (op.BIT_NOT, "not_")):
    LOWERINGS[_opcode, "int"] = _instruction(_method)
LOWERINGS[op.NOT, "bool"] = _instruction("not_")


@lowering([op.DIV, op.MOD], ["int"])
def _int_division(f, pc, opcode, values, types, owners):
    """Truncating, with the dividend's sign; MIN / -1 is MIN (no trap)."""
    b, (x, y) = f.b, values
    f.check(b.icmp_signed("==", y, const(I64, 0)), rt.DIVISION_BY_ZERO, pc)
    minus_one = b.icmp_signed("==", y, const(I64, -1))
    safe = b.select(minus_one, const(I64, 1), y)
    if opcode == op.DIV:
        return b.select(minus_one, b.neg(x), b.sdiv(x, safe)), "int"
    return b.select(minus_one, const(I64, 0), b.srem(x, safe)), "int"


@lowering([op.SHL, op.SHR], ["int"])
def _shift(f, pc, opcode, values, types, owners):
    b, (x, y) = f.b, values
    count = b.and_(y, const(I64, 63))
    return (b.shl(x, count) if opcode == op.SHL else b.ashr(x, count)), "int"


_COMPARISONS = range(op.EQ, op.GE + 1)  # (vmlab.opcodes.ORDER_BINARY)


@lowering(_COMPARISONS, ["int"])
@lowering([op.EQ, op.NE], ["bool", "array"])
def _compare(f, pc, opcode, values, types, owners):
    return f.b.icmp_signed(OPCODES[opcode].symbol, *values), "bool"


@lowering(_COMPARISONS, ["float"])
def _compare_floats(f, pc, opcode, values, types, owners):
    """IEEE: every comparison with a nan is false, but !=, which is true."""
    symbol = OPCODES[opcode].symbol
    if opcode == op.NE:
        return f.b.fcmp_unordered(symbol, *values), "bool"
    return f.b.fcmp_ordered(symbol, *values), "bool"


@lowering([op.EQ, op.NE], ["nil"])
def _compare_nils(f, pc, opcode, values, types, owners):
    return const(I1, opcode == op.EQ), "bool"


@lowering([op.TO_FLOAT, op.TO_INT], ["int", "float"])
def _convert(f, pc, opcode, values, types, owners):
    x, t = values[0], types[0]
    if opcode == op.TO_INT and t == "float":
        return f.b.call(f.mb.runtime("llvm.fptosi.sat.i64.f64"), [x]), "int"
    if opcode == op.TO_FLOAT and t == "int":
        return f.b.sitofp(x, F64), "float"
    return x, t  # (the identity on its own type)


@lowering([op.SQRT], ["float"])
def _sqrt(f, pc, opcode, values, types, owners):
    return f.b.call(f.mb.runtime("llvm.sqrt.f64"), values), "float"


@lowering([op.ABS], ["int", "float"])
def _abs(f, pc, opcode, values, types, owners):
    b, x = f.b, values[0]
    if types[0] == "float":
        return b.call(f.mb.runtime("llvm.fabs.f64"), [x]), "float"
    return b.select(b.icmp_signed("<", x, const(I64, 0)), b.neg(x), x), "int"


@lowering([op.MIN, op.MAX], ["int", "float"])
def _extreme(f, pc, opcode, values, types, owners):
    """min and max (vmlab.values): of floats, nan if either is nan, and of
    0.0 and -0.0, min has the sign bit of either, max of both."""
    b, (x, y) = f.b, values
    smaller = opcode == op.MIN
    if types[0] == "int":
        return b.select(b.icmp_signed("<=" if smaller else ">=", x, y), x, y), "int"
    first, second = (x, y) if smaller else (y, x)  # first < second: the smaller first
    bits = (b.or_ if smaller else b.and_)(b.bitcast(x, I64), b.bitcast(y, I64))
    equal = b.select(b.fcmp_ordered("==", x, y), b.bitcast(bits, F64), b.fadd(x, y))
    return b.select(b.fcmp_ordered("<", x, y), first,
                    b.select(b.fcmp_ordered("<", y, x), second, equal)), "float"


@lowering([op.LEN], ["array"])
def _length(f, pc, opcode, values, types, owners):
    return f.array_fields(values[0], owners[0])[0], "int"


@lowering([op.INDEX], ["array"])
def _index(f, pc, opcode, values, types, owners):
    array, i = values
    elem = element(types[0])
    value = f.mb.tbaa(f.b.load(f.element_pointer(array, owners[0], i, elem, pc),
                               typ=_ELEMENT_TYPES[elem]), elem)
    return (f.b.trunc(value, I1) if elem == "bool" else value), elem


@lowering([op.STORE_INDEX], ["array"])
def _store_index(f, pc, opcode, values, types, owners):
    """a[i] = v: the bounds first, then the element type (vmlab.values)."""
    b = f.b
    array, i, value = values
    elem = element(types[0])
    pointer = f.element_pointer(array, owners[0], i, elem, pc)
    if types[2] != elem:
        f.type_error(pc, opcode, list(zip(values, types)))
        return None
    f.mb.tbaa(b.store(b.zext(value, I8) if elem == "bool" else value, pointer), elem)
    return const(I8, 0), "nil"


@lowering([op.ARRAY_FILL], ["int"])
def _fill(f, pc, opcode, values, types, owners):
    b = f.b
    n, fill = values
    f.check(b.icmp_signed("<", n, const(I64, 0)), rt.NEGATIVE_LENGTH, pc, n)
    f.check(b.icmp_signed(">", n, const(I64, MAX_ARRAY_LENGTH)), rt.TOO_LONG, pc, n)
    return f.allocate(types[1], n, to_word(b, fill), pc), f"array<{types[1]}>"


def _store_checks_bounds(combo) -> bool:
    """A store of the wrong element type into an array still checks its
    bounds first: `_store_index` takes it."""
    return element(combo[0]) is not None and combo[1] == "int"


# Failing combinations of types a lowering takes too, by opcode.
TAKES_FAILING = {op.STORE_INDEX: _store_checks_bounds}

# The other instructions: the stack, the locals, control flow, calls.
_HANDLERS = {op.LOAD_CONST: _load_const, op.LOAD_LOCAL: _load_local,
             op.STORE_LOCAL: _store_local, op.POP: _pop, op.JUMP: _jump,
             op.JUMP_IF_FALSE: _jump_if, op.JUMP_IF_TRUE: _jump_if, op.FOR_PREP: _for_prep,
             op.FOR_ITER: _for_iter, op.CALL: _call, op.RETURN: _return, op.PRINT: _print,
             op.ARRAY: _array}
