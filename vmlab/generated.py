"""Files generated from a source of truth, and the check that they are current."""

from __future__ import annotations

import sys
from pathlib import Path


def write_or_check(path: Path, text: str, argv: list[str], command: str) -> int:
    """Write `text` to `path`; with `--check` in argv, only compare (exit 1 if stale)."""
    if "--check" in argv:
        if not path.exists() or path.read_text() != text:
            print(f"{path.name} is stale: run `{command}`", file=sys.stderr)
            return 1
        return 0
    path.write_text(text)
    print(f"wrote {path}")
    return 0
