"""The two kinds of errors a toy program can have, and how they are printed.

Both formats are part of the SPEC and identical in every tier:

    prog.toy:3:9: error: undefined variable 'x'
        let y = x;
                ^

    error: division by zero
      at <main> (prog.toy:7)
      at f (prog.toy:2)
"""

from __future__ import annotations

# Tracebacks longer than this show the outermost and innermost half of it.
TRACEBACK_LIMIT = 20


class CompileError(Exception):
    """An error found before the program runs, at a 1-based line and column."""

    def __init__(self, message: str, line: int, col: int):
        super().__init__(message)
        self.message, self.line, self.col = message, line, col

    def render(self, source_name: str, source: str) -> str:
        """`FILE:LINE:COL: error: MESSAGE`, the source line and a caret."""
        head = f"{source_name}:{self.line}:{self.col}: error: {self.message}\n"
        lines = source.split("\n")
        if not 1 <= self.line <= len(lines):
            return head
        text = "".join(c if c.isprintable() or c == "\t" else "?"
                       for c in lines[self.line - 1].rstrip("\r"))
        pad = "".join(c if c == "\t" else " " for c in text[: self.col - 1])
        return f"{head}    {text}\n    {pad}^\n"


class ToyRuntimeError(Exception):
    """A runtime error with the toy call stack, outermost call first."""

    def __init__(self, message: str, frames: list[tuple[str, int]], source_name: str):
        super().__init__(message)
        self.message, self.frames, self.source_name = message, frames, source_name

    def render(self) -> str:
        """`error: MESSAGE` and one `  at FUNCTION (FILE:LINE)` per call."""
        at = [f"  at {name} ({self.source_name}:{line})\n" for name, line in self.frames]
        if len(at) > TRACEBACK_LIMIT:
            half = TRACEBACK_LIMIT // 2
            at[half:-half] = [f"  ... {len(at) - TRACEBACK_LIMIT} more calls ...\n"]
        return f"error: {self.message}\n" + "".join(at)
