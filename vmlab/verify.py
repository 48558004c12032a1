"""The bytecode verifier: checks, before anything runs, every property of a
Program that the interpreter relies on (docs/bytecode-format.md, "The
verifier").

Loaded bytecode (`vmlab.toyc.loads`) may come from anywhere, so the
interpreter must never meet an instruction it cannot execute: an unknown
opcode, an index out of range, a stack that underflows or whose depth
differs between paths, code that runs off its end, or a value the loop
cannot handle (a print-only string in an addition, a FOR_ITER on values
that FOR_PREP never checked). After `verify` accepts a program, running it
ends normally, in a toy runtime error, or never; it does not crash.

Everything is driven by the opcode table (`vmlab.opcodes`): operand kind,
pops and pushes, control flow and the `taken` effect of FOR_ITER. The only
opcode-specific knowledge here is which *kinds* of stack entries each opcode
may consume and produce (see "Abstract stack entries" below).

The stack check is an abstract interpretation with a worklist: every
instruction gets exactly one abstract stack, set the first time a path
reaches it; any other path must bring the same one. Abstract stacks are
interned nodes of a tree (push = child), so comparing two stacks is comparing
two integers, and popping `k` entries uses skew-binary jump pointers (Myers'
"applicative random-access stack"), O(log depth) steps. Each instruction is
processed once, so the whole check takes time linear in the code size (times
log MAX_STACK, a constant) and memory linear in it too.
"""

from __future__ import annotations

from vmlab.code import MAIN_NAME, Code, Program
from vmlab.opcodes import (
    ARRAY,
    FOR_ITER,
    FOR_PREP,
    LOAD_CONST,
    OPCODES,
    POP,
    PRINT,
    Flow,
    Operand,
    stack_effect,
)

# --- limits (docs/bytecode-format.md, "Limits") -------------------------------
MAX_ITEMS = (1 << 24) - 1    # functions per program; instructions, constants per code
MAX_LOCALS = 65_535          # local slots per code object (allocated on every call)
MAX_STACK = 1_000_000        # operand stack entries at any instruction
MAX_STRING = (1 << 24) - 1   # bytes of UTF-8 in any name or string constant
MAX_LINE = (1 << 32) - 1     # source line numbers are 1 .. MAX_LINE
INT_MIN, INT_MAX = -(1 << 63), (1 << 63) - 1


class BytecodeError(Exception):
    """Bytecode that cannot be loaded or run safely; str() is the reason."""


# --- abstract stack entries ---------------------------------------------------
VALUE = 0    # any toy value: int, float, bool, nil, array
STRING = 1   # a string constant, only for print
COUNTER = 2  # the loop counter FOR_PREP left (an int FOR_PREP checked)
LIMIT = 3    # the loop limit FOR_PREP left, directly above its counter

_KIND_NAMES = {VALUE: "a value", STRING: "a string constant",
               COUNTER: "a loop counter", LIMIT: "a loop limit"}
_WHY = {STRING: " (string constants may only be printed or popped)",
        COUNTER: " (the loop counter and limit are for FOR_ITER, or to be popped)",
        LIMIT: " (the loop counter and limit are for FOR_ITER, or to be popped)"}

# What each opcode may consume: POP anything, PRINT values and strings,
# FOR_ITER exactly a counter and its limit, every other opcode only values.
# What it produces: FOR_PREP a counter and a limit, FOR_ITER (falling through)
# the same counter and limit and a value, LOAD_CONST a string for a str
# constant, every other opcode values.


class _Stacks:
    """Interned abstract stacks: node 0 is the empty stack; node n is its
    parent with one entry of kind[n] on top."""

    def __init__(self):
        self.parent = [0]
        self.kind = [VALUE]
        self.depth = [0]
        self.jump = [0]        # skew-binary jump pointer (an ancestor)
        self.not_value = [0]   # depth of the topmost entry that is not VALUE (0: none)
        self.not_print = [0]   # depth of the topmost COUNTER or LIMIT (0: none)
        self.children: dict[int, int] = {}

    def push(self, s: int, kind: int) -> int:
        key = s * 4 + kind
        node = self.children.get(key)
        if node is not None:
            return node
        depth, jump = self.depth, self.jump
        j = jump[s]
        jump_to = jump[j] if depth[s] - depth[j] == depth[j] - depth[jump[j]] else s
        d = depth[s] + 1
        node = len(depth)
        self.parent.append(s)
        self.kind.append(kind)
        depth.append(d)
        jump.append(jump_to)
        self.not_value.append(d if kind != VALUE else self.not_value[s])
        self.not_print.append(d if kind >= COUNTER else self.not_print[s])
        self.children[key] = node
        return node

    def ancestor(self, s: int, d: int) -> int:
        """The stack `s` with its entries above depth `d` popped."""
        depth, jump, parent = self.depth, self.jump, self.parent
        while depth[s] > d:
            j = jump[s]
            s = j if depth[j] >= d else parent[s]
        return s

    def kind_at(self, s: int, d: int) -> int:
        """The kind of the entry at depth `d` (1 = bottom) of stack `s`."""
        return self.kind[self.ancestor(s, d)]


def shown(name: str) -> str:
    """A name as error messages show it: as it is if short and printable."""
    if name.isprintable() and 0 < len(name) <= 60:
        return name
    text = repr(name[:60])
    return text if len(name) <= 60 else text + "..."


def verify(program: Program) -> None:
    """Raise BytecodeError(reason) unless `program` is safe to run."""
    if not isinstance(program, Program):
        raise BytecodeError(f"not a Program: {type(program).__name__}")
    _check_string(program.source_name, "the source name")
    functions = program.functions
    if type(functions) is not list:
        raise BytecodeError("the functions are not a list")
    if len(functions) > MAX_ITEMS:
        raise BytecodeError(f"{len(functions)} functions exceed the limit of {MAX_ITEMS}")
    for code in functions:
        _check_fields(code)
    _check_fields(program.main)
    main = program.main
    if main.name != MAIN_NAME:
        raise BytecodeError(f"the main code is named {shown(main.name)}, not {MAIN_NAME}")
    if main.arity != 0:
        raise BytecodeError(f"function {MAIN_NAME}: the main code has arity {main.arity}, not 0")
    arities = [code.arity for code in functions]
    stacks = _Stacks()
    for code in functions:
        _check_code(code, arities, stacks)
    _check_code(main, arities, stacks)


def _check_string(text, what: str) -> None:
    if type(text) is not str:
        raise BytecodeError(f"{what} is not a string")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise BytecodeError(f"{what} is not valid Unicode (it has a lone surrogate)") from None
    if size > MAX_STRING:
        raise BytecodeError(f"{what} has {size} bytes, more than the limit of {MAX_STRING}")


def _check_fields(code) -> None:
    """The shape of a code object: types, sizes and counts."""
    if type(code) is not Code:
        raise BytecodeError(f"not a code object: {type(code).__name__}")
    _check_string(code.name, "a function name")
    where = f"function {shown(code.name)}"
    for field in ("instrs", "lines", "consts", "local_names"):
        if type(getattr(code, field)) is not list:
            raise BytecodeError(f"{where}: {field} is not a list")
    if type(code.arity) is not int or code.arity < 0:
        raise BytecodeError(f"{where}: arity {code.arity!r} is not a count")
    if type(code.line) is not int or not 1 <= code.line <= MAX_LINE:
        raise BytecodeError(f"{where}: definition line {code.line!r} out of range")
    nlocals = len(code.local_names)
    if nlocals > MAX_LOCALS:
        raise BytecodeError(f"{where}: {nlocals} locals exceed the limit of {MAX_LOCALS}")
    if code.arity > nlocals:
        raise BytecodeError(f"{where}: arity {code.arity} exceeds the number of locals ({nlocals})")
    for i, name in enumerate(code.local_names):
        _check_string(name, f"{where}: local name {i}")
    if len(code.consts) > MAX_ITEMS:
        raise BytecodeError(f"{where}: {len(code.consts)} constants exceed the limit "
                            f"of {MAX_ITEMS}")
    for i, value in enumerate(code.consts):
        kind = type(value)
        if kind is int:
            if not INT_MIN <= value <= INT_MAX:
                raise BytecodeError(f"{where}: constant {i}: int {value} outside the 64-bit range")
        elif kind is str:
            _check_string(value, f"{where}: constant {i}")
        elif value is not None and kind is not bool and kind is not float:
            raise BytecodeError(f"{where}: constant {i}: unsupported type {kind.__name__}")
    n = len(code.instrs)
    if n == 0:
        raise BytecodeError(f"{where}: the code is empty")
    if n > MAX_ITEMS:
        raise BytecodeError(f"{where}: {n} instructions exceed the limit of {MAX_ITEMS}")
    if len(code.lines) != n:
        raise BytecodeError(f"{where}: {len(code.lines)} line numbers for {n} instructions")
    for pc, ins in enumerate(code.instrs):
        if (type(ins) is not tuple or len(ins) != 2
                or type(ins[0]) is not int or type(ins[1]) is not int):
            raise BytecodeError(f"{where}, offset {pc}: not an (opcode, argument) pair of ints")
    for pc, line in enumerate(code.lines):
        if type(line) is not int or not 1 <= line <= MAX_LINE:
            raise BytecodeError(f"{where}, offset {pc}: line number {line!r} out of range")


def _check_code(code: Code, arities: list[int], stacks: _Stacks) -> None:
    instrs = code.instrs
    n = len(instrs)
    nconsts, nlocals, nfuncs = len(code.consts), len(code.local_names), len(arities)
    where = f"function {shown(code.name)}, offset"

    # 1. Each instruction on its own: a known opcode, an operand in range.
    ranges = {Operand.CONST: ("constant index", nconsts, "constants"),
              Operand.LOCAL: ("local index", nlocals, "locals"),
              Operand.JUMP: ("jump target", n, "instructions"),
              Operand.FUNC: ("function index", nfuncs, "functions")}
    for pc, (op, arg) in enumerate(instrs):
        if not 0 <= op < len(OPCODES):
            raise BytecodeError(f"{where} {pc}: unknown opcode {op}")
        info = OPCODES[op]
        kind = info.operand
        if kind == Operand.NONE:
            if arg != 0:
                raise BytecodeError(f"{where} {pc}: {info.name} takes no operand, got {arg}")
        elif kind in ranges:
            what, size, unit = ranges[kind]
            if not 0 <= arg < size:
                raise BytecodeError(f"{where} {pc}: {what} {arg} out of range ({size} {unit})")
            if kind == Operand.JUMP and info.flow == Flow.BRANCH and arg <= pc:
                # Every loop then has a backward JUMP: where compiled code
                # and the native loop check for a stop (Ctrl-C, --timeout).
                raise BytecodeError(f"{where} {pc}: {info.name} jumps backward, to {arg}; "
                                    f"only JUMP may")
        elif kind == Operand.COUNT:
            least = 1 if op == ARRAY else 0
            if not least <= arg <= MAX_STACK:
                raise BytecodeError(f"{where} {pc}: {info.name} count {arg} out of range "
                                    f"({least} to {MAX_STACK})")
        else:  # pragma: no cover - a new operand kind needs a rule here
            raise BytecodeError(f"{where} {pc}: operand kind {kind!r} unknown to the verifier")

    # 2. Every path: one abstract stack per instruction (a worklist).
    depth, kinds, parent = stacks.depth, stacks.kind, stacks.parent
    state = [-1] * n
    state[0] = 0
    work = [0]
    while work:
        pc = work.pop()
        s = state[pc]
        d = depth[s]
        op, arg = instrs[pc]
        info = OPCODES[op]
        pops, pushes = stack_effect(op, arg, arities)
        if pops > d:
            raise BytecodeError(f"{where} {pc}: stack underflow ({info.name} takes {pops}, "
                                f"the stack holds {d})")

        # The kinds of the entries it consumes.
        if op == FOR_ITER:
            if kinds[s] != LIMIT or kinds[parent[s]] != COUNTER:
                raise BytecodeError(
                    f"{where} {pc}: FOR_ITER needs the loop counter and limit that FOR_PREP "
                    f"left, found {_KIND_NAMES[kinds[parent[s]]]} and {_KIND_NAMES[kinds[s]]}")
        elif op != POP:
            bad = stacks.not_print[s] if op == PRINT else stacks.not_value[s]
            if bad > d - pops:
                kind = stacks.kind_at(s, bad)
                raise BytecodeError(f"{where} {pc}: {info.name} cannot take "
                                    f"{_KIND_NAMES[kind]}{_WHY[kind]}")

        # The stack after it: falling through, and a taken branch.
        base = stacks.ancestor(s, d - pops)
        if op == FOR_PREP:
            after = stacks.push(stacks.push(base, COUNTER), LIMIT)
        elif op == FOR_ITER:
            after = stacks.push(stacks.push(stacks.push(base, COUNTER), LIMIT), VALUE)
        elif op == LOAD_CONST and type(code.consts[arg]) is str:
            after = stacks.push(base, STRING)
        else:
            after = base
            for _ in range(pushes):
                after = stacks.push(after, VALUE)
        if depth[after] > MAX_STACK:
            raise BytecodeError(f"{where} {pc}: stack depth exceeds the limit of {MAX_STACK}")

        flow = info.flow
        if flow == Flow.RETURN:
            continue
        if flow == Flow.JUMP:
            _merge(state, work, arg, after, pc, stacks, where)
            continue
        if flow == Flow.BRANCH:
            taken = after
            if info.taken is not None:
                taken_pops, taken_pushes = stack_effect(op, arg, arities, taken=True)
                taken = stacks.ancestor(s, d - taken_pops)
                for _ in range(taken_pushes):
                    taken = stacks.push(taken, VALUE)
            _merge(state, work, arg, taken, pc, stacks, where)
        if pc + 1 == n:
            raise BytecodeError(f"{where} {pc}: falls off the end of the code")
        _merge(state, work, pc + 1, after, pc, stacks, where)


def _merge(state: list[int], work: list[int], target: int, s: int, source: int,
           stacks: _Stacks, where: str) -> None:
    """Bring the abstract stack `s` from instruction `source` to `target`."""
    old = state[target]
    if old == s:
        return
    if old < 0:
        state[target] = s
        work.append(target)
        return
    depth = stacks.depth
    if depth[s] != depth[old]:
        raise BytecodeError(f"{where} {target}: stack depth {depth[s]} coming from offset "
                            f"{source} but {depth[old]} on another path")
    # Same depth, different kinds: find the lowest entry that differs.
    a, b = s, old
    while stacks.parent[a] != stacks.parent[b]:
        a, b = stacks.parent[a], stacks.parent[b]
    raise BytecodeError(f"{where} {target}: stack entry {depth[a]} of {depth[s]} is "
                        f"{_KIND_NAMES[stacks.kind[a]]} coming from offset {source} but "
                        f"{_KIND_NAMES[stacks.kind[b]]} on another path")
