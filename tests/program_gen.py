"""A generator of well-typed, terminating toy programs for differential tests.

Every decision goes through `choose(n)` (0 .. n-1, 0 the simplest), so the
same generator runs on hypothesis's draws (which then shrinks a failing
program toward simple choices) or on a seeded random.Random (long campaigns).
Programs reach every arithmetic, bitwise, comparison and logical operator,
ints, floats and bools with their edge values (MIN, MAX, -1, 0, NaN, inf,
-0.0), conversions and builtins, arrays (made by `array` and by literals;
read, written, measured), for and while loops with break and continue,
branches, helper functions called for their values and for their effects,
and bounded recursion: every opcode the compiler emits (a test checks). Some end
in a runtime error (division by zero, an index out of bounds), which every
tier must report identically.
"""

from __future__ import annotations

INT_LITERALS = ["0", "1", "-1", "2", "3", "7", "63", "64", "255", "1000003",
                "9223372036854775807", "(-9223372036854775807 - 1)"]
FLOAT_LITERALS = ["0.0", "1.5", "-2.25", "0.1", "1e308", "1e-308", "(0.0 / 0.0)",
                  "(1.0 / 0.0)", "(-0.0)", "3.0"]
INT_OPS = ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"]
FLOAT_OPS = ["+", "-", "*", "/", "%"]
COMPARISONS = ["<", "<=", ">", ">=", "==", "!="]


class Generator:
    def __init__(self, choose, size: int = 12):
        self.choose = choose
        self.budget = size          # statements left to write
        self.scopes: list[dict[str, str]] = []
        self.functions: list[tuple[str, list[str], str]] = []  # name, param types, result
        self.names = 0
        self.loop_depth = 0

    def pick(self, items):
        return items[self.choose(len(items))]

    def fresh(self, prefix: str) -> str:
        self.names += 1
        return f"{prefix}{self.names}"

    def variables(self, type_: str) -> list[str]:
        found = {}
        for scope in self.scopes:
            found.update(scope)
        return [name for name, t in found.items() if t == type_]

    # --- expressions ---
    def expr(self, type_: str, depth: int = 0) -> str:
        if depth > 3:
            return self.leaf(type_)
        kind = self.choose(6)
        if kind <= 1:
            return self.leaf(type_)
        if type_ == "bool":
            return self.condition(depth)
        if kind == 2:
            ops = INT_OPS if type_ == "int" else FLOAT_OPS
            return (f"({self.expr(type_, depth + 1)} {self.pick(ops)} "
                    f"{self.expr(type_, depth + 1)})")
        if kind == 3:
            other = "float" if type_ == "int" else "int"
            convert = "int" if type_ == "int" else "float"
            inner = self.expr(other, depth + 1)
            return self.pick([f"{convert}({inner})", f"abs({self.expr(type_, depth + 1)})",
                              f"-{self.expr(type_, depth + 1)}"] +
                             ([f"~{self.expr('int', depth + 1)}"] if type_ == "int" else
                              [f"sqrt(abs({self.expr('float', depth + 1)}))"]))
        if kind == 4:
            arrays = self.variables(f"array<{type_}>")
            if arrays:
                name = self.pick(arrays)
                if type_ == "int" and self.choose(3) == 0:
                    return f"len({name})"
                return f"{name}[{self.index(name, depth)}]"
        calls = [f for f in self.functions if f[2] == type_]
        if calls:
            name, params, _ = self.pick(calls)
            return f"{name}({', '.join(self.expr(p, depth + 1) for p in params)})"
        return self.leaf(type_)

    def index(self, array: str, depth: int) -> str:
        if self.choose(8) == 0:  # sometimes anything: an out-of-bounds error
            return self.expr("int", depth + 1)
        return f"abs({self.expr('int', depth + 1)} % len({array}))"

    def leaf(self, type_: str) -> str:
        names = self.variables(type_)
        if names and self.choose(3):
            return self.pick(names)
        if type_ == "int":
            return self.pick(INT_LITERALS)
        if type_ == "float":
            return self.pick(FLOAT_LITERALS)
        return self.pick(["true", "false"])

    def condition(self, depth: int) -> str:
        kind = self.choose(4)
        if kind == 0:
            t = self.pick(["int", "float"])
            return f"{self.expr(t, depth + 1)} {self.pick(COMPARISONS)} {self.expr(t, depth + 1)}"
        if kind == 1:
            return f"not ({self.condition(depth + 1)})"
        if kind == 2 and depth < 3:
            return (f"({self.condition(depth + 1)}) {self.pick(['and', 'or'])} "
                    f"({self.condition(depth + 1)})")
        return self.leaf("bool")

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
        kind = self.choose(10)
        t = self.pick(["int", "float", "bool"])
        if kind == 0 or not any(self.scopes):
            name = self.fresh("v")
            line = f"{indent}let {name} = {self.expr(t)};"
            self.scopes[-1][name] = t
            return [line]
        if kind == 1:
            names = self.variables(t)
            if names:
                return [f"{indent}{self.pick(names)} = {self.expr(t)};"]
        if kind == 2:
            values = ", ".join(self.expr(self.pick(["int", "float", "bool"]))
                               for _ in range(1 + self.choose(3)))
            return [f"{indent}print({values});"]
        if kind == 3:
            lines = [f"{indent}if {self.condition(0)} {{"] + self.block(indent + "    ", 2)
            if self.choose(2):
                lines += [f"{indent}}} else {{"] + self.block(indent + "    ", 2)
            return lines + [f"{indent}}}"]
        if kind == 4 and self.loop_depth < 2:
            var = self.fresh("i")
            self.loop_depth += 1
            self.scopes.append({var: "int"})
            body = self.block(indent + "    ", 3)
            self.scopes.pop()
            self.loop_depth -= 1
            return [f"{indent}for {var} in {self.pick(['0', '-1', '2'])}.."
                    f"{self.pick(['0', '3', '5'])} {{"] + body + [f"{indent}}}"]
        if kind == 5 and self.loop_depth < 2 and self.choose(2):
            # a counting loop (step last, none of its names assignable in the
            # body), which the JIT strip-mines: jit/loops.py
            counter, step = self.fresh("c"), self.fresh("s")
            self.loop_depth += 1
            lines = [f"{indent}let {counter} = {self.pick(['0', '-2', '1'])};",
                     f"{indent}let {step} = 1 + ({self.expr('int', 1)} & 3);",
                     f"{indent}while {counter} {self.pick(['<', '<='])} "
                     f"{self.pick(['0', '3', '5'])} {{"]
            lines += self.block(indent + "    ", 3)
            if self.choose(4) == 0:
                lines.append(f"{indent}    if {self.condition(1)} {{ break; }}")
            self.loop_depth -= 1
            return lines + [f"{indent}    {counter} = {counter} + {step};", f"{indent}}}"]
        if kind == 5 and self.loop_depth < 2:
            counter = self.fresh("c")
            self.loop_depth += 1
            lines = [f"{indent}let {counter} = 0;",
                     f"{indent}while {counter} < {self.pick(['2', '4'])} and "
                     f"({self.condition(1)}) {{",
                     f"{indent}    {counter} = {counter} + 1;"]
            lines += self.block(indent + "    ", 3)
            if self.choose(4) == 0:
                lines.append(f"{indent}    {self.pick(['break', 'continue'])};")
            self.loop_depth -= 1
            return lines + [f"{indent}}}"]
        if kind == 6:
            elem = self.pick(["int", "float", "bool"])
            name = self.fresh("a")
            if self.choose(2):  # an array literal
                value = "[" + ", ".join(self.expr(elem, 2) for _ in range(1 + self.choose(4))) + "]"
            else:
                value = f"array({self.pick(['3', '1', '0', '5'])}, {self.leaf(elem)})"
            self.scopes[-1][name] = f"array<{elem}>"
            return [f"{indent}let {name} = {value};"]
        if kind == 7:
            for elem in ("int", "float", "bool"):
                arrays = self.variables(f"array<{elem}>")
                if arrays:
                    name = self.pick(arrays)
                    return [f"{indent}if len({name}) > 0 {{",
                            f"{indent}    {name}[{self.index(name, 1)}] = {self.expr(elem)};",
                            f"{indent}}}"]
        if kind == 8 and self.functions:  # a call for its effects: its result is dropped
            name, params, _ = self.pick(self.functions)
            return [f"{indent}{name}({', '.join(self.expr(p, 1) for p in params)});"]
        if kind == 9:  # a bool value made with `or` / `and`, not a jump condition
            names = self.variables("bool")
            target = self.pick(names) if names else None
            value = f"({self.condition(1)}) {self.pick(['or', 'and'])} ({self.condition(1)})"
            if target:
                return [f"{indent}{target} = {value};"]
            return [f"{indent}print({value});"]
        return [f"{indent}print({self.expr(t)});"]

    # --- functions and the program ---
    def function(self, index: int) -> list[str]:
        name = f"f{index}"
        params = [self.pick(["int", "float"]) for _ in range(self.choose(3))]
        result = self.pick(["int", "float"])
        names = [f"p{i}" for i in range(len(params))]
        self.scopes = [dict(zip(names, params, strict=True))]
        recursive = self.choose(4) == 0 and "int" in params
        lines = [f"fn {name}({', '.join(names)}) {{"]
        if recursive:  # bounded: the first int parameter counts down
            n = names[params.index("int")]
            lines.append(f"    if {n} <= 0 or {n} > 8 {{ return {self.leaf(result)}; }}")
            self.functions.append((name, params, result))
        lines += self.block("    ", 3)
        if recursive:
            args = [f"{p} - 1" if p == n else self.leaf(t) for p, t in
                    zip(names, params, strict=True)]
            lines.append(f"    let r = {name}({', '.join(args)});")
        lines.append(f"    return {self.expr(result)};")
        if not recursive:
            self.functions.append((name, params, result))
        return lines + ["}"]

    def program(self) -> str:
        lines = []
        for index in range(self.choose(3)):
            lines += self.function(index)
            self.budget = max(self.budget, 4)
        self.scopes = []
        lines += self.block("", 8)
        return "\n".join(lines) + "\n"
