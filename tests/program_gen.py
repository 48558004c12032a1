"""A generator of terminating toy programs for differential tests.

Every decision goes through `choose(n)` (0 .. n-1, 0 the simplest), so the
same generator runs on hypothesis's draws (which then shrinks a failing
program toward simple choices) or on a seeded random.Random (long campaigns).

The generator knows the type of every value it writes, flow-sensitively: a
variable's type is the union of what it may hold at that point ("int|nil").
After an `if` it is the union of both branches' types. A loop body may give
an outer variable only types it had at the loop's entry (widened there at
times, so that the body may change it), so what holds on the first
iteration holds on every one. An operation is written only where it is valid
for every member of its operands' types: programs fail only where the
generator means them to.

Programs reach
- every arithmetic, bitwise, comparison and logical operator, ints, floats
  and bools with their edge values (MIN, MAX, -1, 0, NaN, inf, -0.0),
  conversions and builtins, arrays (made by `array` and by literals; read,
  written, measured), for and while loops with break and continue, branches,
  helper functions called for their values and for their effects, bounded
  recursion: every opcode the compiler emits (a test checks);
- polymorphic code: functions whose paths return different types or fall
  off the end (nil), used by callers only as every possible type allows, or
  by callers that know which path ran (a literal selector or condition);
  nil-initialised locals assigned later; parameters and locals reassigned to
  other types; loops whose variables change type at some iteration, some
  long enough for the JIT to compile them at thresholds 2 and 1000; generic
  helpers (`id`, `pick`, ...) called with six or more type combinations;
  nil printed, stored, passed, returned and compared;
- arrays made and dropped inside expressions (`len([x])`, `[a, b][i]`, a
  call whose array result is discarded), passed to and returned from calls;
- deep recursion with tens of locals live across the call, ending just below
  or just past the limit of 10,000 active calls;
- runtime errors (division by zero, an index out of bounds, rarely a type
  error), some wrong in two ways at once, where the interpreter's order of
  checks decides the message. Every tier must report them identically.
"""

from __future__ import annotations

from dataclasses import dataclass

INT_LITERALS = ["0", "1", "-1", "2", "3", "7", "63", "64", "255", "1000003",
                "9223372036854775807", "(-9223372036854775807 - 1)"]
FLOAT_LITERALS = ["0.0", "1.5", "-2.25", "0.1", "1e308", "1e-308", "(0.0 / 0.0)",
                  "(1.0 / 0.0)", "(-0.0)", "3.0"]
INT_OPS = ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"]
FLOAT_OPS = ["+", "-", "*", "/", "%"]
COMPARISONS = ["<", "<=", ">", ">=", "==", "!="]

# --- types: "int", "nil", "array<int>", ... or a union of them: "int|nil" ---
SCALARS = ["int", "float", "bool"]
ARRAYS = [f"array<{t}>" for t in SCALARS]
TYPES = SCALARS + ["nil"] + ARRAYS  # (a union lists its members in this order)
NUMBER = "int|float"


def members(type_: str) -> list[str]:
    return type_.split("|")


def union(*types: str) -> str:
    found = {m for t in types for m in members(t)}
    return "|".join(t for t in TYPES if t in found)


def within(type_: str, bound: str) -> bool:
    """Is every value of `type_` also a value of `bound`?"""
    return set(members(type_)) <= set(members(bound))


def element(type_: str) -> str:
    """"int" for "array<int>"."""
    return type_[6:-1]


def is_arrays(type_: str) -> bool:
    return all(m in ARRAYS for m in members(type_))


# Generic helpers: one definition, called with values of many types. (`show`,
# `fill` and `keep` make an array that dies inside the call; `near` indexes
# with a linear expression of its parameters, unary minus and a multiple
# included, which jit/ranges.py proves in the loops that call it.)
HELPERS = {
    "id": "fn id(x) { return x; }",
    "pick": "fn pick(c, a, b) { if c { return a; } return b; }",
    "maybe": "fn maybe(c, x) { if c { return x; } }",
    "twice": "fn twice(x) { return x + x; }",
    "same": "fn same(a, b) { return a == b; }",
    "wrap": "fn wrap(x) { return [x]; }",
    "get": "fn get(a, i) { return a[i]; }",
    "put": "fn put(a, i, v) { a[i] = v; }",
    "near": "fn near(a, i, d) { print(a[i - d]); return a[-i + 2 * i + d]; }",
    "show": "fn show(x) { return len([x]); }",
    "fill": "fn fill(n, v) { return len(array(n, v)); }",
    "keep": "fn keep(a, k) { let n = len(a); a = [k]; return n; }",
}
# Argument types of the helpers a sweep calls with many type combinations.
SWEEPS = {
    "id": [(t,) for t in TYPES],
    "same": [(t, t) for t in TYPES],
    "maybe": [("bool", t) for t in TYPES],
    "pick": [("bool", a, b) for a in TYPES for b in TYPES],
    "keep": [(a, s) for a in ARRAYS for s in SCALARS],
}

# Deep recursion: the depth asked from the main code (which is no call: 9999
# makes 10,000 active calls, the limit; 10000 is a stack overflow), the
# locals live across the recursive call, and each kind of local's run time
# in the interpreter (a[i], a[i] + n, a float, an array: measured). Depth
# times cost stays below DEEP_COST: at most about 0.6 s in the interpreter.
DEPTHS = ["20", "400", "9990", "9999", "9999", "10000", "10000"]  # (the limit's edges most)
FRAME_LOCALS = [1, 8, 24, 48, 64, 80]
LOCAL_COSTS = [1.0, 1.3, 1.9, 5.6]
DEEP_COST = 640_000


@dataclass
class Function:
    """A function of the program, as its callers see it."""

    name: str
    params: list[str]
    result: str                     # the type of any call's value
    modes: list[str] | None = None  # a selector function's result for k = 0, 1, ...; last: others
    cheap: bool = True              # no loop, no recursion: callable in long loops
    heavy: bool = False             # a long loop: callable from the main code, outside loops


class Generator:
    def __init__(self, choose, size: int = 12):
        self.choose = choose
        self.budget = size          # statements left to write
        self.scopes: list[dict[str, str]] = []   # name -> its type here
        self.loops: list[dict[str, str]] = []    # per enclosing loop: the types at its entry
        self.frozen: set[str] = set()   # names the generator relies on: never assigned
        self.fixed: set[str] = set()    # names whose type must stay (a recursion counter)
        self.functions: list[Function] = []
        self.helpers: list[str] = []
        self.extra: list[str] = []      # functions a statement needed, after the main code
        self.names = 0
        self.loop_depth = 0
        self.result: str | None = None  # what the function being written returns (None: main)
        self.cheap = True               # ... it has no loop and calls none that has one
        self.heavy = False              # ... it has a long loop
        self.long_loops = True          # ... it may have one (not if it recurses)
        self.hot = False                # in a long loop: cheap statements only
        self.deep = False               # one deep recursion per program (run time)

    def pick(self, items):
        return items[self.choose(len(items))]

    def fresh(self, prefix: str) -> str:
        self.names += 1
        return f"{prefix}{self.names}"

    # --- what is known about variables ---
    def visible(self) -> dict[str, str]:
        found = {}
        for scope in self.scopes:
            found.update(scope)
        return found

    def variables(self, type_: str) -> list[str]:
        return [name for name, t in self.visible().items() if t == type_]

    def variables_within(self, type_: str) -> list[str]:
        return [name for name, t in self.visible().items() if within(t, type_)]

    def set_type(self, name: str, type_: str) -> None:
        for scope in reversed(self.scopes):
            if name in scope:
                scope[name] = type_
                return

    def snapshot(self) -> list[dict[str, str]]:
        return [dict(scope) for scope in self.scopes]

    def restore(self, saved: list[dict[str, str]]) -> None:
        for scope, types in zip(self.scopes, saved, strict=True):
            scope.update(types)

    @staticmethod
    def join(a: list[dict[str, str]], b: list[dict[str, str]]) -> list[dict[str, str]]:
        """The types where two paths meet."""
        return [{name: union(x[name], y[name]) for name in x} for x, y in zip(a, b, strict=True)]

    def allowed(self, name: str) -> list[str] | None:
        """The types `name` may be given here (None: any): inside a loop only
        those it had at the loop's entry, so that the next iteration's code,
        written for those, stays valid."""
        bound = members(self.visible()[name]) if name in self.fixed else None
        for frame in self.loops:
            if name in frame:
                bound = [t for t in members(frame[name]) if bound is None or t in bound]
        return bound

    def assignable(self) -> list[str]:
        return [name for name in self.visible() if name not in self.frozen]

    def enter_loop(self) -> list[dict[str, str]]:
        """Before a loop's body: maybe let a variable take one more type in
        it, then fix what the body must keep. Returns the types at the entry."""
        if self.choose(4) == 3:
            self.widen()
        self.loops.append(self.visible())
        self.loop_depth += 1
        self.cheap = False
        return self.snapshot()

    def leave_loop(self, entry: list[dict[str, str]]) -> None:
        """After a loop: zero or more iterations leave the entry's types."""
        self.loops.pop()
        self.loop_depth -= 1
        self.restore(entry)

    def widen(self) -> None:
        """Let a variable hold one more type (an over-approximation, always
        sound) so that the loop after this may give it that type."""
        names = [n for n in self.assignable() if n not in self.fixed]
        if names:
            name = self.pick(names)
            options = self.allowed(name)
            extra = self.pick(TYPES if options is None else options)
            self.set_type(name, union(self.visible()[name], extra))

    # --- types to write ---
    def any_type(self) -> str:
        """A type for a value: simple ones first, then nil, arrays, unions,
        and the types the program's variables and functions have."""
        kind = self.choose(6)
        if kind < 3:
            return SCALARS[kind]
        if kind == 3:
            return self.pick(["nil"] + ARRAYS)
        if kind == 4:
            return union(self.pick(TYPES), self.pick(TYPES))
        known = list(dict.fromkeys([*self.visible().values(),
                                    *(f.result for f in self.functions)]))
        return self.pick(known) if known else "int"

    def value_type(self) -> str:
        """The type of a value to print or keep: mostly int, float or bool."""
        kind = self.choose(5)
        return SCALARS[kind] if kind < 3 else self.any_type()

    def param_type(self) -> str:
        """Mostly int and float (what the typed code paths use most)."""
        return self.pick(["int", "float"]) if self.choose(4) < 3 else self.any_type()

    # --- expressions ---
    def expr(self, type_: str, depth: int = 0) -> str:
        """An expression whose value has type `type_` (a union: one of its members)."""
        if "|" in type_:
            return self.union_expr(type_, depth)
        if type_ == "nil":
            return self.nil_expr(depth)
        if type_ in ARRAYS:
            return self.array_expr(type_, depth)
        return self.scalar_expr(type_, depth)

    def scalar_expr(self, type_: str, depth: int) -> str:
        if depth > 3:
            return self.leaf(type_)
        kind = self.choose(8)
        if kind <= 1:
            return self.leaf(type_)
        if kind >= 6:
            return self.scalar_extra(type_, depth)
        if type_ == "bool":
            return f"({self.condition(depth)})"
        if kind == 2:
            ops = INT_OPS if type_ == "int" else FLOAT_OPS
            return (f"({self.expr(type_, depth + 1)} {self.pick(ops)} "
                    f"{self.expr(type_, depth + 1)})")
        if kind == 3:
            other = "float" if type_ == "int" else "int"
            convert = "int" if type_ == "int" else "float"
            inner = self.expr(other, depth + 1)
            return self.pick([f"{convert}({inner})", f"abs({self.expr(type_, depth + 1)})",
                              f"-{self.expr(type_, depth + 1)}",
                              f"{self.pick(['min', 'max'])}({self.expr(type_, depth + 1)}, "
                              f"{self.expr(type_, depth + 1)})"] +
                             ([f"~{self.expr('int', depth + 1)}"] if type_ == "int" else
                              [f"sqrt(abs({self.expr('float', depth + 1)}))"]))
        if kind == 4:
            arrays = self.variables(f"array<{type_}>")
            if arrays:
                name = self.pick(arrays)
                if type_ == "int" and self.choose(3) == 0:
                    return f"len({name})"
                return f"{name}[{self.index(name, depth)}]"
        return self.call_for(type_, depth) or self.leaf(type_)

    def scalar_extra(self, type_: str, depth: int) -> str:
        """An element of an array made for this expression alone, or an int,
        float or bool made from values whose type is known only at run time."""
        form = self.choose(3)
        if form == 0:
            count = 2 + self.choose(2)
            items = ", ".join(self.expr(type_, depth + 1) for _ in range(count))
            return f"[{items}][{self.small_index(count, depth)}]"
        if form == 1:
            return self.call_for(type_, depth) or self.leaf(type_)
        if type_ == "int":
            return self.int_extra(depth + 1)
        if type_ == "float":
            return f"float({self.expr(NUMBER, depth + 1)})"
        return f"({self.identity_test(depth)})"

    def int_extra(self, depth: int) -> str:
        """The length of an array that dies at once, or an int from a number of either type."""
        form = self.choose(4)
        if form == 0:
            return f"len([{self.expr(self.scalar_union(), depth)}])"
        if form == 1:
            return f"len(array({self.length(depth)}, {self.leaf(self.pick(SCALARS))}))"
        if form == 2:
            return f"int({self.expr(NUMBER, depth)})"
        return f"len({self.expr(self.array_type(), depth)})"

    def scalar_union(self) -> str:
        return union(self.pick(SCALARS), self.pick(SCALARS))

    def array_type(self) -> str:
        return union(self.pick(ARRAYS), self.pick(ARRAYS))

    def length(self, depth: int) -> str:
        form = self.choose(5)
        return ["3", "1", "0", "5"][form] if form < 4 else f"({self.expr('int', depth + 1)} & 7)"

    def small_index(self, count: int, depth: int) -> str:
        return f"abs({self.expr('int', depth + 1)} % {count})"

    def index(self, array: str, depth: int) -> str:
        if self.choose(8) == 0:  # sometimes anything: an out-of-bounds error
            return self.expr("int", depth + 1)
        return f"abs({self.expr('int', depth + 1)} % len({array}))"

    def nil_expr(self, depth: int) -> str:
        if depth <= 3 and self.choose(3) == 2:
            return self.call_for("nil", depth) or "nil"
        return self.leaf("nil")

    def array_expr(self, type_: str, depth: int) -> str:
        form = self.choose(5) if depth <= 3 else 0
        if form == 2:
            items = ", ".join(self.expr(element(type_), depth + 1)
                              for _ in range(1 + self.choose(3)))
            return f"[{items}]"
        if form == 3:
            return f"array({self.length(depth)}, {self.leaf(element(type_))})"
        if form == 4:
            return self.call_for(type_, depth) or self.leaf(type_)
        return self.leaf(type_)

    def union_expr(self, type_: str, depth: int) -> str:
        """A value of one of `type_`'s members; which one, maybe only the run knows."""
        form = self.choose(6) if depth <= 3 else 1
        if form == 1:
            return self.leaf(type_)
        if form == 2:
            return self.call_for(type_, depth) or self.leaf(type_)
        if form == 3 and within(type_, NUMBER):
            return self.number_op(type_, depth)
        if form == 4:
            arrays = [n for n, t in self.visible().items()
                      if is_arrays(t) and within(union(*map(element, members(t))), type_)]
            if arrays:
                name = self.pick(arrays)
                return f"{name}[{self.index(name, depth)}]"
        if form == 5 and is_arrays(type_):
            return f"[{self.expr(union(*map(element, members(type_))), depth + 1)}]"
        return self.expr(self.pick(members(type_)), depth)

    def number_op(self, type_: str, depth: int) -> str:
        """`-x`, `abs(x)`, `x + x`, `min(x, x)`: valid for an int and for a
        float, and of x's type."""
        form = self.choose(4)
        names = self.variables_within(type_)
        if form >= 2 and names:
            name = self.pick(names)
            if form == 3:
                return f"{self.pick(['min', 'max'])}({name}, -{name})"
            return f"({name} {self.pick(['+', '-', '*'])} {name})"
        value = self.expr(type_, depth + 1)
        return f"-{value}" if form == 0 else f"abs({value})"

    def leaf(self, type_: str) -> str:
        names = self.variables_within(type_)
        if names and self.choose(3):
            return self.pick(names)
        if "|" in type_:
            type_ = self.pick(members(type_))
        if type_ == "int":
            return self.pick(INT_LITERALS)
        if type_ == "float":
            return self.pick(FLOAT_LITERALS)
        if type_ == "nil":
            return "nil"
        if type_ in ARRAYS:
            return f"[{self.leaf(element(type_))}]"
        return self.pick(["true", "false"])

    def condition(self, depth: int) -> str:
        kind = self.choose(6)
        if kind == 0:
            t = self.pick(["int", "float"])
            return f"{self.expr(t, depth + 1)} {self.pick(COMPARISONS)} {self.expr(t, depth + 1)}"
        if kind == 1:
            return f"not ({self.condition(depth + 1)})"
        if kind == 2 and depth < 3:
            return (f"({self.condition(depth + 1)}) {self.pick(['and', 'or'])} "
                    f"({self.condition(depth + 1)})")
        if kind == 4 and depth < 3:  # `==` on two values of one type, any type
            t = self.pick(TYPES)
            return (f"{self.expr(t, depth + 1)} {self.pick(['==', '!='])} "
                    f"{self.expr(t, depth + 1)}")
        if kind == 5:
            return self.identity_test(depth)
        return self.leaf("bool")

    def identity_test(self, depth: int) -> str:
        """Comparisons valid whatever the type: `x == x`, and `== nil` on a
        value known to be nil."""
        names = list(self.visible())
        op = self.pick(["==", "!="])
        if names and self.choose(2):
            name = self.pick(names)
            return f"{name} {op} {name}"
        return f"{self.expr('nil', depth + 1)} {op} nil"

    # --- calls ---
    def callable(self, function: Function) -> bool:
        """Calls stay cheap in long loops, and long loops run a bounded number
        of times: only the main code calls them, outside its loops."""
        if function.heavy:
            return self.result is None and self.loop_depth == 0 and not self.hot
        return function.cheap or not self.hot

    def call(self, function: Function, selector: str | None, depth: int) -> str:
        self.cheap = self.cheap and function.cheap
        args = [self.expr(p, depth + 1) for p in function.params]
        return f"{function.name}({', '.join(([selector] if selector else []) + args)})"

    def call_for(self, type_: str, depth: int) -> str | None:
        """A call whose value has type `type_`: a function, a selector function
        told which path to take, or a generic helper. None if there is none."""
        options = []
        for f in filter(self.callable, self.functions):
            if f.modes is None:
                if within(f.result, type_):
                    options.append(lambda f=f: self.call(f, None, depth))
                continue
            paths = [k for k, t in enumerate(f.modes) if within(t, type_)]
            if paths:
                options.append(lambda f=f, paths=paths: self.call(
                    f, self.selector(f, self.pick(paths)), depth))
            if within(f.result, type_):  # any path
                options.append(lambda f=f: self.call(f, self.expr("int", depth + 1), depth))
        options += [lambda h=h: self.helper_call(h, type_, depth + 1)
                    for h in self.helpers if self.helper_fits(h, type_)]
        return self.pick(options)() if options else None

    def selector(self, function: Function, path: int) -> str:
        if path < len(function.modes) - 1:
            return str(path)
        return self.pick([str(path), "-1", "99"])  # the path that no `if k == i` takes

    @staticmethod
    def helper_fits(name: str, type_: str) -> bool:
        """Can a call of helper `name` have type `type_`?"""
        if name in ("id", "pick", "maybe"):
            return True
        if name == "twice":
            return within(type_, NUMBER)
        if name == "wrap":
            return is_arrays(type_)
        if name in ("get", "near"):
            return within(type_, "int|float|bool")
        if name == "put":
            return type_ == "nil"
        return type_ == ("bool" if name == "same" else "int")  # show, fill, keep

    def helper_call(self, name: str, type_: str, d: int) -> str:
        """A call of a generic helper whose value has type `type_`."""
        if name == "id":
            return f"id({self.expr(type_, d)})"
        if name == "pick":
            return self.pick_call(type_, d)
        if name == "maybe":
            return self.maybe_call(type_, d)
        if name == "twice":
            return f"twice({self.expr(type_, d)})"
        if name == "wrap":
            return f"wrap({self.expr(union(*map(element, members(type_))), d)})"
        if name == "get":
            array, index = self.indexed(self.pick(members(type_)), d)
            return f"get({array}, {index})"
        if name == "near":
            array, index = self.indexed(self.pick(members(type_)), d)
            return f"near({array}, {index}, 0)"  # (in bounds where the index is)
        if name == "put":
            elem = self.pick(SCALARS)
            array, index = self.indexed(elem, d)
            return f"put({array}, {index}, {self.expr(elem, d)})"
        if name == "same":
            t = self.pick(TYPES)
            return f"same({self.expr(t, d)}, {self.expr(t, d)})"
        if name == "show":
            return f"show({self.expr(self.scalar_union(), d)})"
        if name == "fill":
            return f"fill({self.length(d)}, {self.leaf(self.pick(SCALARS))})"
        return f"keep({self.expr(self.array_type(), d)}, {self.expr(self.scalar_union(), d)})"

    def pick_call(self, type_: str, d: int) -> str:
        """`pick(c, a, b)`: with a literal c the caller knows which one it gets."""
        form = self.choose(3)
        if form == 0:
            return f"pick(true, {self.expr(type_, d)}, {self.expr(self.any_type(), d)})"
        if form == 1:
            return f"pick(false, {self.expr(self.any_type(), d)}, {self.expr(type_, d)})"
        return f"pick({self.condition(d)}, {self.expr(type_, d)}, {self.expr(type_, d)})"

    def maybe_call(self, type_: str, d: int) -> str:
        """`maybe(c, x)` is x or (falling off the end) nil."""
        rest = union(*(m for m in members(type_) if m != "nil")) if type_ != "nil" else ""
        if not rest:
            return f"maybe(false, {self.expr(self.any_type(), d)})"
        if "nil" not in members(type_):
            return f"maybe(true, {self.expr(rest, d)})"
        return f"maybe({self.condition(d)}, {self.expr(rest, d)})"

    def indexed(self, elem: str, d: int) -> tuple[str, str]:
        """An array of `elem` and an index into it (rarely out of bounds)."""
        arrays = self.variables(f"array<{elem}>")
        if arrays and self.choose(2):
            name = self.pick(arrays)
            return name, self.index(name, d)
        count = 1 + self.choose(3)
        items = ", ".join(self.expr(elem, d + 1) for _ in range(count))
        return f"[{items}]", self.small_index(count, d)

    # --- statements ---
    def block(self, indent: str, count: int) -> list[str]:
        self.scopes.append({})
        lines = []
        for _ in range(count):
            if self.budget <= 0:
                break
            self.budget -= 1
            lines += self.statement(indent)
        self.scopes.pop()
        return lines

    def statement(self, indent: str) -> list[str]:
        """One statement of a kind from STATEMENTS; a kind that does not fit
        here falls back to a print (or, in a long loop, a let)."""
        kind = self.choose(len(STATEMENTS))
        if kind == 0 or not any(self.scopes) or (self.hot and kind not in HOT_STATEMENTS):
            return self.let_statement(indent)
        lines = STATEMENTS[kind](self, indent)
        if lines is not None:
            return lines
        return self.let_statement(indent) if self.hot else self.print_statement(indent)

    def let_statement(self, indent: str) -> list[str]:
        t = self.value_type()
        name = self.fresh("v")
        line = f"{indent}let {name} = {self.expr(t)};"
        self.scopes[-1][name] = t
        return [line]

    def assign_statement(self, indent: str) -> list[str] | None:
        t = self.pick(SCALARS)
        names = [n for n in self.variables(t) if n not in self.frozen]
        if names:
            return [f"{indent}{self.pick(names)} = {self.expr(t)};"]
        return None

    def print_statement(self, indent: str) -> list[str]:
        values = ", ".join(self.expr(self.value_type()) for _ in range(1 + self.choose(3)))
        return [f"{indent}print({values});"]

    def if_statement(self, indent: str) -> list[str]:
        lines = [f"{indent}if {self.condition(0)} {{"]
        before = self.snapshot()
        lines += self.block(indent + "    ", 2)
        after_then, after_else = self.snapshot(), before
        if self.choose(2):
            self.restore(before)
            lines += [f"{indent}}} else {{"] + self.block(indent + "    ", 2)
            after_else = self.snapshot()
        self.restore(self.join(after_then, after_else))
        return lines + [f"{indent}}}"]

    def for_statement(self, indent: str) -> list[str] | None:
        if self.loop_depth >= 2:
            return None
        var = self.fresh("i")
        entry = self.enter_loop()
        self.scopes.append({var: "int"})
        body = self.block(indent + "    ", 3)
        self.scopes.pop()
        self.leave_loop(entry)
        return [f"{indent}for {var} in {self.pick(['0', '-1', '2'])}.."
                f"{self.pick(['0', '3', '5'])} {{"] + body + [f"{indent}}}"]

    def while_statement(self, indent: str) -> list[str] | None:
        if self.loop_depth >= 2:
            return None
        if self.choose(2):
            return self.counting_loop(indent)
        if self.choose(2):
            return self.chase_loop(indent)
        counter = self.fresh("c")
        lines = [f"{indent}let {counter} = 0;"]
        entry = self.enter_loop()
        lines += [f"{indent}while {counter} < {self.pick(['2', '4'])} and "
                  f"({self.condition(1)}) {{",
                  f"{indent}    {counter} = {counter} + 1;"]
        lines += self.block(indent + "    ", 3)
        if self.choose(4) == 0:
            lines.append(f"{indent}    {self.pick(['break', 'continue'])};")
        self.leave_loop(entry)
        return lines + [f"{indent}}}"]

    def chase_loop(self, indent: str) -> list[str]:
        """A small while loop that follows links through an int array (List's
        `is_shorter_than`), which the JIT lowers twice and polls every other
        iteration (jit.loops.unrolled_loops): it ends after an odd or even
        number of iterations, by its test, a break or an index error, in
        either copy; a `continue` is a second back-edge."""
        arrays = [n for n in self.variables("array<int>") if n not in self.frozen]
        ints = [n for n in self.assignable() if self.visible()[n] == "int"]
        x, k, inner, lines = self.fresh("x"), self.fresh("k"), indent + "    ", []
        if not arrays or self.choose(2):  # links: a list, a cycle, or one out of bounds
            name = self.fresh("a")
            links = [self.pick(["-1", "0", "1", "2", "3"]) for _ in range(1 + self.choose(4))]
            lines.append(f"{indent}let {name} = [{', '.join(links)}];")
            self.scopes[-1][name] = "array<int>"
        else:
            name = self.pick(arrays)
        step = self.pick([f"{name}[{x}]", f"{name}[{x}] & 1", f"({x} + 1) % (len({name}) + 1)",
                          f"{name}[{x}] - {x}"])
        lines += [f"{indent}let {x} = {self.pick(['0', '1', '-1', *ints[:1]])};",
                  f"{indent}let {k} = 0;",
                  f"{indent}while {x} != -1 and {k} < {self.pick(['3', '4', '7'])} {{",
                  f"{inner}{x} = {step};", f"{inner}{k} = {k} + 1;"]
        entry = self.enter_loop()
        self.frozen.update((x, k))  # (the loop ends: only its own lines change them)
        shape = self.choose(4)
        if shape == 0:
            lines.append(f"{inner}if {self.condition(1)} {{ break; }}")
        elif shape == 1:
            lines.append(f"{inner}if {x} == {self.pick(['0', '1'])} {{ continue; }}")
        elif shape == 2:
            lines.append(f"{inner}print({x});")
        self.frozen.difference_update((x, k))
        self.leave_loop(entry)
        self.scopes[-1].update({x: "int", k: "int"})
        return lines + [f"{indent}}}", f"{indent}print({x}, {k});"]

    def counting_loop(self, indent: str) -> list[str]:
        """A counting loop (step last, none of its names assignable in the
        body), which the JIT strip-mines: jit/loops.py."""
        counter, step = self.fresh("c"), self.fresh("s")
        lines = [f"{indent}let {counter} = {self.pick(['0', '-2', '1'])};",
                 f"{indent}let {step} = 1 + ({self.expr('int', 1)} & 3);",
                 f"{indent}while {counter} {self.pick(['<', '<='])} "
                 f"{self.pick(['0', '3', '5'])} {{"]
        entry = self.enter_loop()
        lines += self.block(indent + "    ", 3)
        if self.choose(4) == 0:
            lines.append(f"{indent}    if {self.condition(1)} {{ break; }}")
        self.leave_loop(entry)
        return lines + [f"{indent}    {counter} = {counter} + {step};", f"{indent}}}"]

    def indexed_loop(self, indent: str) -> list[str] | None:
        """A loop over an array's indices that reads and writes it with its
        variable, with an int it does not change, with linear expressions
        of them, and through helpers that index with their parameters: a
        for loop, or a while loop that tests its variable first and steps
        it last, up or down (by 1, or 2, which may step over the bound);
        sometimes the range passes an end, or the body changes the variable
        or the array, or leaves the loop early (jit/ranges.py proves a for
        loop's indices in bounds before the loop, or keeps the checks: an
        error comes at the same iteration; a while loop keeps its checks,
        and its shape is the one a test before it would need)."""
        arrays = [(n, t) for t in ARRAYS for n in self.variables(t) if n not in self.frozen]
        if self.loop_depth >= 2 or not arrays:
            return None
        name, type_ = self.pick(arrays)
        elem, var, inner = element(type_), self.fresh("i"), indent + "    "
        lo = self.pick(["0", "0", "1", "-1", f"len({name}) - 2"])
        hi = self.pick([f"len({name})", f"len({name})", "2", f"len({name}) + 1",
                        f"len({name}) - 1"])
        if self.choose(2):  # a while loop, up or down, to a bound in a local or not
            step, bound = self.pick(["1", "1", "2"]), self.fresh("n")
            if self.choose(2):
                head = [f"{indent}let {var} = {lo};", f"{indent}let {bound} = {hi};",
                        f"{indent}while {var} {self.pick(['<', '<='])} "
                        f"{self.pick([bound, bound, hi])} {{"]
                tail = f"{inner}{var} = {var} + {step};"
            else:
                head = [f"{indent}let {var} = {hi} - 1;", f"{indent}let {bound} = {lo};",
                        f"{indent}while {var} {self.pick(['>=', '>'])} "
                        f"{self.pick([bound, bound, '0', '1', lo])} {{"]
                tail = f"{inner}{var} = {var} - {step};"
            self.frozen.add(var)  # (only the step changes it: the loop ends)
            lines = self.indexed_body(name, type_, var, inner, early=True)
            self.frozen.discard(var)
            return head + lines + [tail, f"{indent}}}"]
        return ([f"{indent}for {var} in {lo}..{hi} {{"]
                + self.indexed_body(name, type_, var, inner) + [f"{indent}}}"])

    def indexed_body(self, name: str, type_: str, var: str, inner: str,
                     early: bool = False) -> list[str]:
        """indexed_loop's body (`early`: it may break out of the loop)."""
        elem = element(type_)
        entry = self.enter_loop()
        self.scopes.append({var: "int"})
        body = [f"{inner}{name}[{var}] = {self.expr(elem, 2)};" if self.choose(2)
                else f"{inner}print({name}[{var}]);"]
        ints = self.variables("int")
        if ints and self.choose(2):
            k = self.pick(ints)
            read = f"print({var}, {name}[{k}]);"
            body.append(f"{inner}{read}" if self.choose(2) else
                        f"{inner}if {k} >= 0 and {k} < len({name}) {{ {read} }}")
        # (in bounds wherever the variable is, mostly: an error ends the program)
        linear = ([f"len({name}) - 1 - {var}", f"{var} * 1 + 0", f"-(-{var})"] if self.choose(4)
                  else [f"{var} + 1", f"{var} - 1", f"2 * {var}",
                        *(f"{k} - {var}" for k in ints[:1]), *(f"{var} + {k}" for k in ints[-1:])])
        if self.choose(2):
            body.append(f"{inner}print({name}[{self.pick(linear)}]);")
        if self.choose(3) == 0:
            body.append(f"{inner}print({self.helper('get')}({name}, {self.pick(linear)}));"
                        if self.choose(2) else
                        f"{inner}print({self.helper('near')}({name}, {var}, "
                        f"{self.pick(['0', '0', '0', '1', *ints[:1]])}));")
        if self.choose(4) == 0 and var not in self.frozen:
            body.append(f"{inner}{var} = {var} + {self.pick(['1', '-1'])};")
        if self.choose(5) == 0:
            body.append(f"{inner}{name} = {self.array_expr(type_, 2)};")
        if early and self.choose(4) == 0:
            body.append(f"{inner}if {var} == {self.pick(['0', '1', f'len({name})'])} "
                        "{ break; }")
        body.append(f"{inner}print({name}[{var}]);")
        body += self.block(inner, 2)
        self.scopes.pop()
        self.leave_loop(entry)
        return body

    def array_statement(self, indent: str) -> list[str]:
        elem = self.pick(["int", "float", "bool"])
        name = self.fresh("a")
        if self.choose(2):  # an array literal
            value = "[" + ", ".join(self.expr(elem, 2) for _ in range(1 + self.choose(4))) + "]"
        else:
            value = f"array({self.pick(['3', '1', '0', '5'])}, {self.leaf(elem)})"
        self.scopes[-1][name] = f"array<{elem}>"
        lines = [f"{indent}let {name} = {value};"]
        if self.choose(3) == 0:  # a second name for it (one array, wherever it goes)
            alias = self.fresh("a")
            self.scopes[-1][alias] = f"array<{elem}>"
            lines.append(f"{indent}let {alias} = {name};")
        return lines

    def store_statement(self, indent: str) -> list[str] | None:
        for elem in ("int", "float", "bool"):
            arrays = self.variables(f"array<{elem}>")
            if arrays:
                name = self.pick(arrays)
                return [f"{indent}if len({name}) > 0 {{",
                        f"{indent}    {name}[{self.index(name, 1)}] = {self.expr(elem)};",
                        f"{indent}}}"]
        return None

    def call_statement(self, indent: str) -> list[str] | None:
        """A call for its effects: its value (maybe an array) is dropped."""
        functions = list(filter(self.callable, self.functions))
        if functions and self.choose(3):
            f = self.pick(functions)
            selector = self.expr("int", 1) if f.modes else None
            return [f"{indent}{self.call(f, selector, 0)};"]
        call = self.call_for(self.value_type(), 0)
        return [f"{indent}{call};"] if call else None

    def bool_statement(self, indent: str) -> list[str]:
        """A bool value made with `or` / `and`, not a jump condition."""
        names = [n for n in self.variables("bool") if n not in self.frozen]
        target = self.pick(names) if names else None
        value = f"({self.condition(1)}) {self.pick(['or', 'and'])} ({self.condition(1)})"
        if target:
            return [f"{indent}{target} = {value};"]
        return [f"{indent}print({value});"]

    def retype_statement(self, indent: str) -> list[str] | None:
        """Give a variable a value of another type (within what enclosing loops allow)."""
        names = [n for n in self.assignable() if n not in self.fixed]
        if not names:
            return None
        name = self.pick(names)
        old, allowed = self.visible()[name], self.allowed(name)
        options = [("nil", "nil"), (None, self.any_type())]
        if within(old, NUMBER):
            options += [(f"float({name})", "float"), (f"int({name})", "int")]
        if old in SCALARS:
            options.append((f"[{name}]", f"array<{old}>"))
        if allowed is not None:
            options = ([o for o in options if within(o[1], union(*allowed))] or
                       [(None, self.pick(allowed))])
        value, t = self.pick(options)
        value = value or self.expr(t)
        self.set_type(name, t)
        return [f"{indent}{name} = {value};"]

    def return_statement(self, indent: str) -> list[str] | None:
        """In a function, an early return of one of the types its callers expect."""
        if self.result is None:
            return None
        t = self.pick(members(self.result))
        value = "" if t == "nil" and self.choose(2) else f" {self.expr(t, 1)}"
        return [f"{indent}if {self.condition(1)} {{", f"{indent}    return{value};",
                f"{indent}}}"]

    def pattern_statement(self, indent: str) -> list[str] | None:
        """A shape random statements rarely make, written on purpose."""
        return self.pick([self.nil_search, self.phase_loop, self.sweep, self.deep_call])(indent)

    # --- patterns: polymorphic loops, sweeps, deep recursion ---
    def nil_search(self, indent: str) -> list[str] | None:
        """`let best = nil;` and a loop that may set it to another type."""
        if self.loop_depth >= 2:
            return None
        best, var = self.fresh("v"), self.fresh("i")
        found = self.pick(SCALARS + ARRAYS)
        lines = [f"{indent}let {best} = nil;"]
        self.scopes[-1][best] = union("nil", found)  # what the loop may leave in it
        entry = self.enter_loop()
        self.scopes.append({var: "int"})
        lines += [f"{indent}for {var} in 0..{self.pick(['3', '1', '6'])} {{",
                  f"{indent}    if {self.condition(1)} {{",
                  f"{indent}        {best} = {self.expr(found, 1)};",
                  f"{indent}    }}"]
        lines += self.block(indent + "    ", self.choose(2))
        self.scopes.pop()
        self.leave_loop(entry)
        return lines + [f"{indent}}}", f"{indent}print({best});"]

    def phase_loop(self, indent: str) -> list[str] | None:
        """A loop whose variable changes type at iteration `k` (or back and
        forth, every `k`): native code compiled for the old type must give
        way. Some run long enough to be compiled at the default threshold too
        (outside other loops, in the main code or a function that does not
        recurse, which then only the main code calls)."""
        if self.loop_depth >= 2:
            return None
        long = self.long_loops and self.loop_depth == 0 and not self.hot
        count = self.pick(["3", "12", "1500", "3000"] if long else ["3", "12"])
        self.heavy = self.heavy or (self.result is not None and int(count) > 12)
        switch = self.pick(["0", "1", "2", "5", "1001", str(int(count) - 1)])
        var, flag = self.fresh("v"), self.fresh("v")
        numeric = self.choose(2) == 0  # int <-> float: one update fits both
        old = self.pick(["int", "float"] if numeric else TYPES)
        if numeric:
            new, convert = ("float" if old == "int" else "int"), None
        else:
            new, convert = self.conversion(var, old)
        lines = [f"{indent}let {var} = {self.expr(old, 1)};"]
        if not numeric:  # the flag tells which type the variable has
            lines.append(f"{indent}let {flag} = false;")
            self.scopes[-1][flag] = "bool"
        self.scopes[-1][var] = union(old, new)
        self.frozen |= {var, flag}
        entry = self.enter_loop()
        head, counter, step = self.loop_head(indent, count)
        if numeric:
            body = [self.numeric_switch(var, counter, old, new, switch),
                    f"{var} = {self.same_type_update(var)};"]
        else:
            body = [f"if {counter} == {switch} {{ {var} = {convert}; {flag} = true; }}",
                    f"if {flag} {{ {var} = {self.update(var, new)}; }} "
                    f"else {{ {var} = {self.update(var, old)}; }}"]
        lines += head + [f"{indent}    {line}" for line in body]
        hot, self.hot = self.hot, long
        lines += self.block(indent + "    ", self.choose(3))
        self.hot = hot
        lines += [f"{indent}    {line}" for line in step] + [f"{indent}}}"]
        if not step:
            self.scopes.pop()  # the for loop's variable
        self.leave_loop(entry)
        self.frozen -= {var, flag}
        return lines + ([f"{indent}print({var});"] if self.choose(2) else [])

    def numeric_switch(self, var: str, counter: str, old: str, new: str, k: str) -> str:
        """From int to float (or back) at iteration k, or every k iterations
        for one iteration: the same site changes types again and again."""
        if self.choose(2) == 0 or int(k) < 2:
            return f"if {counter} == {k} {{ {var} = {new}({var}); }}"
        return (f"if {counter} % {k} == 0 {{ {var} = {new}({var}); }} "
                f"else {{ {var} = {old}({var}); }}")

    def loop_head(self, indent: str, count: str) -> tuple[list[str], str, list[str]]:
        """The first lines of a for or while loop over 0..count, its counter,
        and the while loop's step (for its last line)."""
        if self.choose(2) == 0:
            var = self.fresh("i")
            self.scopes.append({var: "int"})
            return [f"{indent}for {var} in 0..{count} {{"], var, []
        counter = self.fresh("c")  # in no scope: nothing else assigns it
        return ([f"{indent}let {counter} = 0;", f"{indent}while {counter} < {count} {{"],
                counter, [f"{counter} = {counter} + 1;"])

    def conversion(self, var: str, old: str) -> tuple[str, str]:
        """The type `var` (of type `old`) changes to, and the value it gets."""
        form = self.choose(4)
        if form == 0 and old in ("int", "float"):
            new = "float" if old == "int" else "int"
            return new, f"{new}({var})"
        if form == 1 and old in SCALARS:
            return f"array<{old}>", f"[{var}]"
        if form == 2:
            return "nil", "nil"
        new = self.pick(TYPES)
        return new, self.expr(new, 2)

    def same_type_update(self, var: str) -> str:
        """A new value of the type `var` has, whether int or float."""
        return self.pick([f"({var} + {var})", f"-{var}", f"abs({var})", f"({var} * {var})",
                          f"(({var} - {var}) + {var})"])

    def update(self, var: str, type_: str) -> str:
        """A new value of `type_` for `var`, which holds a `type_`, often computed from it."""
        saved = self.visible()[var]
        self.set_type(var, type_)
        if type_ == "int":
            value = f"({var} {self.pick(['+', '-', '*', '^', '|'])} {self.expr('int', 2)})"
        elif type_ == "float":
            value = f"({var} {self.pick(['+', '-', '*'])} {self.expr('float', 2)})"
        elif type_ == "bool":
            value = self.pick([f"not {var}", f"{var} == {self.expr('bool', 2)}"])
        else:
            value = self.expr(type_, 2)
        self.set_type(var, saved)
        return value

    def sweep(self, indent: str) -> list[str] | None:
        """A generic helper called with six or more type combinations in a
        row: more than the JIT specializes one function for."""
        names = [h for h in self.helpers if h in SWEEPS]
        if not names:
            return None
        name = self.pick(names)
        combos = list(SWEEPS[name])
        calls = []
        for _ in range(min(len(combos), 6 + self.choose(3))):
            types = combos.pop(self.choose(len(combos)))
            args = ", ".join(self.leaf(t) if self.choose(2) else self.expr(t, 2) for t in types)
            calls.append(f"{name}({args})")
        return [f"{indent}print({', '.join(calls)});"]

    def deep_call(self, indent: str) -> list[str] | None:
        """From the main code (so the depth is exact), a recursion near or
        past the call limit, with tens of locals live across each call."""
        if self.result is not None or self.loop_depth or self.deep or self.choose(2) == 0:
            return None  # (only every other time: one costs as much as four other programs)
        self.deep = True
        depth = self.pick(DEPTHS)
        lines, count = self.deep_function("deep", self.pick(FRAME_LOCALS),
                                           DEEP_COST / int(depth))
        self.extra += lines
        return [f"{indent}print(deep({depth}, array({count}, 1)));"]

    def deep_function(self, name: str, count: int, budget: float) -> tuple[list[str], int]:
        """`name(n, a)`: it recurses n deep, and its locals (at most `count`,
        costing at most `budget`), read from `a`, which the callees change,
        all stay live across the call. Its style: plain ints (the most
        locals for the time), or numbers of both types, or arrays too.
        Also returns the number of locals."""
        kinds = [1, 3, 4][self.choose(3)]
        lines, terms, cost = [f"fn {name}(n, a) {{"], [], 0.0
        for i in range(count):
            kind = self.choose(kinds)
            kind = kind if cost + LOCAL_COSTS[kind] <= budget else 0
            if cost + LOCAL_COSTS[kind] > budget:
                break
            cost += LOCAL_COSTS[kind]
            value, term = [(f"a[{i}]", f"l{i}"), (f"a[{i}] + n", f"l{i}"),
                           (f"float(a[{i}]) * 0.5", f"int(l{i})"),
                           (f"[a[{i}]]", f"l{i}[0]")][kind]
            lines.append(f"    let l{i} = {value};")
            terms.append(term)
        count = len(terms)
        call = [f"    let t = {name}(n - 1, a);"]
        if self.choose(3) == 0:  # in a while loop that polls: the depth test is the constant's
            call = ["    let t = 0;", "    let k = 0;",
                    f"    while k != 1 {{ t = {name}(n - 1, a); k = k + 1; }}"]
        return lines + ["    if n == 0 { return 0; }", f"    a[n % {count}] = n;", *call,
                        f"    return t + ({' + '.join(terms)}) % 7;", "}"], count

    # --- errors: wrong in one way, or in two at once ---
    def bad_statement(self, indent: str) -> list[str] | None:
        """Rarely, a statement that fails; when it is wrong in two ways, its
        error is the interpreter's first check (operands are evaluated, then
        the bounds, then the element type are checked: vmlab/values.py)."""
        if self.choose(5) < 4:
            return None
        # (Stores and new arrays twice: each has several orders of checks to show.)
        line = self.pick([self.bad_store, self.bad_store, self.bad_index, self.bad_array,
                          self.bad_array, self.bad_operator, self.bad_unary,
                          self.bad_condition, self.bad_helper, self.misused_union,
                          self.bad_evaluation])()
        return [indent + line] if line else None

    def other(self, type_: str) -> str:
        """A type that is not `type_`."""
        return self.pick([t for t in TYPES if t != type_])

    def out_of_bounds(self) -> str:
        """An index no generated array has (none is longer than 64)."""
        if self.choose(2):
            return f"({self.expr('int', 2)} | 64)"
        return f"(-1 - ({self.expr('int', 2)} & 3))"

    def bad_store(self) -> str:
        elem = self.pick(SCALARS)
        array = self.expr(f"array<{elem}>", 2)
        index = self.out_of_bounds() if self.choose(2) else self.expr(self.other("int"), 2)
        value = self.expr(self.other(elem), 2)
        if self.choose(2):
            return f"{self.helper('put')}({array}, {index}, {value});"
        return f"({array})[{index}] = {value};"  # (a target of `~x[i] = v` is not x[i])

    def bad_index(self) -> str:
        target = self.expr(self.pick(SCALARS + ["nil"]), 2)
        index = self.expr(self.other("int"), 2)
        form = self.choose(3)
        if form == 0:
            return f"print({target}[{index}]);"
        if form == 1:
            return f"print({self.helper('get')}({target}, {index}));"
        return f"({target})[{index}] = {self.expr(self.pick(TYPES), 2)};"

    def bad_array(self) -> str:
        form = self.choose(3)
        fill = self.expr(self.pick(["nil"] + ARRAYS), 2)
        make = self.helper("fill") if self.choose(2) else "array"  # (fill: in compiled code)
        if form == 0:  # the length's type is checked before the element's
            return f"print({make}({self.expr(self.other('int'), 2)}, {fill}));"
        if form == 1:  # the element's type before the length's sign
            return f"print({make}((-1 - ({self.expr('int', 2)} & 3)), {fill}));"
        first = self.pick(TYPES)
        return f"print([{self.expr(first, 2)}, {self.expr(self.other(first), 2)}]);"

    def helper(self, name: str) -> str:
        """A generic helper's name, defined (after the main code) if it is not yet:
        an error in its compiled code, which knows the types at threshold 0."""
        if name not in self.helpers:
            self.helpers.append(name)
            self.extra.append(HELPERS[name])
        return name

    def bad_operator(self) -> str:
        op = self.pick(INT_OPS + COMPARISONS)
        left = self.pick(TYPES)
        right = self.other(left) if self.choose(2) else left
        if left == right and left in SCALARS:
            left = right = self.pick(["nil"] + ARRAYS)  # no operator but == and != takes these
            op = self.pick(INT_OPS + ["<", ">="])
        return f"print({self.expr(left, 2)} {op} {self.expr(right, 2)});"

    def bad_unary(self) -> str:
        template, valid = self.pick([("-{}", NUMBER), ("~{}", "int"), ("not {}", "bool"),
                                     ("len({})", union(*ARRAYS)), ("sqrt({})", "float"),
                                     ("abs({})", NUMBER), ("float({})", NUMBER),
                                     ("int({})", NUMBER)])
        t = self.pick([t for t in TYPES if t not in members(valid)])
        if self.choose(4) == 0:  # min and max: two operands, both int or both float
            other = self.pick(TYPES) if t not in members(NUMBER) else self.other(t)
            return f"print({self.pick(['min', 'max'])}({self.expr(t, 2)}, {self.expr(other, 2)}));"
        return f"print({template.format(self.expr(t, 2))});"

    def bad_condition(self) -> str:
        value = self.expr(self.other("bool"), 2)
        form = self.choose(4)
        if form == 0:
            return f"if {value} {{ print(0); }}"
        if form == 1:
            return f"while {value} {{ print(0); }}"
        if form == 2:
            return f"print(({value}) and true);"
        return (f"for {self.fresh('i')} in ({self.expr(self.other('int'), 2)})..("
                f"{self.expr(self.pick(TYPES), 2)}) {{ print(0); }}")

    def bad_helper(self) -> str:
        """A generic helper called with a type it cannot take."""
        name = self.helper(self.pick(["twice", "show", "keep"]))
        if name == "twice":
            return f"print(twice({self.expr(self.pick(['bool', 'nil'] + ARRAYS), 2)}));"
        if name == "show":
            return f"print(show({self.expr(self.pick(['nil'] + ARRAYS), 2)}));"
        return f"print(keep({self.expr(self.pick(SCALARS + ['nil']), 2)}, nil));"

    def misused_union(self) -> str | None:
        """A value used as one of its possible types: an error only if the
        run gave it another."""
        names = [n for n, t in self.visible().items() if "|" in t]
        if not names:
            return None
        name = self.pick(names)
        guess = self.pick(members(self.visible()[name]))
        if guess == "nil":
            return f"print({name} == nil);"
        return f"print({name} == {self.leaf(guess)});"

    def bad_evaluation(self) -> str:
        """Operands are evaluated before any type check: division by zero wins."""
        zero = f"({self.expr('int', 2)} / 0)"
        return self.pick([f"print({zero} + {self.expr(self.other('int'), 2)});",
                          f"print({self.expr('nil', 2)}[{zero}]);"])

    # --- functions and the program ---
    def begin(self, params: dict[str, str], result: str | None) -> None:
        """Fresh generator state for a function's body (result None: the main code)."""
        self.scopes, self.loops = [params], []
        self.frozen, self.fixed = set(), set()
        self.result, self.cheap, self.hot, self.loop_depth = result, True, False, 0
        self.heavy, self.long_loops = False, True

    def function(self, index: int) -> list[str]:
        """`f(...)`: its callers pass the parameter types it declares and may
        rely on its result type (a union: only as all its members allow)."""
        name = f"f{index}"
        params = [self.param_type() for _ in range(self.choose(3))]
        result = self.pick(["int", "float"]) if self.choose(3) else self.any_type()
        names = [f"p{i}" for i in range(len(params))]
        self.begin(dict(zip(names, params, strict=True)), result)
        recursive = self.choose(4) == 0 and "int" in params
        lines = [f"fn {name}({', '.join(names)}) {{"]
        function = Function(name, params, result, cheap=not recursive)
        if recursive:  # bounded: the first int parameter counts down
            n = names[params.index("int")]
            self.fixed.add(n)
            self.cheap = self.long_loops = False
            if self.choose(2):  # effects before the base case: a leaf split's prefix (jit.lower)
                lines += self.pick([self.print_statement, self.store_statement,
                                    self.call_statement])("    ") or []
            lines.append(f"    if {n} <= 0 or {n} > 8 {{ return {self.leaf(result)}; }}")
            self.functions.append(function)
        if self.choose(3) == 2:  # a parameter changes type: `x = float(x);`
            lines += self.retype_statement("    ") or []
        lines += self.block("    ", 3)
        if recursive:
            args = [f"{p} - 1" if p == n else self.leaf(t) for p, t in
                    zip(names, params, strict=True)]
            call = f"{name}({', '.join(args)})"
            shape = self.choose(6)
            if shape < 2:  # inside a loop, as backtracking does (jit.lower: no copies): a for
                # loop, or a while loop that polls (its call's depth test is the constant's)
                lines += [f"    let r = {self.leaf(result)};"] + [
                    [f"    for k in 0..1 {{ r = {call}; }}"],
                    ["    let k = 1;", f"    while k != 0 {{ r = {call}; k = k - 1; }}"]][shape]
            else:
                lines.append(f"    let r = {call};")
            self.scopes[0]["r"] = result
        lines += self.final_return(result)
        function.cheap, function.heavy = self.cheap, self.heavy
        if not recursive:
            self.functions.append(function)
        return lines + ["}"]

    def final_return(self, result: str) -> list[str]:
        """`return e;`, or for a result that may be nil, maybe `return;` or
        falling off the end."""
        if "nil" in members(result) and self.choose(2):
            return self.pick([[], ["    return;"]])
        return [f"    return {self.expr(result)};"]

    def mode_function(self, index: int) -> list[str]:
        """`m(k, ...)` returns a value of another type for each selector k (and
        for any other k, maybe nil by falling off the end): a caller that
        passes a literal k knows the type."""
        name = f"m{index}"
        params = [self.param_type() for _ in range(self.choose(3))]
        names = ["k"] + [f"p{i}" for i in range(len(params))]
        modes = [self.any_type() for _ in range(1 + self.choose(3))]
        modes.append("nil" if self.choose(2) == 0 else self.any_type())
        self.begin(dict(zip(names, ["int"] + params, strict=True)), None)
        self.frozen.add("k")
        lines = [f"fn {name}({', '.join(names)}) {{"]
        for k, t in enumerate(modes[:-1]):
            self.result = t  # early returns in this path return its type
            before = self.snapshot()
            lines += [f"    if k == {k} {{", *self.block("        ", self.choose(2)),
                      f"        return {self.expr(t, 1)};", "    }"]
            self.restore(before)  # (the path has returned)
        self.result = modes[-1]
        lines += self.block("    ", self.choose(2))
        lines += self.final_return(modes[-1])
        self.functions.append(Function(name, params, union(*modes), modes, self.cheap,
                                       self.heavy))
        return lines + ["}"]

    def program(self) -> str:
        """Helpers, functions, then the main code (and what it needed after it)."""
        lines = []
        for name, source in HELPERS.items():
            if self.choose(5) == 4:
                self.helpers.append(name)
                lines.append(source)
        for index in range(self.choose(3)):
            lines += self.function(index)
            self.budget = max(self.budget, 4)
        if self.choose(3) == 2:
            lines += self.mode_function(0)
            self.budget = max(self.budget, 4)
        self.begin({}, None)
        self.scopes = []
        lines += self.block("", 8)
        return "\n".join(lines + self.extra) + "\n"


# Statement kinds by number: 0 is the simplest. (In a long loop, only the
# HOT ones: no nested loops, prints, calls for effects, patterns or errors.)
STATEMENTS = [Generator.let_statement, Generator.assign_statement, Generator.print_statement,
              Generator.if_statement, Generator.for_statement, Generator.while_statement,
              Generator.array_statement, Generator.store_statement, Generator.call_statement,
              Generator.bool_statement, Generator.retype_statement, Generator.return_statement,
              Generator.pattern_statement, Generator.bad_statement, Generator.indexed_loop]
HOT_STATEMENTS = {0, 1, 3, 6, 7, 9, 10}
