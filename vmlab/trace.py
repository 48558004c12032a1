"""The execution trace: one line per instruction, printed before it runs.

    depth function      offset  line  instruction                  stack
        1 fib                2     2  LT                           [5, 2]

The stack column is the operand stack of the running frame, bottom first, as
Crafting Interpreters' clox prints it. Lines go through the same Output as the
program's own prints, so both stay in order. The format is documented in
docs/trace-and-stats.md and pinned by golden tests.
"""

from __future__ import annotations

from vmlab.code import Program
from vmlab.disasm import instruction, literal
from vmlab.values import format_value

DEFAULT_LIMIT = 1000
_VALUE_WIDTH = 24        # longer stack values are cut, ending in "..."
_INSTRUCTION_WIDTH = 30  # and so are longer instructions (long string constants)

HEADER = (f"{'depth':>5} {'function':<12} {'offset':>6} {'line':>5}  "
          f"{'instruction':<{_INSTRUCTION_WIDTH}} stack")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def stack_text(stack: list) -> str:
    """The operand stack as `[a, b, c]`, strings quoted, long values cut."""
    return "[" + ", ".join(
        _cut(literal(v) if type(v) is str else format_value(v), _VALUE_WIDTH)
        for v in stack) + "]"


class Tracer:
    """Writes trace lines to an Output until `limit` lines have been written."""

    def __init__(self, program: Program, output, limit: int = DEFAULT_LIMIT,
                 only: str | None = None):
        self.program, self.output, self.limit, self.only = program, output, limit, only
        self.written = 0

    def observer(self):
        program, output, only = self.program, self.output, self.only
        output.line(HEADER)

        def trace(code, pc, stack, depth):
            if self.written >= self.limit or (only is not None and code.name != only):
                return
            text = _cut(instruction(code, program, pc), _INSTRUCTION_WIDTH)
            output.line(f"{depth:>5} {code.name:<12} {pc:>6} {code.lines[pc]:>5}  "
                        f"{text:<{_INSTRUCTION_WIDTH}} {stack_text(stack)}")
            self.written += 1
            if self.written == self.limit:
                output.line(f"... trace stopped after {self.limit} instructions "
                            f"(--limit {self.limit}); the program runs on")
        return trace
