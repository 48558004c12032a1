"""docs/lesson.md, the teacher's ten-minute script: every command in it runs
and shows what the lesson says it shows."""

import re
import shlex
import shutil
import subprocess

from conftest import ROOT, vmlab

from jit.build import TARGETS, BuildError

LESSON = (ROOT / "docs" / "lesson.md").read_text()


def commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", LESSON, re.S)
    return [line for block in blocks for line in block.splitlines() if line]


def _cross_tools() -> bool:
    try:
        TARGETS["aarch64"].compiler()
    except BuildError:
        return False
    return shutil.which("qemu-aarch64") is not None


def test_every_command_of_the_lesson_runs(tmp_path):
    """(Section 6 needs the aarch64 tools: without them its commands are
    left out, as the lesson says; .ci/run installs them.)"""
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    out, err = {}, {}
    cross = _cross_tools()
    for command in commands():
        words = shlex.split(command)
        if words[0] != "vmlab":  # section 6: the executables
            if not cross:
                continue
            result = subprocess.run(["sh", "-c", command], cwd=tmp_path, capture_output=True)
            out[command], err[command] = result.stdout.decode(), result.stderr.decode()
            assert result.returncode == (126 if command == "./fib-arm" else 0), command
            continue
        if "aarch64" in words and "build" in words and not cross:
            continue
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
    if cross:
        assert out["./fib-x86"] == out["qemu-aarch64 ./fib-arm"] == out["vmlab run fib.toyc"]
        assert "Exec format error" in err["./fib-arm"]
    table = out["vmlab asm examples/mandelbrot.toy --fn escape_time --profile "
                "--target host,aarch64,riscv64,wasm32"]
    assert table.startswith("# escape_time(float, float, int), optimized tier")
    for target in ("host", "aarch64", "riscv64", "wasm32", ".toyc (any machine)"):
        assert re.search(rf"^# {re.escape(target)} +[\d,]+ +[\d,]+$", table, re.M), target
