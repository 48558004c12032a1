"""docs/explore.ipynb, the class in ten minutes, runs from top to bottom
(nbclient, in a kernel of this Python) and shows what its text says."""

import shutil

import pytest

from conftest import ROOT

nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install "
                                                   "'.[test]')")
nbformat = pytest.importorskip("nbformat")


def test_the_notebook_runs(tmp_path):
    notebook = nbformat.read(ROOT / "docs" / "explore.ipynb", as_version=4)
    shutil.copy(ROOT / "docs" / "explore.ipynb", tmp_path)
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = ["".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
                       for o in cell.get("outputs", [])) for cell in notebook.cells
               if cell.cell_type == "code"]
    dis, trace, stats, toyc, log, asm = outputs
    assert "CALL                0  fib" in dis
    assert "LOAD_CONST" in trace and "6765" in stats
    assert "True" in toyc and toyc.count("6765") == 3
    assert "jit: COMPILE fib(int)" in log
    for target in ("x86-64", "aarch64", "riscv64", "wasm32", ".toyc (any machine)"):
        assert f"# {target} " in asm
