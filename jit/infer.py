"""Type inference over bytecode, by abstract interpretation.

A *specialization* is a code object entered at one instruction (0 for a call,
a loop header for on-stack replacement) with given types for its locals and
operand stack. Inference runs the bytecode over types instead of values: it
finds the types of every local and stack slot before every instruction, the
specialization each CALL reaches, the return type, and the instructions that
are certain to fail (compiled code raises their error as the interpreter
would). Where paths bring different types, a slot's type is their union
(jit.types): compiled code keeps it tagged and checks the tag where an
operation needs one type, so no specialization is declined for its types.
Types are flow-sensitive: after `x = float(x)`, x is a float, whatever it
was before; each local is *stored* as the union of all it holds
(`Spec.local_types`). Calls make specializations depend on each other;
recursion is solved by iterating to a fixed point, starting from "does not
return yet" (BOTTOM).

A function gets at most MAX_SPECIALIZATIONS specializations for its argument
types, then one *generic* specialization (every argument ANY) for all other
calls; a loop header the same for the types of its frame. A specialization
is declined, with a reason, only when it calls one that is declined; an
on-stack-replacement entry then keeps running and hands the frame back to
the interpreter at that call (a side *exit*); so does it at a call it
makes once, after its loop, of a function too large to copy inline.
"""

from __future__ import annotations

from jit.types import ANY, BOTTOM, UNSET, assigned, members, result_type, show, union
from vmlab import opcodes as op
from vmlab import values as v
from vmlab.code import MAIN, Code, Program, in_loops
from vmlab.opcodes import OPCODES, Flow, stack_effect
from vmlab.values import OPERATIONS

MAX_SPECIALIZATIONS = 4  # per function and per loop header, before the generic one


class Decline(Exception):
    """This specialization cannot be compiled; str() says why."""


class Spec:
    """One specialization and what inference learned about it."""

    def __init__(self, key, code: Code, func: int):
        self.key = key                  # (func, entry pc, local types, stack types, osr)
        self.code, self.func = code, func
        self.entry, self.entry_locals, self.entry_stack, self.is_osr = key[1:]
        self.ret = BOTTOM               # the return type; BOTTOM: never returns (so far)
        self.states: list = []          # per pc: (local types, stack types) or None
        self.callees: dict[int, Spec] = {}   # CALL pc -> the specialization it calls
        self.errors: dict[int, str] = {}     # pc -> what it always raises (no successor)
        self.exits: dict[int, str] = {}      # pc -> why native code leaves here (OSR only)
        self.local_types: list[str] = []     # what each local is stored as (UNSET: unused)
        self.callers: set[Spec] = set()
        self.declined: str | None = None

    def name(self) -> str:
        """`fib(int)`, or `<main> at offset 5` for an on-stack-replacement entry."""
        if self.is_osr:
            generic = " (generic)" if set(self.entry_locals) == {ANY} else ""
            return f"{self.code.name} at offset {self.entry}{generic}"
        return f"{self.code.name}({show(self.entry_locals[: self.code.arity])})"

    def __repr__(self):
        return f"<Spec {self.name()} -> {self.ret}>"


def array_literal_type(items: tuple[str, ...]) -> str:
    """The type of `[items...]`: an array of a type the first item may have
    and every other item too (BOTTOM: the literal always fails)."""
    common = set(members(items[0])) & {"int", "float", "bool"}
    for t in items[1:]:
        common &= set(members(t))
    return union(*(f"array<{t}>" for t in common))


class Inferrer:
    """Infers specializations of one program; results are cached for the run."""

    def __init__(self, program: Program, cold_call_size: int | None = None):
        """`cold_call_size`: an OSR entry leaves at a call it makes once per
        entry (after its loop) of a function larger than this (bytecode
        instructions), for the interpreter to make; None: it never does."""
        self.program = program
        self.cold_call_size = cold_call_size
        self.arities = [f.arity for f in program.functions]
        self.specs: dict[tuple, Spec] = {}
        self.counts: dict[tuple, int] = {}  # (func, entry pc) -> specializations
        self._pending: list[Spec] = []

    def code(self, func: int) -> Code:
        return self.program.main if func == MAIN else self.program.functions[func]

    # --- requests ---
    def function(self, func: int, arg_types: tuple[str, ...]) -> Spec:
        """The specialization of a call of function `func` with these argument types."""
        return self.infer(self._call_key(func, arg_types))

    def osr(self, func: int, pc: int, local_types, stack_types) -> Spec:
        """The specialization entering `func` at loop header `pc`."""
        return self.infer((func, pc, tuple(local_types), tuple(stack_types), True))

    def infer(self, key) -> Spec:
        spec = self._get(key)
        while self._pending:
            self._analyze(self._pending.pop())
        return spec

    def decline(self, spec: Spec, reason: str) -> None:
        """`spec` cannot be compiled after all (found while compiling it): a
        function that calls it cannot either, an OSR entry leaves there."""
        if spec.declined is None:
            spec.declined = reason
            self._pending.extend(spec.callers)
            while self._pending:
                self._analyze(self._pending.pop())

    def _get(self, key) -> Spec:
        spec = self.specs.get(key)
        if spec is not None:
            return spec
        func, entry, local_types, stack_types, osr = key
        count = self.counts.get((func, entry), 0)
        if count >= MAX_SPECIALIZATIONS:  # the generic specialization takes the rest
            code = self.code(func)
            local_types = ((ANY,) * code.nlocals if osr else
                           (ANY,) * code.arity + (UNSET,) * (code.nlocals - code.arity))
            generic = (func, entry, local_types, stack_types, osr)
            if generic != key:
                return self._get(generic)
        else:
            self.counts[(func, entry)] = count + 1
        spec = self.specs[key] = Spec(key, self.code(func), func)
        self._pending.append(spec)
        return spec

    @staticmethod
    def closure(spec: Spec) -> list[Spec]:
        """The specialization and every one it calls, directly or not."""
        seen, order = {spec.key}, [spec]
        for s in order:
            for callee in s.callees.values():
                if callee.key not in seen:
                    seen.add(callee.key)
                    order.append(callee)
        return order

    # --- one specialization ---
    def _analyze(self, spec: Spec) -> None:
        before = (spec.ret, spec.declined)
        if spec.declined is None:
            try:
                self._run(spec)
            except Decline as reason:
                spec.declined = str(reason)
        if (spec.ret, spec.declined) != before:  # callers saw the old answer
            self._pending.extend(c for c in spec.callers if c not in self._pending)

    def _run(self, spec: Spec) -> None:
        code = spec.code
        instrs, n = code.instrs, len(code.instrs)
        states: list = [None] * n
        states[spec.entry] = (spec.entry_locals, spec.entry_stack)
        spec.callees, spec.errors, spec.exits, ret = {}, {}, {}, BOTTOM
        reads_unset: set[int] = set()  # locals read where a path has not assigned them
        cold = (set(range(n)) - in_loops(code)) if (
            spec.is_osr and self.cold_call_size is not None) else set()
        work = [spec.entry]

        def flow_to(target: int, locals_, stack) -> None:
            old = states[target]
            if old is None:
                states[target] = (locals_, stack)
                work.append(target)
                return
            merged = (tuple(map(union, old[0], locals_)), tuple(map(union, old[1], stack)))
            if merged != old:
                states[target] = merged
                work.append(target)

        while work:
            pc = work.pop()
            locals_, stack = states[pc]
            # (What an earlier visit, with fewer types, found may no longer hold.)
            spec.errors.pop(pc, None)
            spec.exits.pop(pc, None)
            opcode, arg = instrs[pc]
            info = OPCODES[opcode]
            pops, _ = stack_effect(opcode, arg, self.arities)
            operands = stack[len(stack) - pops:]
            below = stack[: len(stack) - pops]
            pushed: tuple = ()

            if opcode == op.LOAD_CONST:
                value = code.consts[arg]
                pushed = ("str" if type(value) is str else
                          "nil" if value is None else type(value).__name__,)
            elif opcode == op.LOAD_LOCAL:
                if UNSET in members(locals_[arg]) and locals_[arg] != UNSET:
                    reads_unset.add(arg)
                pushed = (assigned(locals_[arg]),)
            elif opcode == op.STORE_LOCAL:
                locals_ = locals_[:arg] + operands + locals_[arg + 1:]
            elif opcode == op.CALL:
                if pc in cold and len(self.code(arg).instrs) > self.cold_call_size:
                    # (Native code for it, if it has none yet, would cost more
                    # than the interpreter's one call: HotSpot's C2 leaves
                    # such calls to the interpreter too.)
                    spec.exits[pc] = "a call made once, after the loop"
                    continue
                callee = self._get(self._call_key(arg, operands))
                callee.callers.add(spec)
                spec.callees[pc] = callee
                if callee.declined:
                    reason = f"calls {callee.name()}, which is not compiled: {callee.declined}"
                    if not spec.is_osr:
                        raise Decline(f"offset {pc}: {reason}")
                    del spec.callees[pc]
                    spec.exits[pc] = reason  # the interpreter makes this call
                    continue
                if callee.ret == BOTTOM:
                    continue  # it has not returned (yet): nothing after the call runs
                pushed = (callee.ret,)
            elif opcode == op.RETURN:
                ret = union(ret, operands[0])
                continue
            elif opcode in OPERATIONS:
                if opcode == op.ARRAY:
                    result = array_literal_type(operands)
                else:
                    result = result_type(OPERATIONS[opcode], operands)
                if result == BOTTOM:  # every combination of types fails
                    spec.errors[pc] = f"{info.name} always fails on {show(operands)}"
                    continue
                if opcode == op.FOR_PREP:
                    pushed = ("int", "int")  # checked
                elif info.pushes:
                    pushed = (result,)
            elif opcode == op.FOR_ITER:
                flow_to(arg, locals_, below)  # the loop is over
                pushed = operands + ("int",)
            elif opcode not in (op.POP, op.PRINT, op.JUMP):
                raise Decline(f"offset {pc}: {info.name} is not supported")

            after = below + pushed
            if info.flow == Flow.JUMP:
                flow_to(arg, locals_, after)
            elif info.flow == Flow.BRANCH and opcode != op.FOR_ITER:
                flow_to(arg, locals_, after)
                flow_to(pc + 1, locals_, after)
            else:
                flow_to(pc + 1, locals_, after)

        # (Never less than before: a return type that shrank could make a
        # caller call another specialization, not analyzed yet, which
        # returns nothing so far; the two could go on alternating.)
        spec.states, spec.ret = states, union(spec.ret, ret)
        spec.local_types = self._storage(spec, reads_unset)

    @staticmethod
    def _storage(spec: Spec, reads_unset: set[int]) -> list[str]:
        """What each local is stored as: the union of what it holds anywhere,
        with nil where a path may read it (or hand it to the interpreter at a
        side exit) before assigning it; UNSET if nothing ever assigns it."""
        held = [UNSET] * spec.code.nlocals
        for state in spec.states:
            if state is not None:
                held = list(map(union, held, state[0]))
        # Where native code may hand the frame back: calls it cannot make, and
        # (baseline OSR code that gets hot) loop back-edges.
        leaves = set(spec.exits)
        if spec.is_osr:
            leaves.update(pc for pc, (opcode, arg) in enumerate(spec.code.instrs)
                          if opcode == op.JUMP and arg <= pc and spec.states[pc] is not None)
        storage = []
        for slot, t in enumerate(held):
            kinds = [m for m in members(t) if m != UNSET]
            unset_leaves = any(UNSET in members(spec.states[pc][0][slot]) for pc in leaves)
            if kinds and (slot in reads_unset or unset_leaves):
                kinds.append("nil")
            storage.append(union(*kinds) if kinds else UNSET)
        return storage

    def _call_key(self, func: int, arg_types) -> tuple:
        code = self.code(func)
        return (func, 0, tuple(arg_types) + (UNSET,) * (code.nlocals - code.arity), (), False)


def reaches(source: Spec, target: Spec) -> bool:
    """Does `source` call `target`, directly or not?"""
    seen, work = {source.key}, [source]
    while work:
        for callee in work.pop().callees.values():
            if callee.key == target.key:
                return True
            if callee.key not in seen:
                seen.add(callee.key)
                work.append(callee)
    return False
