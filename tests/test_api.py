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
