"""Name resolution and every compile-time rule of the SPEC.

The checker walks the AST once, tracking block scopes, and records what the
compiler needs on the nodes themselves: the local slot of each variable
(`Let.slot`, `For.slot`, `Name.slot`) and the target of each call
(`Call.func`: a function index, or the builtin's name). It finds every
error, then reports the first in source order, so the message a student sees
does not depend on the order of the checks.
"""

from __future__ import annotations

from lang import ast
from vmlab.code import MAIN_NAME
from vmlab.errors import CompileError
from vmlab.opcodes import BUILTINS


class FunctionInfo:
    """What the checker learns about one function (or the main code)."""

    __slots__ = ("name", "index", "params", "local_names", "node")

    def __init__(self, name, index, params, node):
        self.name, self.index, self.params, self.node = name, index, params, node
        self.local_names: list[str] = []


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class Checker:
    def __init__(self):
        self.errors: list[CompileError] = []
        self.functions: dict[str, FunctionInfo] = {}
        self.current: FunctionInfo | None = None
        self.scopes: list[dict[str, int]] = []
        self.loops = 0
        self.main_names: set[str] = set()  # top-level `let`s, for a hint

    def error(self, node, message: str) -> None:
        self.errors.append(CompileError(message, node.line, node.col))

    # --- program ---
    def check_program(self, program: ast.Program) -> tuple[list[FunctionInfo], FunctionInfo]:
        fndefs = [item for item in program.items if isinstance(item, ast.FnDef)]
        self.main_names = {item.name for item in program.items if type(item) is ast.Let}
        for fn in fndefs:
            if fn.name in BUILTINS:
                self.error(fn, f"'{fn.name}' is a builtin function and cannot be redefined")
            elif fn.name in self.functions:
                first = self.functions[fn.name].node
                self.error(fn, f"function '{fn.name}' is already defined at line {first.line}")
            else:
                self.functions[fn.name] = FunctionInfo(
                    fn.name, len(self.functions), [p.name for p in fn.params], fn)
        for fn in self.functions.values():
            self.check_function(fn)
        main = FunctionInfo(MAIN_NAME, -1, [], program)
        self.enter(main)
        for item in program.items:
            if not isinstance(item, ast.FnDef):
                self.stmt(item)
        if self.errors:
            raise min(self.errors, key=lambda e: (e.line, e.col))
        return list(self.functions.values()), main

    def enter(self, fn: FunctionInfo) -> None:
        self.current, self.scopes, self.loops = fn, [{}], 0

    def check_function(self, fn: FunctionInfo) -> None:
        self.enter(fn)
        for param in fn.node.params:
            if param.name in self.scopes[-1]:
                self.error(param, f"duplicate parameter '{param.name}'")
            self.declare(param.name)
        self.stmts(fn.node.body.stmts)  # the body shares the parameters' scope

    # --- scopes ---
    def declare(self, name: str) -> int:
        slot = len(self.current.local_names)
        self.current.local_names.append(name)
        self.scopes[-1][name] = slot
        return slot

    def lookup(self, node, name: str) -> int | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        if name in self.functions or name in BUILTINS:
            self.error(node, f"'{name}' is a function; functions can only be called")
        elif name in self.main_names and self.current.name != MAIN_NAME:
            self.error(node, f"undefined variable '{name}' (functions cannot see "
                             "top-level variables: pass it as an argument)")
        else:
            self.error(node, f"undefined variable '{name}'")
        return None

    def block(self, block: ast.Block) -> None:
        self.scopes.append({})
        self.stmts(block.stmts)
        self.scopes.pop()

    # --- statements ---
    def stmts(self, stmts) -> None:
        for s in stmts:
            self.stmt(s)

    def stmt(self, s) -> None:
        kind = type(s)
        if kind is ast.ExprStmt:
            e = s.expr
            if type(e) is ast.Call and e.name == "print":
                self.call(e, statement=True)
            else:
                self.expr(e)
        elif kind is ast.Let:
            self.expr(s.value)
            if s.name in self.scopes[-1]:
                self.error(s, f"'{s.name}' is already declared in this block")
            s.slot = self.declare(s.name)
        elif kind is ast.Assign:
            self.expr(s.target)
            self.expr(s.value)
        elif kind is ast.If:
            self.expr(s.cond)
            self.block(s.then)
            if type(s.orelse) is ast.Block:
                self.block(s.orelse)
            elif s.orelse is not None:
                self.stmt(s.orelse)
        elif kind is ast.While:
            self.expr(s.cond)
            self.loop_body(s.body)
        elif kind is ast.For:
            self.expr(s.lo)
            self.expr(s.hi)
            self.scopes.append({})
            s.slot = self.declare(s.var)
            self.loop_body(s.body)
            self.scopes.pop()
        elif kind is ast.Break or kind is ast.Continue:
            if not self.loops:
                word = "break" if kind is ast.Break else "continue"
                self.error(s, f"'{word}' outside a loop")
        elif kind is ast.Return:
            if self.current.name == MAIN_NAME:
                self.error(s, "'return' outside a function")
            if s.value is not None:
                self.expr(s.value)
        else:
            raise AssertionError(f"unknown statement {s!r}")

    def loop_body(self, body: ast.Block) -> None:
        self.loops += 1
        self.block(body)
        self.loops -= 1

    # --- expressions ---
    def expr(self, e) -> None:
        kind = type(e)
        if kind is ast.Name:
            e.slot = self.lookup(e, e.id)
        elif kind is ast.Binary or kind is ast.Logical:
            self.expr(e.left)
            self.expr(e.right)
        elif kind is ast.Unary:
            self.expr(e.operand)
        elif kind is ast.Call:
            self.call(e, statement=False)
        elif kind is ast.Index:
            self.expr(e.obj)
            self.expr(e.index)
        elif kind is ast.ArrayLit:
            for item in e.items:
                self.expr(item)
        elif kind is ast.Str:
            self.error(e, "string literals are only allowed as arguments of print")

    def call(self, e: ast.Call, statement: bool) -> None:
        name, nargs = e.name, len(e.args)
        if name == "print":
            if not statement:
                self.error(e, "print(...) is a statement and has no value")
            for arg in e.args:
                if type(arg) is not ast.Str:
                    self.expr(arg)
            e.func = name
            return
        for arg in e.args:
            self.expr(arg)
        if name in BUILTINS:
            arity = BUILTINS[name].pops
            e.func = name
        elif name in self.functions:
            fn = self.functions[name]
            arity = len(fn.params)
            e.func = fn.index
        else:
            self.error(e, f"undefined function '{name}'")
            return
        if nargs != arity:
            self.error(e, f"{name}() takes {_plural(arity, 'argument')} "
                          f"but {nargs} {'was' if nargs == 1 else 'were'} given")


def check(program: ast.Program) -> tuple[list[FunctionInfo], FunctionInfo]:
    """Resolve names in `program`; raise the first CompileError in source order."""
    return Checker().check_program(program)
