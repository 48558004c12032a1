"""Disassembler: a readable listing of code objects, in the manner of
Python's `dis` and `luac -l`.

    fn fib(n)  [fib.toy:1]  16 instructions, 1 local, 2 constants
      offset  line  opcode             arg  meaning
           0     2  LOAD_LOCAL           0  n
           1     |  LOAD_CONST           0  2
           2     |  LT
           3     |  JUMP_IF_FALSE        6  -> 6
    ...
      >>   6     3  LOAD_LOCAL           0  n

`>>` marks jump targets; `|` means "same source line as above". The meaning
column resolves the argument through the opcode table's operand kind.
"""

from __future__ import annotations

from vmlab.code import MAIN_NAME, Code, Program, jump_sources
from vmlab.opcodes import OPCODES, Operand

_ESCAPES = {"\n": "\\n", "\t": "\\t", "\\": "\\\\", '"': '\\"'}


def literal(value) -> str:
    """A constant written as toy source would write it."""
    if type(value) is str:
        return '"' + "".join(_ESCAPES.get(c, c) for c in value) + '"'
    if type(value) is bool:
        return "true" if value else "false"
    if value is None:
        return "nil"
    return repr(value)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def header(code: Code, program: Program) -> str:
    params = ", ".join(code.local_names[: code.arity])
    title = code.name if code.name == MAIN_NAME else f"fn {code.name}({params})"
    return (f"{title}  [{program.source_name}:{code.line}]  "
            f"{_plural(len(code.instrs), 'instruction')}, "
            f"{_plural(code.nlocals, 'local')}, {_plural(len(code.consts), 'constant')}")


def meaning(code: Code, program: Program, opcode: int, arg: int) -> str:
    """What an instruction's argument refers to."""
    kind = OPCODES[opcode].operand
    if kind == Operand.CONST:
        return literal(code.consts[arg])
    if kind == Operand.LOCAL:
        return code.local_names[arg]
    if kind == Operand.JUMP:
        return f"-> {arg}"
    if kind == Operand.FUNC:
        return program.functions[arg].name
    return ""


def instruction(code: Code, program: Program, offset: int) -> str:
    """One instruction as `OPCODE  arg  meaning` in fixed columns."""
    opcode, arg = code.instrs[offset]
    info = OPCODES[opcode]
    if info.operand == Operand.NONE:
        return info.name
    return f"{info.name:<16}{arg:>5}  {meaning(code, program, opcode, arg)}".rstrip()


def disassemble_code(code: Code, program: Program) -> str:
    targets = jump_sources(code)
    rows = [header(code, program), "  offset  line  opcode             arg  meaning"]
    previous_line = None
    for offset, line in enumerate(code.lines):
        mark = ">>" if offset in targets else "  "
        line_text = "|" if line == previous_line else str(line)
        previous_line = line
        rows.append(f"  {mark}{offset:>4}  {line_text:>4}  {instruction(code, program, offset)}")
    return "\n".join(rows) + "\n"


def codes(program: Program, only: str | None = None) -> list[Code]:
    """The main code and every function, or only the one named `only`."""
    return [c for c in (program.main, *program.functions) if only in (None, c.name)]


def disassemble(program: Program, only: str | None = None) -> str:
    """The listing of the main code and every function (or only one)."""
    return "\n".join(disassemble_code(c, program) for c in codes(program, only))
