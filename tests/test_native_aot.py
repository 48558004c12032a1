"""The native loop as a shared library (vmlab/native/aot.py): built once by
numba and the C compiler, then loaded without numba; same answers as
numba's loop, and numba's loop whenever the library cannot be had."""

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

PROGRAM = """\
fn fib(n) { if n < 2 { return n; } return fib(n - 1) + fib(n - 2); }
let a = [1.5, 2.5];
print(fib(20), a[0] + a[1], 7 / 2, -7 % 3);
print(a[5]);
"""
WANT = (b"6765 4.0 3 -1\n", b"error: index 5 out of bounds for length 2\n  at <main> (p.toy:4)\n")


def run_native(tmp_path, cache: Path, probe: bool = False, **env):
    """`vmlab run --interp native` in a new process; (stdout, stderr,
    whether numba or numpy was imported)."""
    (tmp_path / "p.toy").write_text(PROGRAM)
    code = ("import sys\nfrom vmlab.cli import main\nstatus = main(['run', '--interp', "
            "'native', 'p.toy'])\nsys.stdout.flush()\n"
            "print('numba' in sys.modules or 'numpy' in sys.modules, file=sys.stderr)\n"
            "sys.exit(status)")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT),
                                              "VMLAB_CACHE_DIR": str(cache), **env})
    *err, numba = result.stderr.decode().splitlines()
    assert result.returncode == 1
    return result.stdout, ("\n".join(err) + "\n").encode(), numba == "True"


def test_built_once_then_loaded_without_numba(tmp_path):
    cache = tmp_path / "cache"
    assert run_native(tmp_path, cache) == (*WANT, False)  # (a child process built it)
    libraries = list((cache / "native").glob("libvmlab-loop-*.so"))
    assert len(libraries) == 1
    second = run_native(tmp_path, cache)
    assert second == (*WANT, False)
    assert list((cache / "native").glob("*.so")) == libraries


def test_numba_loop_when_there_is_no_library(tmp_path):
    """No C compiler, a build that fails, or VMLAB_NATIVE_AOT=0: the same
    answers from numba's loop; a failed build is not tried again."""
    failing = tmp_path / "cc"
    failing.write_text("#!/bin/sh\necho no linker here >&2\nexit 1\n")
    failing.chmod(0o755)
    for name, env in (("none", {"CC": "/nonexistent/cc"}), ("off", {"VMLAB_NATIVE_AOT": "0"}),
                      ("failing", {"CC": str(failing)})):
        cache = tmp_path / name
        assert run_native(tmp_path, cache, **env) == (*WANT, True)
        assert not list(cache.glob("native/*.so"))
    failed = list((tmp_path / "failing" / "native").glob("*.failed"))
    assert len(failed) == 1 and b"no linker here" in failed[0].read_bytes()
    assert run_native(tmp_path, tmp_path / "failing", CC=str(failing)) == (*WANT, True)


def test_the_key_follows_the_loop_source(monkeypatch, tmp_path):
    from vmlab.native import aot
    monkeypatch.setenv("VMLAB_CACHE_DIR", str(tmp_path))
    path = aot.library_path()
    assert path.startswith(str(tmp_path / "native")) and path == aot.library_path()
    monkeypatch.setattr(aot, "SOURCES", aot.SOURCES[:-1])  # (as if a source changed)
    assert aot.library_path() != path


def test_old_libraries_go(tmp_path):
    from vmlab.native import aot
    for i in range(aot.KEEP + 3):
        path = tmp_path / f"libvmlab-loop-{i:016x}.so"
        path.write_bytes(b"x")
        os.utime(path, (1000 + i, 1000 + i))
    (tmp_path / "unrelated").write_bytes(b"y")
    aot.prune(str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"libvmlab-loop-{i:016x}.so" for i in range(3, aot.KEEP + 3)] + ["unrelated"])


def test_a_terminal_is_told_what_the_first_run_waits_for(tmp_path):
    """The first `--interp native` run builds the loop (10-30 s): on a
    terminal, stderr says so at once (pipes and tests get no extra line)."""
    import pty
    import select
    import signal
    (tmp_path / "p.toy").write_text(PROGRAM)
    main, terminal = pty.openpty()
    child = subprocess.Popen([sys.executable, "-m", "vmlab", "run", "--interp", "native", "p.toy"],
                             cwd=tmp_path, stdout=subprocess.PIPE, stderr=terminal,
                             start_new_session=True,  # (its build child goes with it)
                             env={**os.environ, "PYTHONPATH": str(ROOT),
                                  "VMLAB_CACHE_DIR": str(tmp_path / "cache")})
    os.close(terminal)
    seen = b""
    try:
        while b"\n" not in seen and select.select([main], [], [], 60)[0]:
            seen += os.read(main, 1024)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        os.close(main)
    assert seen.startswith(b"vmlab: building the native interpreter's loop with numba, once")
