"""Code objects: the bytecode of one function, and a whole program.

A code object is what every tier reads: the interpreter runs its
instructions, the disassembler prints them, the JIT translates them. It holds
no source text; the line table maps each instruction back to its source line
for tracebacks and listings. (Plain classes, not dataclasses: importing
dataclasses alone would cost a third of `vmlab run`'s start-up budget.)
"""

from __future__ import annotations

from vmlab.opcodes import OPCODES, Operand

MAIN_NAME = "<main>"
MAIN = -1  # the main code's number where functions are numbered (JIT, stats)


def jump_sources(code: Code) -> dict[int, list[int]]:
    """The offsets some jump can reach (`>>` in listings), each with the
    offsets of the jumps into it."""
    into: dict[int, list[int]] = {}
    for pc, (opcode, arg) in enumerate(code.instrs):
        if OPCODES[opcode].operand == Operand.JUMP:
            into.setdefault(arg, []).append(pc)
    return into


def in_loops(code: Code) -> set[int]:
    """The offsets inside some loop: between a backward jump's target and
    the jump (with `break` and `return`, a loop's code is still all there)."""
    return {pc for target, sources in jump_sources(code).items() for source in sources
            if target <= source for pc in range(target, source + 1)}


class Code:
    """One function's bytecode (or the main code's, named `<main>`)."""

    __slots__ = ("name", "arity", "line", "instrs", "lines", "consts", "local_names")

    def __init__(self, name: str, arity: int, line: int):
        self.name = name
        self.arity = arity        # parameters: locals 0 .. arity-1
        self.line = line          # source line of the definition
        self.instrs: list[tuple[int, int]] = []  # (opcode, argument)
        self.lines: list[int] = []               # source line of each instruction
        self.consts: list = []                   # int, float, bool, None or str
        self.local_names: list[str] = []         # one name per local slot

    @property
    def nlocals(self) -> int:
        return len(self.local_names)

    def __repr__(self):
        return f"<code {self.name} arity={self.arity} instrs={len(self.instrs)}>"


class Program:
    """All code of one source file: its functions and its main code."""

    __slots__ = ("functions", "main", "source_name")

    def __init__(self, functions: list[Code], main: Code, source_name: str):
        self.functions = functions    # CALL's operand indexes this list
        self.main = main
        self.source_name = source_name

    def function(self, name: str) -> Code | None:
        """The code object called `name` (`<main>` for the main code)."""
        if name == MAIN_NAME:
            return self.main
        return next((f for f in self.functions if f.name == name), None)
