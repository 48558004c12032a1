"""`vmlab run --jit --jit-dump DIR`: the code every compile of a run made, as
LuaJIT's -jdump and HotSpot's PrintAssembly show it, in files that sort in
compile order:

    NNNNN-NAME.TIER.bytecode   the bytecode of the functions in the module
    NNNNN-NAME.TIER.ll         its LLVM IR as translated, with debug locations
    NNNNN-NAME.TIER.opt.ll     ... after the tier's pipeline
    NNNNN-NAME.TIER.s          the host's assembly, `# line L, offset N` above
                             the instructions of each bytecode instruction
    index.json               one event per compile (written after each)

The IR and assembly are made again from the same specializations with debug
locations (source line, bytecode offset + 1 as the column), which change no
code; a compile that came from the code cache is dumped the same way.
Light: the heavy half (jit.compiler) calls `write` with what it made.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from pathlib import Path

_LOC = re.compile(r"^\t\.loc\t\d+ (\d+) (\d+)\b.*$", re.M)


class Dump:
    """A run's dump directory and its index of compile events. The
    interpreter's thread and the compiler thread both write: one at a time
    (two compiles at once took one number and raced on the index's
    temporary file, and the run ended in an internal error)."""

    def __init__(self, directory, program_name: str):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.start = time.perf_counter()
        self.index = {"program": program_name, "events": []}
        self.failed = False
        self._lock = threading.Lock()
        self._save()  # (a run that compiles nothing has an empty index)

    def write(self, *, name: str, kind: str, tier: str, types: list[str], reason: str,
              functions: list[str], compile_ms: float, cached: bool, bytecode: str,
              ir: str, optimized_ir: str, assembly: str, code_bytes: int) -> None:
        """One compile's files and its event in the index."""
        with self._lock:
            events = self.index["events"]
            if self.failed:
                return
            prefix = f"{len(events) + 1:05d}-{_slug(name)}.{tier}"
            assembly = annotated(assembly)
            files = {".bytecode": bytecode, ".ll": ir, ".opt.ll": optimized_ir, ".s": assembly}
            try:
                for suffix, text in files.items():
                    (self.directory / (prefix + suffix)).write_text(text)
            except OSError as e:  # (a full disk: the run goes on, undumped)
                self.failed = True
                print(f"vmlab: cannot write to --jit-dump {self.directory}: {e.strerror or e}; "
                      "dumping no more", file=sys.stderr)
                return
            events.append({
                "seq": len(events) + 1, "files": prefix,
                "ms": round((time.perf_counter() - self.start) * 1e3, 3),
                "name": name, "kind": kind, "tier": tier, "types": types, "reason": reason,
                "functions": functions, "compile_ms": round(compile_ms, 3), "from_cache": cached,
                "bytes": {"ir": len(ir.encode()), "optimized_ir": len(optimized_ir.encode()),
                          "machine_code": code_bytes, "assembly": len(assembly.encode())}})
            self._save()

    def _save(self) -> None:
        temporary = self.directory / "index.json.tmp"
        temporary.write_text(json.dumps(self.index, indent=1) + "\n")
        temporary.replace(self.directory / "index.json")


def annotated(assembly: str) -> str:
    """The listing with its debug locations as comments (`# line L, offset
    N`) and without the debug sections."""
    text = _LOC.sub(_location, assembly)
    kept, debug = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith("\t.section"):
            debug = line.startswith("\t.section\t.debug_")
        if not debug:
            kept.append(line)
    return "".join(kept)


def _location(match) -> str:
    line, column = int(match[1]), int(match[2])
    if line == 0:  # (LLVM's: code made for several places, or for none)
        return "\t# (no one bytecode instruction)"
    return f"\t# line {line}, offset {column - 1}"


def _slug(name: str) -> str:
    """A file name's part for `fib(int)` or `<main> at offset 5`."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:80]
