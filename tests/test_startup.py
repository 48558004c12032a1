"""`vmlab run` without --jit must stay light: no llvmlite, no numba, no lark."""

import subprocess
import sys

from conftest import ROOT


def imported_modules(*args) -> set[str]:
    """Every module a real `vmlab` process imports, from -X importtime."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "vmlab", *args],
                            cwd=ROOT, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return {line.split("|")[-1].strip() for line in result.stderr.decode().splitlines()
            if line.startswith("import time:") and "|" in line}


def test_run_imports_no_heavy_module():
    modules = imported_modules("run", "examples/hello.toy")
    assert "vmlab.interp" in modules and "lang.tables" in modules  # the probe works
    heavy = {m for m in modules if m.split(".")[0] in
             ("llvmlite", "numba", "numpy", "lark", "jit", "dataclasses", "typing",
                                   "pathlib", "inspect")}
    assert heavy == set()
