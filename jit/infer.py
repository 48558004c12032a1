"""Type inference over bytecode, by abstract interpretation.

A *specialization* is a code object entered at one instruction (0 for a call,
a loop header for on-stack replacement) with given types for its locals and
operand stack. Inference runs the bytecode over types instead of values: it
finds the type of every local and stack slot before every instruction, the
specialization each CALL reaches, the return type, and the instructions that
are certain to fail (a type error: compiled code raises it as the interpreter
would). Calls make specializations depend on each other; recursion is solved
by iterating to a fixed point, starting from "does not return yet" (BOTTOM).

A specialization is declined, with a reason, when its types cannot be fixed:
a local that holds two types, two return types, a call to a declined
specialization, more than MAX_SPECIALIZATIONS for one function. An
on-stack-replacement entry is more forgiving: a call it cannot compile
becomes an *exit*, where native code hands the frame back to the
interpreter, which goes on from that instruction.
"""

from __future__ import annotations

from jit.types import BOTTOM, UNSET, apply
from vmlab import opcodes as op
from vmlab import values as v
from vmlab.code import Code, Program
from vmlab.interp import BINARY, COMPARISONS, UNARY
from vmlab.opcodes import ARG, ARITY, OPCODES, Flow

MAX_SPECIALIZATIONS = 4  # per function: argument types seen beyond this stay interpreted
MAIN = -1                # the function index of the main code

# Opcodes whose typing rule is the reference semantics in vmlab.values.
OPERATIONS = {**BINARY, **COMPARISONS, **UNARY, op.INDEX: v.index,
              op.STORE_INDEX: v.store_index, op.ARRAY_FILL: v.array_fill,
              op.FOR_PREP: v.check_range}


def _condition(value):
    if type(value) is not bool:
        raise v.condition_error(value)


def _array_literal(*items):
    return v.array_literal(list(items))


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
        self.errors: dict[int, str] = {}     # pc -> the runtime error it always raises
        self.exits: dict[int, str] = {}      # pc -> why native code leaves here (OSR only)
        self.local_types: list[str] = []     # the one type of each local (UNSET: unused)
        self.callers: set[Spec] = set()
        self.declined: str | None = None

    def name(self) -> str:
        """`fib(int)`, or `<main> at offset 5` for an on-stack-replacement entry."""
        if self.is_osr:
            return f"{self.code.name} at offset {self.entry}"
        return f"{self.code.name}({', '.join(self.entry_locals[: self.code.arity])})"

    def __repr__(self):
        return f"<Spec {self.name()} -> {self.ret}>"


def _merge_type(a: str, b: str) -> str | None:
    """The type of a slot where two paths meet; None if they conflict.
    UNSET and T make "?T": assigned on some paths only."""
    if a == b:
        return a
    plain_a, plain_b = a.lstrip("?"), b.lstrip("?")
    if a == UNSET:
        return "?" + plain_b
    if b == UNSET or plain_a == plain_b:
        return "?" + plain_a
    return None


class Inferrer:
    """Infers specializations of one program; results are cached for the run."""

    def __init__(self, program: Program):
        self.program = program
        self.specs: dict[tuple, Spec] = {}
        self.per_function: dict[int, int] = {}
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

    def _get(self, key) -> Spec:
        spec = self.specs.get(key)
        if spec is None:
            func = key[0]
            spec = self.specs[key] = Spec(key, self.code(func), func)
            count = self.per_function[func] = self.per_function.get(func, 0) + 1
            if count > MAX_SPECIALIZATIONS:
                spec.declined = (f"more than {MAX_SPECIALIZATIONS} specializations of "
                                 f"{spec.code.name}")
            else:
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
        where = lambda pc: f"offset {pc}"  # noqa: E731
        states: list = [None] * n
        states[spec.entry] = (spec.entry_locals, spec.entry_stack)
        spec.callees, spec.errors, spec.exits, ret = {}, {}, {}, BOTTOM
        local_types = list(spec.entry_locals)  # then each store must agree
        work = [spec.entry]

        def flow_to(target: int, locals_, stack) -> None:
            old = states[target]
            if old is None:
                states[target] = (locals_, stack)
                work.append(target)
                return
            merged_locals = []
            for slot, (a, b) in enumerate(zip(old[0], locals_, strict=True)):
                m = _merge_type(a, b)
                if m is None:
                    raise Decline(f"{where(target)}: local {code.local_names[slot]} holds "
                                  f"{a.lstrip('?')} and {b.lstrip('?')}")
                merged_locals.append(m)
            merged_stack = []
            for a, b in zip(old[1], stack, strict=True):
                m = _merge_type(a, b)
                if m is None:
                    raise Decline(f"{where(target)}: the stack holds {a} or {b}")
                merged_stack.append(m)
            merged = (tuple(merged_locals), tuple(merged_stack))
            if merged != old:
                states[target] = merged
                work.append(target)

        while work:
            pc = work.pop()
            locals_, stack = states[pc]
            opcode, arg = instrs[pc]
            info = OPCODES[opcode]
            pops = arg if info.pops == ARG else (
                self.code(arg).arity if info.pops == ARITY else info.pops)
            operands = stack[len(stack) - pops:]
            below = stack[: len(stack) - pops]
            pushed: tuple = ()

            if opcode == op.LOAD_CONST:
                value = code.consts[arg]
                pushed = ("str" if type(value) is str else
                          "nil" if value is None else type(value).__name__,)
            elif opcode == op.LOAD_LOCAL:
                t = locals_[arg]
                if t.startswith("?"):
                    raise Decline(f"{where(pc)}: local {code.local_names[arg]} may be read "
                                  "before it is assigned")
                pushed = ("nil" if t == UNSET else t,)
            elif opcode == op.STORE_LOCAL:
                t = operands[0]
                known = local_types[arg]
                if known != UNSET and known != t:
                    raise Decline(f"{where(pc)}: local {code.local_names[arg]} holds "
                                  f"{known} and {t}")
                local_types[arg] = t
                locals_ = locals_[:arg] + (t,) + locals_[arg + 1:]
            elif opcode == op.CALL:
                callee = self._get(self._call_key(arg, operands))
                callee.callers.add(spec)
                spec.callees[pc] = callee
                if callee.declined:
                    reason = f"calls {callee.name()}, which is not compiled: {callee.declined}"
                    if not spec.is_osr:
                        raise Decline(f"{where(pc)}: {reason}")
                    del spec.callees[pc]
                    spec.exits[pc] = reason  # the interpreter makes this call
                    continue
                if callee.ret == BOTTOM:
                    continue  # it has not returned (yet): nothing after the call runs
                pushed = (callee.ret,)
            elif opcode == op.RETURN:
                t = operands[0]
                if ret not in (BOTTOM, t):
                    raise Decline(f"{where(pc)}: returns {ret} and {t}")
                ret = t
                continue
            elif opcode in (op.JUMP_IF_FALSE, op.JUMP_IF_TRUE):
                _, error = apply(_condition, operands)
                if error:
                    spec.errors[pc] = error
                    continue
            elif opcode == op.ARRAY:
                result, error = apply(_array_literal, operands)
                if error:
                    spec.errors[pc] = error
                    continue
                pushed = (result,)
            elif opcode in OPERATIONS:
                result, error = apply(OPERATIONS[opcode], operands)
                if error:
                    spec.errors[pc] = error
                    continue
                if opcode == op.FOR_PREP:
                    pushed = operands
                elif info.pushes:
                    pushed = (result,)
            elif opcode == op.FOR_ITER:
                flow_to(arg, locals_, below)  # the loop is over
                pushed = operands + ("int",)
            elif opcode not in (op.POP, op.PRINT, op.JUMP):
                raise Decline(f"{where(pc)}: {info.name} is not supported")

            after = below + pushed
            if info.flow == Flow.JUMP:
                flow_to(arg, locals_, after)
            elif info.flow == Flow.BRANCH and opcode != op.FOR_ITER:
                flow_to(arg, locals_, after)
                flow_to(pc + 1, locals_, after)
            else:
                flow_to(pc + 1, locals_, after)

        spec.states, spec.ret, spec.local_types = states, ret, local_types

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
