"""The layering docs/architecture.md draws: `lang` (source to bytecode) and
vmlab's core (bytecode, runtime, interpreters) import nothing of `jit` or
`bench`, and vmlab's core nothing of `lang`; only the tools on top (the CLI,
the Python API, `vmlab explore`) import upwards. The interpreter's
`if False:  # JIT` blocks are code in its JIT build, and are read as code."""

import ast

from conftest import ROOT

TOOLS = {"vmlab/cli.py", "vmlab/api.py", "vmlab/explore.py", "vmlab/__main__.py",
         "vmlab/__init__.py"}  # (the package's names are the API's, imported on first use)


def imports(path) -> set[str]:
    source = path.read_text()
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return found


def test_nothing_imports_upwards():
    wrong = []
    for package, above in (("lang", ("jit", "bench", "vmlab.cli", "vmlab.api",
                                     "vmlab.explore")),
                           ("vmlab", ("jit", "bench", "lang", "vmlab.cli", "vmlab.api",
                                      "vmlab.explore"))):
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name in TOOLS:
                continue
            wrong += [f"{name} imports {m}" for m in sorted(imports(path))
                      if m.split(".")[0] in above or any(m == a or m.startswith(a + ".")
                                                           for a in above)]
    assert wrong == []


def test_the_tools_on_top_are_the_only_exceptions():
    for tool in TOOLS - {"vmlab/__main__.py", "vmlab/__init__.py"}:
        assert any(m.split(".")[0] in ("jit", "lang") for m in imports(ROOT / tool)), tool
