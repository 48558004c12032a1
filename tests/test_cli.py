"""The command line as a user meets it: help, version, exit statuses, and
every user-facing error of the CLI itself."""

import subprocess
import sys

import pytest
from conftest import ROOT, vmlab

from vmlab import __version__


def test_help_lists_the_commands():
    result = vmlab("--help")
    assert result.returncode == 0
    out = result.stdout.decode()
    assert out.startswith("usage: vmlab") and "run" in out and "dis" in out


def test_version():
    result = vmlab("--version")
    assert (result.returncode, result.stdout.decode()) == (0, f"vmlab {__version__}\n")


@pytest.mark.parametrize("args", [[], ["frobnicate"], ["run"], ["run", "a.toy", "--nope"],
                                  ["run", "a.toy", "--max-depth", "0"],
                                  ["run", "a.toy", "--max-depth", "x"],
                                  ["run", "a.toy", "--max-depth", "2147483648"], ["dis"]])
def test_usage_errors_exit_2(args):
    result = vmlab(*args)
    assert result.returncode == 2
    assert b"usage: vmlab" in result.stderr and b"Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["run", "dis"])
def test_unreadable_file_is_a_usage_error(command, tmp_path):
    result = vmlab(command, str(tmp_path / "missing.toy"))
    assert result.returncode == 2
    assert result.stderr.decode() == (f"vmlab: error: cannot read "
                                      f"'{tmp_path / 'missing.toy'}': No such file or directory\n")
    result = vmlab(command, str(tmp_path))
    assert result.returncode == 2 and b"Is a directory" in result.stderr


def test_program_from_stdin():
    result = vmlab("run", "-", stdin=b"print(1 + 2);\nlet x = 1 / 0;\n")
    assert result.stdout == b"3\n"
    assert result.stderr.decode() == "error: division by zero\n  at <main> (<stdin>:2)\n"
    assert result.returncode == 1


def test_compile_error_output_and_status(tmp_path):
    (tmp_path / "bad.toy").write_text("print(1);\n\tlet y = x + 1;\n")
    result = vmlab("run", "bad.toy", cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == b""  # nothing ran
    assert result.stderr.decode() == ("bad.toy:2:10: error: undefined variable 'x'\n"
                                      "    \tlet y = x + 1;\n"
                                      "    \t        ^\n")


def test_max_depth_is_configurable(tmp_path):
    (tmp_path / "deep.toy").write_text(
        "fn down(n) { if n == 0 { return 0; } return down(n - 1); }\nprint(down(50));\n")
    assert vmlab("run", "deep.toy", "--max-depth", "51", cwd=tmp_path).stdout == b"0\n"
    result = vmlab("run", "deep.toy", "--max-depth", "50", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.decode().splitlines()
    assert lines[:3] == ["error: stack overflow", "  at <main> (deep.toy:2)",
                         "  at down (deep.toy:1)"]
    assert lines[11] == "  ... 31 more calls ..." and len(lines) == 22


def test_output_to_a_closed_pipe_stops_quietly(tmp_path):
    (tmp_path / "many.toy").write_text("for i in 0..200000 { print(i); }\n")
    proc = subprocess.Popen([sys.executable, "-m", "vmlab", "run", "many.toy"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert first == b"0\n" and b"Traceback" not in err and proc.returncode == 1


def test_output_is_utf8_whatever_the_locale(tmp_path):
    (tmp_path / "u.toy").write_text('print("héllo ✓", 1.5);\n', encoding="utf-8")
    result = vmlab("run", "u.toy", cwd=tmp_path, env={"LC_ALL": "C", "PYTHONIOENCODING": "ascii"})
    assert result.stdout == "héllo ✓ 1.5\n".encode()


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.toy")),
                         ids=lambda p: p.stem)
def test_examples_print_what_they_should(example):
    """Each example's output, checked by hand once, kept in tests/golden/examples."""
    golden = ROOT / "tests" / "golden" / "examples" / example.stem
    result = vmlab("run", example.name, cwd=example.parent)
    err = golden.with_suffix(".err")
    assert result.stdout.decode() == golden.with_suffix(".out").read_text()
    assert result.stderr.decode() == (err.read_text() if err.exists() else "")
    assert result.returncode == (1 if err.exists() else 0)


def test_compile_writes_a_toyc_that_runs_traces_and_disassembles_the_same(tmp_path):
    source = ROOT / "examples" / "traceback.toy"
    (tmp_path / "t.toy").write_bytes(source.read_bytes())
    assert vmlab("compile", "t.toy", cwd=tmp_path).returncode == 0
    assert (tmp_path / "t.toyc").read_bytes().startswith(b"TOYC")
    assert vmlab("compile", "t.toy", "-o", "other.bin", cwd=tmp_path).returncode == 0
    for command in (["run"], ["dis"], ["trace", "--limit", "30"]):
        from_source = vmlab(*command[:1], "t.toy", *command[1:], cwd=tmp_path)
        for compiled in ("t.toyc", "other.bin"):  # told apart by content, not name
            from_file = vmlab(*command[:1], compiled, *command[1:], cwd=tmp_path)
            assert (from_file.stdout, from_file.stderr, from_file.returncode) == \
                (from_source.stdout, from_source.stderr, from_source.returncode)


def test_compile_errors(tmp_path):
    (tmp_path / "bad.toy").write_text("let x = ;")
    result = vmlab("compile", "bad.toy", cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.startswith(b"bad.toy:1:9: error:")
    assert not (tmp_path / "bad.toyc").exists()
    (tmp_path / "ok.toy").write_text("print(1);")
    result = vmlab("compile", "ok.toy", "-o", str(tmp_path / "no" / "x.toyc"), cwd=tmp_path)
    assert result.returncode == 2 and b"cannot write" in result.stderr


def test_invalid_bytecode_is_a_clean_error(tmp_path):
    (tmp_path / "ok.toy").write_text("print(1);")
    vmlab("compile", "ok.toy", cwd=tmp_path)
    data = bytearray((tmp_path / "ok.toyc").read_bytes())
    data[-5] ^= 0xFF  # a line number of the last instruction... or anything else
    (tmp_path / "bad.toyc").write_bytes(bytes(data[:-3]))
    for command in ("run", "dis", "trace"):
        result = vmlab(command, "bad.toyc", cwd=tmp_path)
        assert result.returncode == 1 and result.stdout == b""
        assert result.stderr.startswith(b"error: invalid bytecode: ")
        assert result.stderr.count(b"\n") == 1 and b"Traceback" not in result.stderr
