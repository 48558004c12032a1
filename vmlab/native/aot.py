"""The native loop as a shared library, so that a run needs no numba.

Importing numba and loading the loop from its cache takes ~0.2-0.3 s of
every `vmlab run --interp native` (docs/native.md). So, once per machine and
version, numba compiles the loop (vmlab/native/loop.py, as always), and the
object file it makes is linked by the C compiler with a small C entry point
into a shared library in the cache directory; later runs load that with
ctypes in well under a millisecond, importing neither numba nor llvmlite.

The library is keyed by the loop's sources, numba's and llvmlite's
installed files, Python's version and the CPU (numba compiles for this
one). Building happens in a child process (numba compiles the loop afresh,
its object file is not kept otherwise) on the first run that needs it; if
anything is missing or fails (no C compiler, say), the run uses numba's
loop as before, and `VMLAB_NATIVE_AOT=0` asks for that. A build that
failed leaves `<library>.failed` (what went wrong), so that later runs do
not try again; remove it to retry. The object's
references to numba's Python wrappers (which the entry point never calls)
are given stubs that abort.
"""

from __future__ import annotations

import ctypes
import os
import sys

from vmlab.native.layout import ARRAYS

SOURCES = ("loop.py", "layout.py", "encode.py", "aot.py")
ENTRY = "vmlab_loop"
KEEP = 4  # libraries kept in the directory (other versions), the newest


def directory() -> str:
    """$VMLAB_CACHE_DIR/native, else the user cache directory's."""
    root = os.environ.get("VMLAB_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "vmlab")
    return os.path.join(root, "native")


def _stamp() -> str:
    """What the library depends on, as a short digest (no hashlib: ~5 ms)."""
    import zlib
    here = os.path.dirname(__file__)
    parts = [sys.version, sys.executable, os.uname().machine]
    for name in SOURCES:
        with open(os.path.join(here, name), "rb") as f:
            parts.append(str(zlib.crc32(f.read())))
    for package in ("numba", "llvmlite"):  # (their installed files: version and build)
        found = next((p for p in (os.path.join(e, package, "__init__.py") for e in sys.path)
                      if os.path.exists(p)), None)
        parts.append(f"{found}:{os.stat(found).st_mtime_ns}" if found else package)
    try:
        with open("/proc/cpuinfo", "rb") as f:  # the CPU numba compiles for
            cpu = [line for line in f.read().split(b"\n") if line.startswith(
                (b"model name", b"flags"))][:2]
        parts.append(str(zlib.crc32(b"".join(cpu))))
    except OSError:
        pass
    return format(zlib.crc32("\n".join(parts).encode()), "08x") + format(
        zlib.adler32("\n".join(parts).encode()), "08x")


def library_path() -> str:
    return os.path.join(directory(), f"libvmlab-loop-{_stamp()}.so")


def loop():
    """The loop from the shared library (built first if need be), as a
    function of the numba loop's arguments; None if there is none."""
    if os.environ.get("VMLAB_NATIVE_AOT") == "0":
        return None
    path = library_path()
    if not os.path.exists(path):
        import shutil
        if not shutil.which(os.environ.get("CC") or "cc") or os.path.exists(path + ".failed"):
            return None  # (no C compiler, or it failed before: numba's loop)
        _build(path)
    try:
        lib = ctypes.CDLL(path, mode=os.RTLD_LOCAL)
        entry = lib[ENTRY]
    except (OSError, AttributeError):
        return None
    entry.restype = ctypes.c_int64
    entry.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p]
    data, lengths, status = (ctypes.c_void_p * ARRAYS)(), (ctypes.c_int64 * ARRAYS)(), \
        ctypes.c_int64()

    def run(*args):  # (the arrays: array.array of int64, whose memory may move between calls)
        for i, array in enumerate(args[:ARRAYS]):
            data[i], lengths[i] = array.buffer_info()
        if entry(data, lengths, args[ARRAYS], ctypes.byref(status)) != 0:
            raise RuntimeError("the native loop raised an exception")  # (it never does)
        return status.value
    return run


def _build(path: str) -> None:
    """Build the library in a child process; quietly nothing if it fails
    (on a terminal, a line says what the wait is for)."""
    import subprocess
    import tempfile
    if sys.stderr.isatty():  # (not where stderr is compared: tests, pipes)
        print("vmlab: building the native interpreter's loop with numba, once "
              "(10-30 s) ...", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="vmlab-aot-") as work:
        env = {**os.environ, "NUMBA_CACHE_DIR": work}  # (a fresh compile keeps its object)
        try:
            done = subprocess.run([sys.executable, "-m", "vmlab.native.aot", path], env=env,
                                  capture_output=True, timeout=600, check=False)
            why = done.stderr[-2000:] if done.returncode else b""
        except (OSError, subprocess.SubprocessError) as e:
            why = str(e).encode()
        if why:
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path + ".failed", "wb") as f:
                    f.write(why)
            except OSError:
                pass


def build(path: str) -> None:
    """(In the child process.) numba's object file of the loop, an entry
    point in C, stubs for what the object's wrappers refer to, linked."""
    import shutil
    import subprocess
    import tempfile

    from vmlab.native import loop as native_loop

    run = native_loop.compiled()
    result = run.overloads[run.signatures[0]]
    obj = result.library._get_compiled_object()
    symbol = result.fndesc.mangled_name
    with tempfile.TemporaryDirectory(prefix="vmlab-aot-") as work:
        with open(os.path.join(work, "loop.o"), "wb") as f:
            f.write(obj)
        names = subprocess.run(["nm", "-u", "loop.o"], cwd=work, capture_output=True,
                               text=True, check=True).stdout.split()
        with open(os.path.join(work, "entry.c"), "w") as f:
            f.write(_entry_c(symbol, [n for n in names if n not in ("U", "fmod")]))
        cc = os.environ.get("CC") or shutil.which("cc") or "gcc"
        done = subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", "lib.so", "entry.c",
                               "loop.o", "-lm"], cwd=work, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"{cc} failed:\n{done.stderr}")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = f"{path}.{os.getpid()}.tmp"
        shutil.copyfile(os.path.join(work, "lib.so"), temporary)
        os.replace(temporary, path)  # (atomically: other runs may be loading it)
    prune(os.path.dirname(path))


def prune(folder: str) -> None:
    """Keep the KEEP newest libraries (with their .failed notes), not every
    one an upgrade or an edit ever built. (A run that has one loaded keeps
    it: the file goes, its mapping stays.)"""
    try:
        names = [n for n in os.listdir(folder) if n.startswith("libvmlab-loop-")]
        built = sorted((os.stat(os.path.join(folder, n)).st_mtime, n) for n in names)
    except OSError:
        return
    for _, name in built[:-KEEP]:
        try:
            os.unlink(os.path.join(folder, name))
        except OSError:
            pass


def _entry_c(symbol: str, undefined: list[str]) -> str:
    """The C entry point: numba's native calling convention passes each 1-D
    array as (meminfo, parent, items, item size, data, shape, stride) and
    returns its result through the first argument."""
    array = "void *, void *, int64_t, int64_t, int64_t *, int64_t, int64_t"
    params = ", ".join([array] * ARRAYS)
    args = ", ".join(f"0, 0, n[{i}], 8, d[{i}], n[{i}], 8" for i in range(ARRAYS))
    stubs = "\n".join(
        f"__attribute__((weak)) void *{name} = 0;" if name.startswith("PyExc_") else
        f"__attribute__((weak)) void {name}(void) {{ abort(); }}" for name in undefined)
    return f"""#include <stdint.h>
#include <stdlib.h>

/* What numba's Python wrappers in the object refer to: never called here. */
{stubs}

extern int32_t {symbol}(int64_t *result, void **exception, {params}, int64_t max_depth);

int64_t {ENTRY}(int64_t **d, int64_t *n, int64_t max_depth, int64_t *status) {{
    void *exception = 0;
    *status = 0;
    return {symbol}(status, &exception, {args}, max_depth);
}}
"""


if __name__ == "__main__":
    build(sys.argv[1])
