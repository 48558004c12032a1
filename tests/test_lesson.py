"""docs/lesson.md, the teacher's ten-minute script: every command in it runs
and shows what the lesson says it shows."""

import re
import shlex

from conftest import ROOT, vmlab

LESSON = (ROOT / "docs" / "lesson.md").read_text()


def commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", LESSON, re.S)
    return [line for block in blocks for line in block.splitlines() if line]


def test_every_command_of_the_lesson_runs(tmp_path):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    out, err = {}, {}
    for command in commands():
        words = shlex.split(command)
        assert words[0] == "vmlab", command
        result = vmlab(*words[1:], cwd=tmp_path)
        assert result.returncode == 0, (command, result.stderr)
        out[command], err[command] = result.stdout.decode(), result.stderr.decode()
    assert "CALL                0  fib" in out["vmlab dis examples/fib.toy --fn fib"]
    trace = out["vmlab trace examples/fib.toy --fn fib --limit 12"]
    assert "LOAD_LOCAL" in trace and "trace stopped after 12 instructions" in trace
    assert "instructions" in err["vmlab run examples/fib.toy --stats"]
    jit = "vmlab run fib.toyc --jit --jit-log --jit-threshold 100"
    assert out["vmlab run fib.toyc"] == out["vmlab run fib.toyc --interp native"] == out[jit]
    assert "jit: COMPILE fib(int)" in err[jit]
    table = out["vmlab asm examples/mandelbrot.toy --fn escape_time --profile "
                "--target host,aarch64,riscv64,wasm32"]
    assert table.startswith("# escape_time(float, float, int), optimized tier")
    for target in ("host", "aarch64", "riscv64", "wasm32", ".toyc (any machine)"):
        assert re.search(rf"^# {re.escape(target)} +[\d,]+ +[\d,]+$", table, re.M), target
