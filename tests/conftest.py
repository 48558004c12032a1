import os
import subprocess
import sys
from pathlib import Path

import pytest
from tiers import TIERS

ROOT = Path(__file__).resolve().parent.parent


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


@pytest.fixture
def run_vmlab():
    return vmlab
