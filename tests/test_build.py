"""`vmlab build`: the whole conformance suite ahead of time, on every target,
byte for byte as the interpreter prints it: natively on this machine,
aarch64 and riscv64 executables under qemu-user, the wasm module under
wasmtime. Targets whose tools are missing are skipped, saying which Debian
packages to install; .ci/run installs them."""

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import vmlab, vmlab_in_process

from jit.build import HOST, TARGETS, BuildError

SUITE = Path(__file__).parent / "conformance"
PROGRAMS = sorted(SUITE.rglob("*.toy"))
EMULATORS = {"aarch64": "qemu-aarch64", "riscv64": "qemu-riscv64"}
ELF_MACHINES = {"x86-64": 62, "aarch64": 183, "riscv64": 243}  # e_machine
FILE_SAYS = {"x86-64": "x86-64", "aarch64": "ARM aarch64", "riscv64": "UCB RISC-V"}


def missing(target: str) -> str | None:
    """Why `target`'s executables cannot be built or run here, if so."""
    try:
        TARGETS[target].compiler()
    except BuildError as e:
        return str(e)
    if target in EMULATORS and target != HOST and not shutil.which(EMULATORS[target]):
        return f"no {EMULATORS[target]} (Debian: apt-get install qemu-user; .ci/run does)"
    if target == "wasm32":
        try:
            import wasmtime  # noqa: F401
        except ImportError:
            return "no wasmtime (pip install '.[test]')"
    return None


def runner(target: str) -> list[str]:
    """The command prefix that runs an executable built for `target`."""
    if target == "wasm32":
        return [sys.executable, "-m", "vmlab.wasi"]
    return [] if target == HOST else [EMULATORS[target]]


def build(target: str, program: Path, out: Path, *options):
    reason = missing(target)
    if reason:
        pytest.skip(reason)
    return vmlab_in_process("build", program.name, "--target", target, "-o", str(out),
                            *options, cwd=program.parent)


def expected(program: Path, suffix: str) -> bytes:
    path = program.with_suffix(suffix)
    return path.read_bytes() if path.exists() else b""


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: str(p.relative_to(SUITE)))
@pytest.mark.parametrize("target", list(TARGETS))
def test_conformance_ahead_of_time(target, program, tmp_path):
    out = tmp_path / ("prog" + TARGETS[target].suffix)
    built = build(target, program, out)
    want_err = expected(program, ".err")
    if built.returncode != 0:  # a compile error: the same report as `vmlab run`
        assert b": error: " in want_err
        assert (built.returncode, built.stderr) == (1, want_err)
        return
    assert built.stderr == b""
    result = subprocess.run(runner(target) + [str(out)], cwd=program.parent,
                            capture_output=True, timeout=300)
    assert result.stderr.decode() == want_err.decode()
    assert result.stdout == expected(program, ".out")
    assert result.returncode == (1 if want_err else 0)


@pytest.mark.parametrize("target", [t for t in TARGETS if t in ELF_MACHINES])
def test_executables_are_for_their_machine(target, tmp_path):
    """The ELF header names the target's machine, and so does `file`; a
    foreign one does not run here without its emulator."""
    out = tmp_path / "fib"
    assert build(target, SUITE / "structure" / "spec_example_fib.toy", out).returncode == 0
    header = out.read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == \
        ELF_MACHINES[target]
    if shutil.which("file"):
        described = subprocess.run(["file", str(out)], capture_output=True, text=True).stdout
        assert FILE_SAYS[target] in described and "statically linked" in described
    if target != HOST:
        with pytest.raises(OSError, match="Exec format error"):
            subprocess.run([str(out)])


def test_wasm_module_is_wasm(tmp_path):
    out = tmp_path / "fib.wasm"
    assert build("wasm32", SUITE / "structure" / "spec_example_fib.toy", out).returncode == 0
    assert out.read_bytes()[:8] == b"\0asm\x01\0\0\0"
    with pytest.raises(OSError, match="Exec format error"):
        subprocess.run([str(out)])


def test_one_toyc_everywhere(tmp_path):
    """The same .toyc file (same bytes, same hash) runs in every tier of
    `vmlab run` and builds for every target, with one output."""
    source = SUITE / "functions" / "dynamic_return_types.toy"
    toyc = tmp_path / "prog.toyc"
    assert vmlab("compile", str(source), "-o", str(toyc)).returncode == 0
    digest = hashlib.sha256(toyc.read_bytes()).hexdigest()
    want = expected(source, ".out")
    for tier in ([], ["--jit"], ["--jit", "--jit-threshold", "0"], ["--interp", "native"]):
        result = vmlab("run", str(toyc), *tier)
        assert (result.returncode, result.stdout, result.stderr) == (0, want, b""), tier
    for target in TARGETS:
        if missing(target):
            continue
        out = tmp_path / f"prog-{target}{TARGETS[target].suffix}"
        assert vmlab_in_process("build", str(toyc), "--target", target, "-o", str(out),
                                cwd=tmp_path).returncode == 0
        result = subprocess.run(runner(target) + [str(out)], capture_output=True, timeout=120)
        assert (result.returncode, result.stdout, result.stderr) == (0, want, b""), target
    assert hashlib.sha256(toyc.read_bytes()).hexdigest() == digest


DEEP = """fn down(n) {
  let a = n; let b = a + 1; let c = b * 2; let d = float(c); let e = [a, b, c];
  if n == 0 { return 0; }
  return down(n - 1) + e[2] - c + int(d) - c + 1;
}
print(down(DEPTH));
"""


@pytest.mark.parametrize("target", list(TARGETS))
def test_call_limit(target, tmp_path):
    """`--max-depth` as in `vmlab run`: `stack overflow` at the first call
    past it, with the output so far and the traceback; the default limit's
    deepest recursion fits, with locals in every frame."""
    for depth, max_depth in ((9_999, None), (60, 50)):
        source = tmp_path / "deep.toy"
        source.write_text(DEEP.replace("DEPTH", str(depth)))
        options = ["--max-depth", str(max_depth)] if max_depth else []
        out = tmp_path / ("deep" + TARGETS[target].suffix)
        assert build(target, source, out, *options).returncode == 0
        result = subprocess.run(runner(target) + [str(out)], capture_output=True,
                                cwd=tmp_path, timeout=120)
        interpreted = vmlab("run", "deep.toy", *options, cwd=tmp_path)
        assert (result.returncode, result.stdout, result.stderr) == \
            (interpreted.returncode, interpreted.stdout, interpreted.stderr)
    assert b"stack overflow" in result.stderr and b"more calls" in result.stderr


@pytest.mark.parametrize("emit, marker", [("obj", b"\x7fELF"), ("asm", b"vmlab_run:"),
                                          ("llvm", b"define void @vmlab_run")])
def test_emit(emit, marker, tmp_path):
    """--emit writes the intermediate forms instead of the executable."""
    for target in ("aarch64", "riscv64", "wasm32"):
        out = tmp_path / f"prog.{emit}"
        program = SUITE / "structure" / "spec_example_fib.toy"
        result = vmlab_in_process("build", program.name, "--target", target, "--emit", emit,
                                  "-o", str(out), cwd=program.parent)
        assert result.returncode == 0
        data = out.read_bytes()
        if emit == "obj" and target == "wasm32":
            assert data.startswith(b"\0asm")
        else:
            assert marker in data
        if emit == "llvm":
            assert TARGETS[target].triple.encode() in data


def test_missing_tools_name_the_packages(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    program = SUITE / "structure" / "spec_example_fib.toy"
    for target, package in (("aarch64", "gcc-aarch64-linux-gnu"),
                            ("riscv64", "gcc-riscv64-linux-gnu"), ("wasm32", "wasi-libc")):
        result = vmlab_in_process("build", program.name, "--target", target,
                                  "-o", str(tmp_path / "out"), cwd=program.parent)
        assert result.returncode == 1
        assert result.stderr.startswith(b"error: building for ") and package.encode() in \
            result.stderr and b"\n" == result.stderr[-1:]
        assert not (tmp_path / "out").exists()


def test_usage_errors(tmp_path):
    program = SUITE / "structure" / "spec_example_fib.toy"
    result = vmlab_in_process("build", program.name, "--target", "sparc", cwd=program.parent)
    assert result.returncode == 2 and b"unknown target 'sparc'" in result.stderr
    result = vmlab_in_process("build", program.name, "-o", str(tmp_path / "no" / "such"),
                              "--emit", "llvm", cwd=program.parent)
    assert result.returncode == 2 and b"cannot write" in result.stderr


def test_a_program_that_cannot_be_built_says_which_function_and_why(monkeypatch, tmp_path):
    """Inference types every program and the lowering takes every opcode,
    so no program reaches this today; a future opcode without a lowering
    would, and must get a clear error rather than a traceback."""
    from jit.infer import Decline, Inferrer

    real = Inferrer._run

    def no_arrays(self, spec):
        if spec.code.name == "fib":
            raise Decline("offset 3: ARRAY_FILL is not supported")
        return real(self, spec)
    monkeypatch.setattr(Inferrer, "_run", no_arrays)
    program = SUITE / "structure" / "spec_example_fib.toy"
    result = vmlab_in_process("build", program.name, "--emit", "llvm", "-o",
                              str(tmp_path / "x.ll"), cwd=program.parent)
    assert result.returncode == 1
    assert result.stderr.decode().startswith("error: <main>() cannot be compiled ahead of "
                                             "time: offset ")
    assert "fib(int)" in result.stderr.decode() and "ARRAY_FILL is not supported" in \
        result.stderr.decode()


def test_ctrl_c_stops_with_the_output_so_far(tmp_path):
    """SIGINT: `error: interrupted`, status 130, after the output printed
    so far, as `vmlab run` does (compiled code polls the flag the runtime's
    handler raises)."""
    import signal
    import time
    source = tmp_path / "spin.toy"
    source.write_text('print("start");\nlet i = 0;\nwhile true { i = i + 1; }\n')
    out = tmp_path / "spin"
    assert build(HOST, source, out).returncode == 0
    process = subprocess.Popen([str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert (process.returncode, stdout, stderr) == (130, b"start\n", b"error: interrupted\n")
