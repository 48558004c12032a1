import os
import subprocess
import sys
from pathlib import Path

import pytest
from tiers import TIERS

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    """The JIT's code cache and the native loop's library, for the session:
    not the user's (removed at the end)."""
    if "VMLAB_CACHE_DIR" not in os.environ:
        import tempfile
        os.environ["VMLAB_CACHE_DIR"] = config._vmlab_cache = tempfile.mkdtemp(
            prefix="vmlab-test-cache-")


def pytest_unconfigure(config):
    if getattr(config, "_vmlab_cache", None):
        import shutil
        shutil.rmtree(config._vmlab_cache, ignore_errors=True)


def pytest_addoption(parser):
    parser.addoption("--tier", action="append", choices=sorted(TIERS),
                     help="run the conformance suite in this tier (repeatable; "
                          "default: every tier)")


def pytest_generate_tests(metafunc):
    if "tier" in metafunc.fixturenames:
        tiers = metafunc.config.getoption("tier") or sorted(TIERS)
        metafunc.parametrize("tier", tiers)


def vmlab(*args, cwd=None, stdin=None, timeout=120, env=None):
    """Run the vmlab command as a user would; returns the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "vmlab", *args], cwd=cwd or ROOT,
                          input=stdin, capture_output=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


class _Result:
    def __init__(self, returncode: int, stdout: bytes, stderr: bytes):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def vmlab_in_process(*args, cwd):
    """The vmlab command's main() in this process, with its own stdout and
    stderr: the CLI's code path without a new interpreter's start-up."""
    import contextlib
    import io

    from vmlab.cli import main

    out, err = io.BytesIO(), io.StringIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8")
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(err):
            status = main(list(args))
            stdout.flush()
    finally:
        os.chdir(previous)
    return _Result(status, out.getvalue(), err.getvalue().encode())


@pytest.fixture
def run_vmlab():
    return vmlab
