"""AST to bytecode: one Code object per function and one for the main code.

The checker has already resolved every name to a local slot and every call
to a function index or builtin, so this pass only chooses instructions. The
shapes it emits are the classic ones (see docs/bytecode.md):

    while c { b }            for i in lo..hi { b }       a and b (as a value)
    top: <c>                 <lo> <hi> FOR_PREP          <a> JUMP_IF_FALSE f
         JUMP_IF_FALSE end   top: FOR_ITER end           <b> JUMP_IF_FALSE f
         <b>                      STORE_LOCAL i          LOAD_CONST true; JUMP end
         JUMP top                 <b>                    f: LOAD_CONST false
    end:                          JUMP top               end:
                             end:

Conditions of `if` and `while` compile `and`, `or` straight into jumps.
"""

from __future__ import annotations

import sys

from lang import ast
from lang.check import FunctionInfo, check
from lang.parser import MAX_DEPTH, parse
from vmlab import opcodes as op
from vmlab.code import Code, Program
from vmlab.errors import CompileError
from vmlab.opcodes import BINARY_OPS, BUILTINS, UNARY_OPS


class _Loop:
    __slots__ = ("continue_target", "breaks", "stack_items")

    def __init__(self, continue_target: int, stack_items: int):
        self.continue_target = continue_target
        self.breaks: list[int] = []        # jumps to patch with the loop's end
        self.stack_items = stack_items     # values the loop keeps on the stack


class FunctionCompiler:
    """Emits the instructions of one Code object."""

    def __init__(self, info: FunctionInfo, line: int):
        self.code = Code(info.name, len(info.params), line)
        self.code.local_names = info.local_names
        self._const_index: dict[tuple, int] = {}
        self.loops: list[_Loop] = []

    # --- emitting ---
    def emit(self, opcode: int, arg: int, line: int) -> int:
        self.code.instrs.append((opcode, arg))
        self.code.lines.append(line)
        return len(self.code.instrs) - 1

    def here(self) -> int:
        return len(self.code.instrs)

    def patch(self, at: int, target: int | None = None) -> None:
        """Point the jump at `at` to `target` (default: the next instruction)."""
        opcode, _ = self.code.instrs[at]
        self.code.instrs[at] = (opcode, self.here() if target is None else target)

    def const(self, value, line: int) -> None:
        key = (type(value), repr(value))  # 0 == 0.0 == False, but not here
        index = self._const_index.get(key)
        if index is None:
            index = self._const_index[key] = len(self.code.consts)
            self.code.consts.append(value)
        self.emit(op.LOAD_CONST, index, line)

    # --- statements ---
    def body(self, stmts: list) -> None:
        for s in stmts:
            self.stmt(s)
        if not stmts or type(stmts[-1]) is not ast.Return:
            last = stmts[-1].line if stmts else self.code.line
            self.const(None, last)
            self.emit(op.RETURN, 0, last)

    def block(self, block: ast.Block) -> None:
        for s in block.stmts:
            self.stmt(s)

    def stmt(self, s) -> None:
        kind, line = type(s), s.line
        if kind is ast.ExprStmt:
            self.expr(s.expr)
            if not (type(s.expr) is ast.Call and s.expr.func == "print"):
                self.emit(op.POP, 0, line)
        elif kind is ast.Let:
            self.expr(s.value)
            self.emit(op.STORE_LOCAL, s.slot, line)
        elif kind is ast.Assign:
            target = s.target
            if type(target) is ast.Name:
                self.expr(s.value)
                self.emit(op.STORE_LOCAL, target.slot, line)
            else:
                self.expr(target.obj)
                self.expr(target.index)
                self.expr(s.value)
                self.emit(op.STORE_INDEX, 0, target.line)
        elif kind is ast.If:
            to_else = self.jump_unless(s.cond)
            self.block(s.then)
            if s.orelse is None:
                self.patch_all(to_else)
            else:
                to_end = self.emit(op.JUMP, 0, line)
                self.patch_all(to_else)
                if type(s.orelse) is ast.Block:
                    self.block(s.orelse)
                else:
                    self.stmt(s.orelse)
                self.patch(to_end)
        elif kind is ast.While:
            top = self.here()
            exits = self.jump_unless(s.cond)
            self.loop_body(s.body, top, 0)
            self.emit(op.JUMP, top, line)
            self.patch_all(exits)
            self.end_loop()
        elif kind is ast.For:
            self.expr(s.lo)
            self.expr(s.hi)
            self.emit(op.FOR_PREP, 0, line)
            top = self.emit(op.FOR_ITER, 0, line)
            self.emit(op.STORE_LOCAL, s.slot, line)
            self.loop_body(s.body, top, 2)
            self.emit(op.JUMP, top, line)
            self.patch(top)
            self.end_loop()
        elif kind is ast.Break:
            loop = self.loops[-1]
            for _ in range(loop.stack_items):
                self.emit(op.POP, 0, line)
            loop.breaks.append(self.emit(op.JUMP, 0, line))
        elif kind is ast.Continue:
            self.emit(op.JUMP, self.loops[-1].continue_target, line)
        elif kind is ast.Return:
            if s.value is None:
                self.const(None, line)
            else:
                self.expr(s.value)
            self.emit(op.RETURN, 0, line)
        else:
            raise AssertionError(f"unknown statement {s!r}")

    def loop_body(self, body: ast.Block, continue_target: int, stack_items: int) -> None:
        self.loops.append(_Loop(continue_target, stack_items))
        self.block(body)

    def end_loop(self) -> None:
        self.patch_all(self.loops.pop().breaks)

    def patch_all(self, jumps: list[int]) -> None:
        for at in jumps:
            self.patch(at)

    # --- conditions ---
    def jump_unless(self, cond) -> list[int]:
        """Emit a test of `cond`; return the jumps taken when it is false."""
        if type(cond) is ast.Logical and cond.op == "and":
            return self.jump_unless(cond.left) + self.jump_unless(cond.right)
        if type(cond) is ast.Logical and cond.op == "or":
            to_right = self.jump_unless(cond.left)
            skip = self.emit(op.JUMP, 0, cond.line)  # left was true
            self.patch_all(to_right)
            exits = self.jump_unless(cond.right)
            self.patch(skip)
            return exits
        self.expr(cond)
        return [self.emit(op.JUMP_IF_FALSE, 0, cond.line)]

    # --- expressions ---
    def expr(self, e) -> None:
        kind, line = type(e), e.line
        if kind is ast.Name:
            self.emit(op.LOAD_LOCAL, e.slot, line)
        elif kind is ast.Int or kind is ast.Float or kind is ast.Str or kind is ast.Bool:
            self.const(e.value, line)
        elif kind is ast.Nil:
            self.const(None, line)
        elif kind is ast.Binary:
            self.expr(e.left)
            self.expr(e.right)
            self.emit(BINARY_OPS[e.op], 0, line)
        elif kind is ast.Unary:
            self.expr(e.operand)
            self.emit(UNARY_OPS[e.op], 0, line)
        elif kind is ast.Logical:
            falses = self.jump_unless(e)
            self.const(True, line)
            to_end = self.emit(op.JUMP, 0, line)
            self.patch_all(falses)
            self.const(False, line)
            self.patch(to_end)
        elif kind is ast.Call:
            for arg in e.args:
                self.expr(arg)
            if type(e.func) is int:
                self.emit(op.CALL, e.func, line)
            else:
                self.emit(BUILTINS[e.func].number, len(e.args) if e.func == "print" else 0,
                          line)
        elif kind is ast.Index:
            self.expr(e.obj)
            self.expr(e.index)
            self.emit(op.INDEX, 0, line)
        elif kind is ast.ArrayLit:
            for item in e.items:
                self.expr(item)
            self.emit(op.ARRAY, len(e.items), line)
        else:
            raise AssertionError(f"unknown expression {e!r}")


def compile_ast(tree: ast.Program, source_name: str) -> Program:
    """Check and compile an AST; raise CompileError on the first error."""
    functions, main = check(tree)
    codes = []
    for info in functions:
        fc = FunctionCompiler(info, info.node.line)
        fc.body(info.node.body.stmts)
        codes.append(fc.code)
    fc = FunctionCompiler(main, 1)
    fc.body([item for item in tree.items if type(item) is not ast.FnDef])
    return Program(codes, fc.code, source_name)


def compile_source(source: str, source_name: str = "<string>") -> Program:
    """Source text to a Program; raise CompileError on bad input."""
    # The parser bounds nesting at MAX_DEPTH levels; the passes after it
    # recurse at most 3 Python frames per level.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 3 * MAX_DEPTH + 1000))
    try:
        return compile_ast(parse(source), source_name)
    finally:
        sys.setrecursionlimit(limit)


def decode_source(data: bytes) -> str:
    """Source bytes to text: UTF-8 (a leading BOM is skipped), else CompileError."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
        before = data[start:e.start]
        line = before.count(b"\n") + 1
        col = len(before[before.rfind(b"\n") + 1:].decode("utf-8", "replace")) + 1
        raise CompileError(f"invalid UTF-8 byte 0x{data[e.start]:02x}", line, col) from None
