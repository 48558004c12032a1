"""Machine code kept on disk between runs: the JIT's object files, reused
instead of compiled again (V8's code cache, numba's `cache=True`).

A module's code is valid only for what made it, so its key is the SHA-256
of everything that did: the module's LLVM IR (the program's bytecode and the
specialization's types and tier fix it: symbols and runtime references in
it are the same in every run), the tier, the target triple, the host CPU's
name and features, the LLVM version, and vmlab's version with a digest of
the jit package's source (a development checkout changes without a new
version number). Machine code for another CPU or version is never used:
its key differs, and each file repeats its host, which must match too.

One file per module, `<key>.o`: a header (magic, key, host, SHA-256 and
length of the object), then the object. A file that is truncated,
corrupted, for another key or host, or not an ELF object jit.frames can
read is ignored with a one-line warning and deleted, and the module is
compiled again; files are written to a temporary name and renamed, so
parallel runs never see half a file. The cache is bounded (LIMIT bytes):
past it, the least recently used files go (a hit refreshes a file's time).
A `<program>.profile` (Profile) says what earlier runs of a program
compiled: a later run compiles those functions and loops at their first
call or back-edge, for the optimizing tier at once where it got there
before, instead of interpreting them up to the threshold and starting with
baseline code (as JIT replay and HotSpot's AOT method profiles do). It is
a hint about timing only: what runs is the same code.

The checks catch damage, not an attacker: whoever can write to the cache
directory can change what runs, as they could change vmlab's own files.
"""

from __future__ import annotations

import hashlib
import os
import struct
import sys
from pathlib import Path

MAGIC = b"VMLABJIT"
_HEADER = struct.Struct("<8s32s32sQH")  # magic, key, object's sha256, length, host length
LIMIT = 256 << 20  # bytes of cache files before the oldest go
SUFFIX = ".o"
PROFILE = ".profile"  # lines: what earlier runs of a program compiled (Profile)
PROFILE_LIMIT = 1 << 16  # bytes: a profile that grows past this is not added to


def default_directory() -> Path:
    """`jit` in vmlab's cache directory: $VMLAB_CACHE_DIR, else the
    platform's user cache directory (platformdirs)."""
    if os.environ.get("VMLAB_CACHE_DIR"):
        return Path(os.environ["VMLAB_CACHE_DIR"]) / "jit"
    import platformdirs
    return Path(platformdirs.user_cache_dir("vmlab")) / "jit"


def program_digest(program) -> str:
    """A short name for a program's bytecode (not its file's name)."""
    from vmlab.code import Program
    from vmlab.toyc import BytecodeError, dumps
    try:
        data = dumps(Program(program.functions, program.main, ""))
    except BytecodeError:  # (does not fit the file format: unique, never cached)
        data = repr(id(program)).encode()
    return hashlib.sha256(data).hexdigest()[:12]


def source_digest() -> str:
    """vmlab's version and a digest of the jit package's source files."""
    from vmlab import __version__
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:16]}"


class CodeCache:
    """One cache directory, for one host description (`host`: a string
    naming the target, CPU, features and versions)."""

    def __init__(self, directory: Path, host: str, limit: int = LIMIT, warn=None):
        self.directory, self.host, self.limit = Path(directory), host, limit
        self.warn = warn or (lambda text: print(f"vmlab: {text}", file=sys.stderr))
        self.hits = self.misses = 0
        self._size: int | None = None  # bytes in the directory, once counted
        self._unwritable = False       # (said once)

    def key(self, ir_text: str, tier: int) -> bytes:
        return hashlib.sha256(f"{self.host}\n{tier}\n".encode() + ir_text.encode()).digest()

    def _path(self, key: bytes, suffix: str = SUFFIX) -> Path:
        return self.directory / (key.hex() + suffix)

    def get(self, key: bytes) -> bytes | None:
        """The object file kept for `key`, or None (a miss)."""
        path = self._path(key)
        try:
            data = path.read_bytes()
        except OSError:
            self.misses += 1
            return None
        problem = self._check(data, key)
        if problem is None:
            obj = data[_HEADER.size + len(self.host.encode()):]
            try:
                from jit import frames
                frames.max_frame(obj)  # (an ELF object it can read, or an error)
            except Exception as e:  # noqa: BLE001 - whatever a damaged file makes it raise
                problem = f"not an object file ({type(e).__name__})"
        if problem is not None:
            self.warn(f"ignoring the damaged code cache file {path} ({problem}); compiling again")
            self._remove(path)
            self.misses += 1
            return None
        try:
            os.utime(path)  # recently used: evicted last
        except OSError:
            pass
        self.hits += 1
        return obj

    def _check(self, data: bytes, key: bytes) -> str | None:
        """What is wrong with a cache file's bytes, or None."""
        if len(data) < _HEADER.size:
            return "truncated"
        magic, stored_key, digest, length, host_length = _HEADER.unpack_from(data)
        if magic != MAGIC:
            return "not a vmlab code cache file"
        if stored_key != key:
            return "made for another key"
        host = data[_HEADER.size:_HEADER.size + host_length]
        if host != self.host.encode():
            return "made for another host or version"
        obj = data[_HEADER.size + host_length:]
        if len(obj) != length:
            return "truncated"
        if hashlib.sha256(obj).digest() != digest:
            return "corrupted"
        return None

    def put(self, key: bytes, obj: bytes) -> None:
        """Keep an object file (atomically); then stay within the bound."""
        host = self.host.encode()
        data = _HEADER.pack(MAGIC, key, hashlib.sha256(obj).digest(), len(obj), len(host))
        path = self._path(key)
        temporary = path.with_name(f"{path.name}.{os.getpid()}.{id(self)}.tmp")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(data + host + obj)
            os.replace(temporary, path)
        except OSError as e:
            self._remove(temporary)
            if not self._unwritable:
                self._unwritable = True
                self.warn(f"cannot write to the code cache {self.directory}: "
                          f"{e.strerror or e}")
            return
        if self._size is None:
            self._size = sum(size for _, size, _ in self._files())
        else:
            self._size += len(data) + len(host) + len(obj)
        if self._size > self.limit:
            self._evict()

    def _files(self) -> list[tuple[float, int, Path]]:
        """(time last used, size, path) of each cache file."""
        found = []
        try:
            entries = list(os.scandir(self.directory))
        except OSError:
            return found
        for entry in entries:
            if entry.name.endswith((SUFFIX, PROFILE)):
                try:
                    stat = entry.stat()
                except OSError:
                    continue  # (removed meanwhile)
                found.append((stat.st_mtime, stat.st_size, Path(entry.path)))
        return found

    def _evict(self) -> None:
        """Remove the least recently used files until 3/4 of the bound is used."""
        files = sorted(self._files())
        self._size = sum(size for _, size, _ in files)
        for _, size, path in files:
            if self._size <= self.limit * 3 // 4:
                break
            self._remove(path)
            self._size -= size

    @staticmethod
    def _remove(path: Path) -> None:
        try:
            path.unlink()
        except OSError:
            pass


def info(directory: Path) -> dict:
    """What a cache directory holds: entries, bytes, and entries per host."""
    hosts: dict[str, int] = {}
    entries = size = 0
    for _, length, path in CodeCache(directory, "")._files():
        if path.suffix != SUFFIX:
            continue
        entries += 1
        size += length
        try:
            with open(path, "rb") as f:
                head = f.read(_HEADER.size)
                host = f.read(_HEADER.unpack(head)[4]).decode(errors="replace")
        except (OSError, struct.error):
            host = "(unreadable)"
        hosts[host] = hosts.get(host, 0) + 1
    return {"directory": str(directory), "entries": entries, "bytes": size, "hosts": hosts}


def clear(directory: Path) -> int:
    """Remove every cache file (and leftover temporary file); how many."""
    removed = 0
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0
    for entry in entries:
        if entry.name.endswith((SUFFIX, PROFILE, ".tmp")):
            CodeCache._remove(Path(entry.path))
            removed += 1
    return removed


class Profile:
    """What earlier runs of one program compiled, one line each (`call F
    TYPES`, `loop F PC`, `optimized SPEC`): read once, appended to as a run
    compiles more. Appends are single writes to a file opened for
    appending, so parallel runs interleave whole lines; a line that is
    damaged or unknown is simply never asked for."""

    def __init__(self, directory: Path, digest: str):
        self.path = Path(directory) / f"{digest}{PROFILE}"
        try:
            self.lines = set(self.path.read_text(errors="replace").splitlines())
        except OSError:  # (none yet)
            self.lines = set()
        self.calls = {int(line.split(" ", 2)[1]) for line in self.lines
                      if line.startswith("call ") and line.split(" ", 2)[1].lstrip("-").isdigit()}

    def __contains__(self, line: str) -> bool:
        return line in self.lines

    def add(self, line: str) -> None:
        if line in self.lines:
            return
        self.lines.add(line)
        try:
            if self.path.exists() and self.path.stat().st_size > PROFILE_LIMIT:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a") as f:
                f.write(line + "\n")
        except OSError:
            pass  # (a cache it cannot write to: the code cache says so, once)
