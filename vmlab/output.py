"""Where `print` writes: one buffer per run, shared by every tier.

Lines are encoded as UTF-8 whatever the locale, buffered, and flushed when
the buffer is large, at every line when writing to a terminal, before an
error message goes to stderr, and at exit. All tiers write through the same
object, so output is byte-identical and in order whichever tier printed it.
"""

from __future__ import annotations

_FLUSH_AT = 1 << 16  # characters


class Output:
    """Collects printed lines for a binary stream (`sys.stdout.buffer`), or
    in memory if there is none."""

    def __init__(self, stream=None, line_buffered: bool = False):
        self.stream = stream
        self.line_buffered = line_buffered
        self._parts: list[str] = []
        self._size = 0
        self._captured: list[str] = []

    def line(self, text: str) -> None:
        self._parts.append(text)
        self._parts.append("\n")
        self._size += len(text) + 1
        if self._size >= _FLUSH_AT or self.line_buffered:
            self.flush()

    def flush(self) -> None:
        text = "".join(self._parts)
        self._parts.clear()
        self._size = 0
        if self.stream is None:
            self._captured.append(text)
        elif text:
            self.stream.write(text.encode("utf-8"))
            self.stream.flush()

    def getvalue(self) -> str:
        """Everything printed so far (in-memory outputs only)."""
        self.flush()
        return "".join(self._captured)
