"""The Python API that notebooks use: the same answers as the CLI."""

import pytest

import vmlab
from conftest import vmlab as run_cli
from vmlab.errors import CompileError

SOURCE = "fn sq(x) { return x * x; }\nprint(sq(7), [1.5]);\nprint(1 / 0);\n"


@pytest.fixture
def prog():
    return vmlab.compile(SOURCE, "sq.toy")


def test_run_captures_output_error_and_status(prog, tmp_path):
    result = prog.run()
    (tmp_path / "sq.toy").write_text(SOURCE)
    cli = run_cli("run", "sq.toy", cwd=tmp_path)
    assert result.stdout == cli.stdout.decode() == "49 [1.5]\n"
    assert result.stderr == cli.stderr.decode() == "error: division by zero\n  at <main> (sq.toy:3)\n"
    assert result.status == cli.returncode == 1 and result.stats is None


def test_stats(prog):
    stats = prog.run(stats=True).stats
    assert stats.status == "error" and stats.per_function() == [("<main>", 1), ("sq", 1)]
    assert dict(stats.per_opcode())["MUL"] == 1 and stats.seconds > 0
    assert stats.instructions == sum(n for _, n in stats.per_opcode())


def test_dis_and_trace_match_the_cli(prog, tmp_path):
    (tmp_path / "sq.toy").write_text(SOURCE)
    assert prog.dis() == run_cli("dis", "sq.toy", cwd=tmp_path).stdout.decode()
    assert prog.dis("sq") == run_cli("dis", "sq.toy", "--fn", "sq", cwd=tmp_path).stdout.decode()
    cli = run_cli("trace", "sq.toy", "--limit", "5", cwd=tmp_path)
    assert prog.trace(limit=5) == cli.stdout.decode() + cli.stderr.decode()


def test_html_reprs(prog):
    table = prog._repr_html_()
    assert table.count("<table>") == 2 and "&lt;main&gt;" in table and "<td>MUL</td>" in table
    html = prog.run(stats=True)._repr_html_()
    assert "<pre>49 [1.5]\n</pre>" in html and "division by zero" in html
    assert "<td>sq</td>" in html


def test_compile_error_carries_the_rendered_message():
    with pytest.raises(CompileError) as info:
        vmlab.compile("let x = y;", "bad.toy")
    assert info.value.__notes__ == ["bad.toy:1:9: error: undefined variable 'y'\n"
                                    "    let x = y;\n            ^"]


def test_load_source_files(tmp_path):
    (tmp_path / "p.toy").write_text("print(40 + 2);")
    assert vmlab.load(tmp_path / "p.toy").run().stdout == "42\n"


def test_unknown_attribute():
    with pytest.raises(AttributeError):
        vmlab.nope


def test_tutorial_code_runs(tmp_path, monkeypatch):
    """Every Python block of docs/tutorial.md runs, in order, in one namespace."""
    import re

    from conftest import ROOT
    text = (ROOT / "docs" / "tutorial.md").read_text()
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in re.findall(r"```python\n(.*?)```", text, re.DOTALL):
        if "bad.toy" in block:
            with pytest.raises(CompileError):
                exec(block, namespace)
        else:
            exec(block, namespace)
    assert namespace["result"].stdout == "5! = 120\n"
    assert namespace["again"].run().stdout == "5! = 120\n"


@pytest.mark.parametrize("options", [{}, {"jit": True}, {"interp": "native"}],
                         ids=["interp", "jit", "native"])
def test_every_tier_from_the_api_prints_the_same(prog, options):
    result = prog.run(**options)
    assert (result.stdout, result.stderr, result.status) == \
        ("49 [1.5]\n", "error: division by zero\n  at <main> (sq.toy:3)\n", 1)


def test_native_stats_and_the_combinations_that_do_not_exist(prog):
    assert prog.run(interp="native", stats=True).stats.per_function() == [("<main>", 1),
                                                                          ("sq", 1)]
    for bad in ({"jit": True, "stats": True}, {"jit": True, "interp": "native"},
                {"interp": "rust"}):
        with pytest.raises(ValueError):
            prog.run(**bad)


def test_ir_and_asm_as_the_cli_prints_them(prog, tmp_path):
    (tmp_path / "sq.toy").write_text(SOURCE)
    cli = run_cli("ir", "sq.toy", "--fn", "sq", "--args", "float", cwd=tmp_path).stdout.decode()
    assert cli.split("\n", 1)[1] == prog.ir("sq", ["float"])  # (after the CLI's header line)
    assert '@"sq(int)"' in prog.ir("sq", optimized=False)
    assert '"sq(int)":' in prog.asm("sq") and "end_function" in prog.asm("sq", target="wasm32")
    table = prog.asm("sq", target="all")
    assert "# x86-64 " in table and "# .toyc (any machine) " in table
    with pytest.raises(ValueError, match="sparc-foo"):
        prog.asm("sq", target="sparc-foo")


def test_unknown_function_names_are_errors(prog):
    for call in (lambda: prog.dis("nope"), lambda: prog.trace(fn="nope"),
                 lambda: prog.ir("nope"), lambda: prog.asm("nope")):
        with pytest.raises(ValueError, match=r"no function 'nope' in sq.toy \(there is: "
                                             r"<main>, sq\)"):
            call()


def test_the_trace_has_a_text_and_an_html_form(prog):
    trace = prog.trace(limit=3)
    assert trace.startswith("depth function") and "LOAD_CONST" in trace
    assert trace._repr_html_().startswith("<pre>depth function")


def test_dir_lists_the_public_api():
    names = dir(vmlab)
    for name in ("compile", "load", "ToyProgram", "Result", "Trace", "CompileError",
                 "ToyRuntimeError"):
        assert name in names and getattr(vmlab, name) is not None
