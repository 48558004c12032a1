"""Bytecode to LLVM IR, one function per specialization.

The translation is an abstract interpretation of the operand stack: every
local and every (stack depth, type) pair gets an `alloca`, each bytecode
instruction becomes a basic block that loads its operands from those slots
and stores its result, and LLVM's SROA pass turns the slots into SSA values
and phis. Types come from inference (jit.infer), so every operation is a
plain machine operation plus the checks the SPEC asks for: zero divisors,
MIN / -1, array bounds, shift counts masked to 6 bits, saturating
float-to-int, and the call-depth limit.

A specialization's LLVM function takes the call depth first, then its
parameters (for an on-stack-replacement entry: the live locals and stack
values). Python calls it through an entry wrapper, one per signature: it
reads the arguments from an i64 buffer, `setjmp`s for errors (jit.runtime),
calls the function it is given, and writes the result back.
"""

from __future__ import annotations

import llvmlite.ir as ir

from jit import runtime as rt
from jit.infer import Decline, Spec, reaches
from jit.loops import CountedLoop, counted_loops
from jit.types import BOTTOM, UNSET, element
from vmlab import opcodes as op
from vmlab.disasm import jump_targets
from vmlab.opcodes import ARG, OPCODES, Flow
from vmlab.values import MAX_ARRAY_LENGTH

I1, I8, I32, I64 = ir.IntType(1), ir.IntType(8), ir.IntType(32), ir.IntType(64)
F64 = ir.DoubleType()
PTR = ir.PointerType()
HEADER = ir.LiteralStructType([I64, PTR, I64])  # length, data, refs: runtime.Header
_SCALARS = {"int": I64, "float": F64, "bool": I1, "nil": I8, "str": I64}
_ELEMENT_TYPES = {"int": I64, "float": F64, "bool": I8}
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
# ModuleBuilder attribute: (symbol, return type, parameter types, attributes).
_FUNCTIONS = {
    "raise_fn": ("rt_raise", VOID, [I64] * 5, ("noreturn", "cold")),
    "exit_fn": ("rt_exit_jump", VOID, [], ("noreturn",)),
    "print_fn": ("rt_print", VOID, [I64, I64], ()),
    "print_end": ("rt_print_end", VOID, [], ()),
    "alloc_fn": ("rt_alloc", I64, [I64, I64, I64], ()),
    "release_fn": ("rt_release", VOID, [I64], ()),
    "setjmp": ("_setjmp", I32, [PTR], ("returns_twice",)),
    "sqrt": ("llvm.sqrt.f64", F64, [F64], ()),
    "fabs": ("llvm.fabs.f64", F64, [F64], ()),
    "to_int": ("llvm.fptosi.sat.i64.f64", I64, [F64], ()),
    "frame_address": ("llvm.frameaddress.p0", PTR, [I32], ()),
    "stack_pointer": ("llvm.stacksave.p0", PTR, [], ()),
}
# ModuleBuilder attribute: (symbol, type) of the runtime's globals.
_GLOBALS = {
    "jmpbuf": ("rt_jmpbuf", ir.ArrayType(I64, 64)),
    "shadow": ("rt_shadow", PTR),
    "floor": ("rt_stack_floor", I64),
    "interrupt": ("rt_interrupt", I64),
    "budget": ("rt_stack_budget", I64),
    "exit_buffer": ("rt_exit", PTR),
    "work": ("rt_work", I64),
}


def recursion_copies(spec: Spec) -> int:
    """How many levels of its own recursion one native call of `spec` runs."""
    sites = sum(1 for c in spec.callees.values() if c.key == spec.key)
    copies, size, width = 1, len(spec.code.instrs), 1
    while sites and copies < MAX_RECURSION_COPIES:
        width *= sites
        size += len(spec.code.instrs) * width
        if size > RECURSION_BUDGET:
            break
        copies += 1
    return copies


def llvm_type(type_: str):
    return PTR if element(type_) is not None else _SCALARS[type_]


def const(type_, value):
    return ir.Constant(type_, value)


class ModuleBuilder:
    """One LLVM module: a specialization and the ones it calls, or an entry wrapper."""

    def __init__(self, name: str, symbols: rt.Symbols, max_depth: int,
                 shadow_address: int | None = None, baseline: bool = False,
                 tier_up: int | None = None):
        """`max_depth` and the address of the run's shadow stack are compiled
        in as constants (for `vmlab ir`, without a run, the shadow stack is
        found through the global rt_shadow). `baseline`: for the baseline
        tier.

        With `tier_up` (baseline code), the module's code counts its calls and
        loop back-edges in rt_work, and an OSR entry leaves at a loop
        back-edge once the count reaches `tier_up`, for the interpreter to
        enter optimized code instead."""
        self.module = ir.Module(name=name)
        self.symbols, self.max_depth = symbols, max_depth
        self.shadow_address, self.baseline, self.tier_up = shadow_address, baseline, tier_up
        self._refcounts = None
        self.functions: dict[tuple, ir.Function] = {}

    def __getattr__(self, attr: str):
        """The runtime's functions and globals, and intrinsics, are declared
        on first use: most modules need few, and every declaration costs
        time to print and parse."""
        if attr in _FUNCTIONS:
            name, ret, params, attributes = _FUNCTIONS[attr]
            value = ir.Function(self.module, ir.FunctionType(ret, params), name)
            for attribute in attributes:
                value.attributes.add(attribute)
        elif attr in _GLOBALS:
            value = ir.GlobalVariable(self.module, _GLOBALS[attr][1], _GLOBALS[attr][0])
            value.linkage = "external"
        else:
            raise AttributeError(attr)
        setattr(self, attr, value)
        return value

    @property
    def incref(self) -> ir.Function:
        return self._refcount_helpers()[0]

    @property
    def decref(self) -> ir.Function:
        return self._refcount_helpers()[1]

    def _refcount_helpers(self):
        """incref(header) and decref(header): the count of references compiled
        code holds; at zero the host may let the array go. (Made on first use:
        most modules have no arrays.)"""
        if self._refcounts is not None:
            return self._refcounts
        helpers = []
        for name, delta in (("incref", 1), ("decref", -1)):
            fn = ir.Function(self.module, ir.FunctionType(VOID, [PTR]), name)
            fn.linkage = "internal"
            fn.attributes.add("alwaysinline")
            b = ir.IRBuilder(fn.append_basic_block("entry"))
            refs = b.gep(fn.args[0], [const(I32, 0), const(I32, 2)], source_etype=HEADER)
            count = b.add(b.load(refs, typ=I64), const(I64, delta), name="refs")
            b.store(count, refs)
            if delta < 0:
                with b.if_then(b.icmp_signed("==", count, const(I64, 0)), likely=False):
                    b.call(self.release_fn, [b.ptrtoint(fn.args[0], I64)])
            b.ret_void()
            helpers.append(fn)
        self._refcounts = helpers
        return helpers

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
            fn = ir.Function(self.module, ir.FunctionType(ret, [I64, *params]), name)
            fn.linkage = "external" if symbol else "internal"
            if not symbol and len(spec.code.instrs) <= 60 and not reaches(spec, spec):
                fn.attributes.add("alwaysinline")
            fn.args[0].name = "depth"
            for arg, (where, slot, _) in zip(fn.args[1:], parameters(spec), strict=True):
                arg.name = spec.code.local_names[slot] if where == "local" else f"stack{slot}"
            self.functions[spec.key] = fn
        return fn

    def define(self, spec: Spec, symbol: str | None = None) -> None:
        FunctionLowering(self, spec, self.function(spec, symbol)).lower()
        for copy in range(1, self.copies(spec)):
            FunctionLowering(self, spec, self.recursion_copy(spec, copy), copy).lower()

    def copies(self, spec: Spec) -> int:
        """Levels of its own recursion one native call of `spec` runs: none
        more in baseline code, whose -O0 frames, one per inlined level, would
        exhaust the native stack before the call limit."""
        return 1 if self.baseline else recursion_copies(spec)

    def recursion_copy(self, spec: Spec, copy: int) -> ir.Function:
        """Copy `copy` of a function that calls itself: copy i calls copy
        i + 1, the last calls the original. The copies are inlined, so one
        native call runs several levels of the recursion (as gcc's recursive
        inlining does); each level keeps its own checks."""
        if copy == 0:
            return self.function(spec)
        key = (spec.key, copy)
        fn = self.functions.get(key)
        if fn is None:
            original = self.function(spec)
            fn = ir.Function(self.module, original.function_type, f"{original.name}#{copy}")
            fn.linkage = "internal"
            fn.attributes.add("alwaysinline")
            for arg, named in zip(fn.args, original.args, strict=True):
                arg.name = named.name
            self.functions[key] = fn
        return fn

    def entry(self, ret, params: list) -> str:
        """`i64 wrapper(ptr function, ptr args, ptr out)` for functions of
        the LLVM type `ret (i64 depth, *params)`: runtime.RETURNED, RAISED or
        EXITED. It depends on the signature only, so the process compiles
        one per signature, not one per function (jit.tiering); its symbol."""
        symbol = f"vmlab.entry({', '.join(map(str, params))}) -> {ret}"
        called = ir.FunctionType(ret, [I64, *params])
        fn = ir.Function(self.module, ir.FunctionType(I64, [ir.PointerType(called), PTR, PTR]),
                         symbol)
        function, args, out = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        first = b.call(self.setjmp, [self.jmpbuf], name="setjmp")
        run, fail = fn.append_basic_block("run"), fn.append_basic_block("error")
        b.cbranch(b.icmp_signed("==", first, const(I32, 0)), run, fail)
        b.position_at_end(fail)
        b.ret(b.zext(first, I64))  # longjmp's value: RAISED or EXITED
        b.position_at_end(run)
        here = b.ptrtoint(b.call(self.frame_address, [const(I32, 0)]), I64)
        b.store(b.sub(here, b.load(self.budget, typ=I64)), self.floor)
        words = [b.load(b.gep(args, [const(I64, i)], source_etype=I64), typ=I64)
                 for i in range(1 + len(params))]
        values = [words[0]] + [from_word(b, w, t) for w, t in zip(words[1:], params, strict=True)]
        result = b.call(function, values)
        if isinstance(ret, ir.VoidType):  # (the function never returns)
            b.unreachable()
        else:
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
    """An i64 word as a value of the LLVM type `type_`."""
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
    """A value as the i64 word the host and side exits exchange."""
    if value.type == F64:
        return b.bitcast(value, I64)
    if value.type in (I1, I8):
        return b.zext(value, I64)
    if value.type == PTR:
        return b.ptrtoint(value, I64)
    return value


OWNED = -1  # a stack entry's owner when it holds its own reference (or is no array)


def ownership(spec: Spec) -> list:
    """Per pc, who owns each array on the operand stack: the local it was
    loaded from (borrowed: no reference of its own, none to drop), or OWNED.

    Borrowing saves a count up and down for every `a[i]`. A borrowed entry
    becomes owned (its count goes up) before its local is overwritten, and
    when it is stored, passed or returned."""
    code, states = spec.code, spec.states
    owners: list = [None] * len(states)
    owners[spec.entry] = (OWNED,) * len(spec.entry_stack)
    work = [spec.entry]

    def flow(target, stack) -> None:
        if states[target] is None:
            return
        if owners[target] is None:
            owners[target] = stack
            work.append(target)
        elif owners[target] != stack:
            raise Decline(f"offset {target}: an array is borrowed on one path only")

    while work:
        pc = work.pop()
        if pc in spec.errors or pc in spec.exits:
            continue
        stack = owners[pc]
        opcode, arg = code.instrs[pc]
        info = OPCODES[opcode]
        if opcode == op.LOAD_LOCAL:
            array = element(spec.local_types[arg]) is not None
            after = stack + ((arg if array else OWNED),)
        elif opcode == op.STORE_LOCAL:
            after = tuple(OWNED if o == arg else o for o in stack[:-1])
        elif opcode == op.CALL:
            callee = spec.callees[pc]
            after = stack[: len(stack) - callee.code.arity] + (OWNED,)
        else:
            pops = arg if info.pops == ARG else info.pops
            after = stack[: len(stack) - pops] + (OWNED,) * info.pushes
        if opcode == op.FOR_ITER:
            flow(arg, stack[:-2])
        elif info.flow in (Flow.JUMP, Flow.BRANCH):
            flow(arg, after)
        if info.flow in (Flow.NEXT, Flow.BRANCH) and not (
                opcode == op.CALL and spec.callees[pc].ret == BOTTOM):
            flow(pc + 1, after)
    return owners


class FunctionLowering:
    """The LLVM function of one specialization.

    Within a basic block the operand stack is a Python list of SSA values;
    only where blocks meet is it spilled to (and reloaded from) the stack
    slots, which SROA then turns into phis. That keeps the IR small, which is
    most of the compile time."""

    def __init__(self, mb: ModuleBuilder, spec: Spec, fn: ir.Function, copy: int = 0):
        self.mb, self.spec, self.fn, self.copy = mb, spec, fn, copy
        self.code = spec.code
        self.depth = fn.args[0]
        # Every alloca goes in the entry block (the only ones SROA promotes);
        # the prologue follows it.
        self.allocas = ir.IRBuilder(fn.append_basic_block("entry"))
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
        self.counted = counted_loops(self.code, spec)  # by header pc

    def _leaders(self) -> list[int]:
        """The reachable pcs that start a basic block."""
        spec, instrs = self.spec, self.code.instrs
        targets = jump_targets(self.code)
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
        """The inner loop's header of the strip-mined loop at `pc`."""
        if pc not in self.inner_blocks:
            self.inner_blocks[pc] = self.fn.append_basic_block(f"pc{pc}.iter")
        return self.inner_blocks[pc]

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
        """Leave the stack in its slots, for the block that comes next."""
        for depth, (value, t, _) in enumerate(self.stack):
            self.b.store(value, self.stack_slot(depth, t))

    def goto(self, pc: int) -> None:
        self.spill()
        self.b.branch(self.blocks[pc])

    def release(self, value, type_: str, owner: int) -> None:
        """Done with a stack entry: drop its reference if it has one."""
        if owner == OWNED and element(type_) is not None:
            self.b.call(self.mb.decref, [value])

    def own(self, value, type_: str, owner: int) -> None:
        """The entry goes somewhere that keeps it: it needs its own reference."""
        if owner != OWNED and element(type_) is not None:
            self.b.call(self.mb.incref, [value])

    # --- the function ---
    def lower(self) -> None:
        spec, a = self.spec, ir.IRBuilder(self.prologue)
        for slot, t in enumerate(spec.local_types):
            if element(t) is not None:
                a.store(ir.Constant(PTR, None), self.local_slot(slot))
        for value, (where, slot, t) in zip(self.fn.args[1:], parameters(spec), strict=True):
            if where == "local":
                a.store(value, self.local_slot(slot))
                if element(t) is not None:
                    self.remember_fields(a, slot, value)
            else:
                a.store(value, self.stack_slot(slot, t))
        if reaches(spec, spec) and self.copy == 0:
            # Deep native recursion must end in `stack overflow`, never a crash.
            # (Recursion copies are inlined: they grow no native stack.)
            here = a.ptrtoint(a.call(self.mb.stack_pointer, []), I64)
            low = a.icmp_unsigned("<", here, a.load(self.mb.floor, typ=I64))
            with a.if_then(low, likely=False):
                self.raise_error(a, rt.STACK_OVERFLOW, spec.entry)
            self.poll(a, spec.entry)
        if self.counts_work and not spec.is_osr:
            self.count_work(a)
        a.branch(self.blocks[spec.entry])
        for pc, state in enumerate(spec.states):
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
        self.allocas.branch(self.prologue)

    def poll(self, b, pc: int) -> None:
        """Stop if vmlab.interrupts raised the flag (Ctrl-C, --timeout): at
        every loop back-edge and recursive call, so no run is unstoppable. An
        atomic load, which LLVM never hoists out of the loop."""
        flag = b.load_atomic(self.mb.interrupt, "monotonic", 8, typ=I64)
        with b.if_then(b.icmp_signed("!=", flag, const(I64, 0)), likely=False):
            self.raise_error(b, rt.INTERRUPTED, pc)

    def count_work(self, b):
        """One more call or loop iteration in baseline code; the count."""
        count = b.add(b.load(self.mb.work, typ=I64), const(I64, 1))
        b.store(count, self.mb.work)
        return count

    def raise_error(self, b, kind: int, pc: int, x=None, y=None) -> None:
        site = self.mb.symbols.sites.id(self.code, pc)
        b.call(self.mb.raise_fn, [const(I64, kind), const(I64, site), self.depth,
                                  x if x is not None else const(I64, 0),
                                  y if y is not None else const(I64, 0)])
        b.unreachable()

    def side_exit(self, pc: int) -> None:
        """Leave the frame's state in rt_exit (pc, locals, stack, as words)
        for the interpreter, and jump out."""
        b = self.b
        buffer = b.load(self.mb.exit_buffer, typ=PTR)

        def put(index: int, word) -> None:
            b.store(word, b.gep(buffer, [const(I64, index)], source_etype=I64))
        put(0, const(I64, pc))
        locals_, _ = self.spec.states[pc]
        for slot, t in enumerate(locals_):
            if t != UNSET:
                put(1 + slot, to_word(b, b.load(self.local_slot(slot))))
        for depth, (value, t, owner) in enumerate(self.stack):
            self.own(value, t, owner)  # the interpreter gets a reference of its own
            put(1 + len(locals_) + depth, to_word(b, value))
        b.call(self.mb.exit_fn, [])
        b.unreachable()

    def check(self, failed, kind: int, pc: int, x=None, y=None) -> None:
        """Raise `kind` at `pc` if `failed` is true."""
        b = self.b
        with b.if_then(failed, likely=False):
            self.raise_error(b, kind, pc, x, y)

    # --- one instruction ---
    def instruction(self, pc: int) -> None:
        b, spec = self.b, self.spec
        if pc in spec.errors:
            message = self.mb.symbols.messages.id(spec.errors[pc])
            self.raise_error(b, rt.STATIC_ERROR, pc, const(I64, message))
            return
        if pc in spec.exits:
            self.side_exit(pc)
            return
        opcode, arg = self.code.instrs[pc]
        info = OPCODES[opcode]
        handler = _HANDLERS.get(opcode)
        if handler is not None:
            if handler(self, pc, arg) is _ENDS_BLOCK:
                return
        elif opcode in _BINARY:
            y, _, y_owner = self.pop()
            x, t, x_owner = self.pop()
            self.push(*self.binary(opcode, x, y, t, pc))
            self.release(x, t, x_owner)  # (arrays only meet in == and !=)
            self.release(y, t, y_owner)
        elif opcode == op.LEN:
            x, t, owner = self.pop()
            self.push(self.array_fields(x, owner)[0], "int")
            self.release(x, t, owner)
        elif opcode in _UNARY:
            x, t, owner = self.pop()
            self.push(*self.unary(opcode, x, t))
            self.release(x, t, owner)
        else:  # pragma: no cover - inference declines what is not handled here
            raise AssertionError(f"no lowering for {info.name}")
        if info.flow == Flow.NEXT and pc + 1 in self.blocks:
            self.goto(pc + 1)

    def binary(self, opcode, x, y, t: str, pc: int):
        b = self.b
        if opcode in _COMPARE:
            predicate = _COMPARE[opcode]
            if t == "float":
                ordered = "o" if predicate != "!=" else "u"
                return (b.fcmp_ordered(predicate, x, y) if ordered == "o"
                        else b.fcmp_unordered(predicate, x, y)), "bool"
            if t == "nil":
                return const(I1, predicate == "=="), "bool"
            return b.icmp_signed(predicate, x, y), "bool"
        if t == "float":
            return _FLOAT_OPS[opcode](b, x, y), "float"
        if opcode in (op.DIV, op.MOD):
            self.check(b.icmp_signed("==", y, const(I64, 0)), rt.DIVISION_BY_ZERO, pc)
            minus_one = b.icmp_signed("==", y, const(I64, -1))
            safe = b.select(minus_one, const(I64, 1), y)  # MIN / -1 would trap
            if opcode == op.DIV:
                return b.select(minus_one, b.neg(x), b.sdiv(x, safe)), "int"
            return b.select(minus_one, const(I64, 0), b.srem(x, safe)), "int"
        if opcode in (op.SHL, op.SHR):
            count = b.and_(y, const(I64, 63))
            return (b.shl(x, count) if opcode == op.SHL else b.ashr(x, count)), "int"
        return _INT_OPS[opcode](b, x, y), "int"

    def unary(self, opcode, x, t: str):
        b, mb = self.b, self.mb
        if opcode == op.NEG:
            return (b.fneg(x) if t == "float" else b.neg(x)), t
        if opcode == op.BIT_NOT:
            return b.not_(x), "int"
        if opcode == op.NOT:
            return b.not_(x), "bool"
        if opcode == op.TO_FLOAT:
            return (x if t == "float" else b.sitofp(x, F64)), "float"
        if opcode == op.TO_INT:
            return (x if t == "int" else b.call(mb.to_int, [x])), "int"
        if opcode == op.SQRT:
            return b.call(mb.sqrt, [x]), "float"
        if opcode == op.ABS:
            if t == "float":
                return b.call(mb.fabs, [x]), "float"
            return b.select(b.icmp_signed("<", x, const(I64, 0)), b.neg(x), x), "int"
        raise AssertionError(opcode)

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
        """An array's length or data pointer. They never change, and saying
        so (!invariant.load) lets LLVM hoist them out of loops although the
        loop stores into the array."""
        b = b or self.b
        load = b.load(b.gep(array, [const(I32, 0), const(I32, field)], source_etype=HEADER),
                      typ=type_, name=name)
        load.set_metadata("invariant.load", self.mb.module.add_metadata([]))
        return load

    def element_pointer(self, array, owner: int, index, elem: str, pc: int):
        """The address of array[index], after the bounds check."""
        b = self.b
        length, data = self.array_fields(array, owner)
        self.check(b.icmp_unsigned(">=", index, length), rt.INDEX_ERROR, pc, index, length)
        return b.gep(data, [index], source_etype=_ELEMENT_TYPES[elem])

    def allocate(self, elem: str, n, fill_bits, pc: int):
        b = self.b
        address = b.call(self.mb.alloc_fn, [const(I64, rt.ELEMENT_KINDS[elem]), n, fill_bits])
        self.check(b.icmp_signed("==", address, const(I64, 0)), rt.OUT_OF_MEMORY, pc)
        return b.inttoptr(address, PTR)


_ENDS_BLOCK = object()


def _load_const(f: FunctionLowering, pc, arg):
    value = f.code.consts[arg]
    if type(value) is str:
        f.push(const(I64, f.mb.symbols.strings.id(value)), "str")
    elif value is None:
        f.push(const(I8, 0), "nil")
    elif type(value) is bool:
        f.push(const(I1, value), "bool")
    elif type(value) is float:
        f.push(const(F64, value), "float")
    else:
        f.push(const(I64, value), "int")


def _load_local(f: FunctionLowering, pc, arg):
    t = f.spec.local_types[arg]
    if t == UNSET:
        f.push(const(I8, 0), "nil")  # never assigned: nil, as in the interpreter
        return
    array = element(t) is not None
    f.push(f.b.load(f.local_slot(arg)), t, arg if array else OWNED)  # arrays: borrowed


def _store_local(f: FunctionLowering, pc, arg):
    b = f.b
    value, t, owner = f.pop()
    slot = f.local_slot(arg)
    if element(t) is None or owner == arg:  # not an array, or `x = x`
        b.store(value, slot)
        return
    for depth, (entry, entry_type, borrower) in enumerate(f.stack):
        if borrower == arg:  # it borrows the value about to be replaced: keep it
            b.call(f.mb.incref, [entry])
            f.stack[depth] = (entry, entry_type, OWNED)
    f.own(value, t, owner)
    old = b.load(slot)
    with b.if_then(b.icmp_unsigned("!=", old, ir.Constant(PTR, None))):
        b.call(f.mb.decref, [old])
    b.store(value, slot)
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
        f.spill()                                          # to its inner loop
        f.b.branch(f.loop_inner(arg))
        return _ENDS_BLOCK
    if arg <= pc:  # a while loop's back-edge
        f.poll(f.b, pc)
    f.goto(arg)
    return _ENDS_BLOCK


def _jump_if(f: FunctionLowering, pc, arg):
    cond, _, _ = f.pop()
    f.spill()
    taken, fallthrough = f.blocks[arg], f.blocks[pc + 1]
    if pc - 3 in f.counted:  # (the strip tests v itself: cond goes unused)
        _strip(f, f.counted[pc - 3], fallthrough, taken)
        return _ENDS_BLOCK
    if f.code.instrs[pc][0] == op.JUMP_IF_FALSE:
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
    # (Inference has checked that both bounds are ints.) The first chunk:
    # min(hi, lo + CHUNK), so that a loop shorter than a chunk never polls
    # and LLVM sees its trip count.
    b = f.b
    (lo, _, _), (hi, _, _) = f.stack[-2:]
    near_max = b.icmp_signed(">", lo, const(I64, 2**63 - 1 - CHUNK))
    end = b.add(lo, const(I64, CHUNK))
    first = b.select(b.icmp_signed("<", hi, end), hi, end)
    b.store(b.select(near_max, hi, first), f.chunk_slot(pc + 1))


def _for_iter(f: FunctionLowering, pc, arg):
    """A for loop, strip-mined: an inner loop runs up to CHUNK iterations
    without polling (a plain counted loop, which LLVM can vectorize), and the
    outer loop polls for a stop and sets the next chunk's end."""
    b = f.b
    f.spill()  # the loop's exit takes the stack below the counter and limit
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
    b.cbranch(b.icmp_signed("<", i, limit), poll, f.blocks[arg])
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
    args = []
    for _ in range(callee.code.arity):
        value, t, owner = f.pop()
        f.own(value, t, owner)  # the callee's parameters hold their references
        args.append(value)
    args.reverse()
    f.check(b.icmp_unsigned(">=", f.depth, const(I64, mb.max_depth)), rt.STACK_OVERFLOW, pc)
    shadow = (b.load(mb.shadow, typ=PTR) if mb.shadow_address is None else
              ir.Constant(I64, mb.shadow_address).inttoptr(PTR))
    b.store(const(I32, mb.symbols.sites.id(f.code, pc)),
            b.gep(shadow, [f.depth], source_etype=I32))
    target = (mb.recursion_copy(callee, (f.copy + 1) % mb.copies(f.spec))
              if callee.key == f.spec.key else mb.function(callee))
    result = b.call(target, [b.add(f.depth, const(I64, 1))] + args)
    if callee.ret == BOTTOM:  # it never returns
        b.unreachable()
        return _ENDS_BLOCK
    f.push(result, callee.ret)


def _return(f: FunctionLowering, pc, arg):
    b = f.b
    value, t, owner = f.pop()
    f.own(value, t, owner)  # the caller gets a reference of its own
    while f.stack:  # what a `return` inside loops leaves below
        f.release(*f.pop())
    for slot, t in enumerate(f.spec.local_types):
        if element(t) is not None:
            old = b.load(f.local_slot(slot))
            with b.if_then(b.icmp_unsigned("!=", old, ir.Constant(PTR, None))):
                b.call(f.mb.decref, [old])
    b.ret(value)
    return _ENDS_BLOCK


def _print(f: FunctionLowering, pc, arg):
    b, mb = f.b, f.mb
    items = [f.pop() for _ in range(arg)][::-1]
    for value, t, _ in items:
        kind = rt.PRINT_ARRAY if element(t) is not None else rt.PRINT_KINDS[t]
        b.call(mb.print_fn, [const(I64, kind), to_word(b, value)])
    b.call(mb.print_end, [])
    for item in items:
        f.release(*item)


def _array_fill(f: FunctionLowering, pc, arg):
    b = f.b
    fill, t, _ = f.pop()
    n, _, _ = f.pop()
    f.check(b.icmp_signed("<", n, const(I64, 0)), rt.NEGATIVE_LENGTH, pc, n)
    f.check(b.icmp_signed(">", n, const(I64, MAX_ARRAY_LENGTH)), rt.TOO_LONG, pc, n)
    f.push(f.allocate(t, n, to_word(b, fill), pc), f"array<{t}>")


def _array(f: FunctionLowering, pc, arg):
    b = f.b
    items = [f.pop() for _ in range(arg)][::-1]
    elem = items[0][1]
    header = f.allocate(elem, const(I64, arg), const(I64, 0), pc)
    data = f.header_field(header, 1, PTR, "data")
    for i, (value, _, _) in enumerate(items):
        if elem == "bool":
            value = b.zext(value, I8)
        b.store(value, b.gep(data, [const(I64, i)], source_etype=_ELEMENT_TYPES[elem]))
    f.push(header, f"array<{elem}>")


def _index(f: FunctionLowering, pc, arg):
    b = f.b
    i, _, _ = f.pop()
    array, t, owner = f.pop()
    elem = element(t)
    value = b.load(f.element_pointer(array, owner, i, elem, pc), typ=_ELEMENT_TYPES[elem])
    f.release(array, t, owner)
    f.push(b.trunc(value, I1) if elem == "bool" else value, elem)


def _store_index(f: FunctionLowering, pc, arg):
    b = f.b
    value, _, _ = f.pop()
    i, _, _ = f.pop()
    array, t, owner = f.pop()
    elem = element(t)
    b.store(b.zext(value, I8) if elem == "bool" else value,
            f.element_pointer(array, owner, i, elem, pc))
    f.release(array, t, owner)


_HANDLERS = {op.LOAD_CONST: _load_const, op.LOAD_LOCAL: _load_local,
             op.STORE_LOCAL: _store_local, op.POP: _pop, op.JUMP: _jump,
             op.JUMP_IF_FALSE: _jump_if, op.JUMP_IF_TRUE: _jump_if, op.FOR_PREP: _for_prep,
             op.FOR_ITER: _for_iter, op.CALL: _call, op.RETURN: _return, op.PRINT: _print,
             op.ARRAY_FILL: _array_fill, op.ARRAY: _array, op.INDEX: _index,
             op.STORE_INDEX: _store_index}
_COMPARE = {op.EQ: "==", op.NE: "!=", op.LT: "<", op.LE: "<=", op.GT: ">", op.GE: ">="}
_INT_OPS = {op.ADD: ir.IRBuilder.add, op.SUB: ir.IRBuilder.sub, op.MUL: ir.IRBuilder.mul,
            op.BIT_AND: ir.IRBuilder.and_, op.BIT_OR: ir.IRBuilder.or_,
            op.BIT_XOR: ir.IRBuilder.xor}
_FLOAT_OPS = {op.ADD: ir.IRBuilder.fadd, op.SUB: ir.IRBuilder.fsub, op.MUL: ir.IRBuilder.fmul,
              op.DIV: ir.IRBuilder.fdiv, op.MOD: ir.IRBuilder.frem}
_BINARY = set(_COMPARE) | set(_INT_OPS) | {op.DIV, op.MOD, op.SHL, op.SHR}
_UNARY = {op.NEG, op.BIT_NOT, op.NOT, op.LEN, op.TO_FLOAT, op.TO_INT, op.SQRT, op.ABS}
