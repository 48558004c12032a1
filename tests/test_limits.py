"""Stopping runs: --timeout, Ctrl-C (a real SIGINT) and --max-steps, in every
tier, JIT-compiled loops and numba's loop included; always a one-line error
and exit status 1, never a traceback or a hang."""

import json
import os
import pty
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT, vmlab
from vmlab.interrupts import Interrupted, Watch

TIERS = {"interp": [], "jit": ["--jit"], "jit0": ["--jit", "--jit-threshold", "0"],
         "native": ["--interp", "native"],
         # runs allowed more than 10,000 calls run on a thread with a big stack
         "jit_deep": ["--jit", "--max-depth", "20000"]}
COUNTING = ("fn spin(n, step) {\n let i = 0;\n let x = 0;\n"
            " while i < n { x = x ^ i; i = i + step; }\n return x;\n}\nprint(\"start\");\n")
FOREVER = {
    # a loop in a function called once (OSR in the JIT), in the main code, and
    # recursion without any loop (exponential: it would run for ages)
    "function": "fn spin(n) {\n let x = 0;\n while true { x = x + n; }\n return x;\n}\n"
                "print(\"start\");\nprint(spin(1));\n",
    "main": "print(\"start\");\nlet x = 0;\nfor i in 0..9223372036854775807 { x = x ^ i; }\n",
    "recursion": "fn f(n) { if n < 1 { return 1; } return f(n - 1) + f(n - 1); }\n"
                 "print(\"start\");\nprint(f(200));\n",
    # recursion inside loops: a for loop too short to poll (the JIT's polls
    # once a strip), and a while loop that polls at every back-edge
    "recursion_in_for": "fn f(n) {\n for i in 0..2 { if n > 0 { f(n - 1); } }\n return 0;\n}\n"
                        "print(\"start\");\nprint(f(200));\n",
    "recursion_in_while": "fn f(n) {\n let i = 1;\n while i >= 0 {\n"
                          "  if n > 0 { f(n - 1); }\n  i = i - 1;\n }\n return 0;\n}\n"
                          "print(\"start\");\nprint(f(200));\n",
    # a counting while loop, which the JIT strip-mines (jit/loops.py): a
    # step that makes strips, and one that cannot (0: it polls every time)
    "counting": COUNTING + "print(spin(9223372036854775807, 1));\n",
    "counting_step_0": COUNTING + "print(spin(10, 0));\n",
}


@pytest.fixture(params=sorted(FOREVER))
def forever(request, tmp_path):
    path = tmp_path / f"{request.param}.toy"
    path.write_text(FOREVER[request.param])
    return str(path)


@pytest.mark.parametrize("mode", TIERS)
def test_timeout_stops_every_tier(mode, forever):
    start = time.monotonic()
    result = vmlab("run", forever, "--timeout", "1", *TIERS[mode], timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == \
        (1, b"start\n", b"error: time limit exceeded (--timeout 1)\n")
    assert time.monotonic() - start < 30  # it stopped (the figures: docs/language.md, "Limits")


@pytest.mark.parametrize("mode", TIERS)
def test_ctrl_c_stops_every_tier(mode, forever):
    """SIGINT once the program runs: stdout is a terminal (so "start" comes
    out at once), which tells the test when to press Ctrl-C."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "vmlab", "run", forever, *TIERS[mode]],
                            cwd=ROOT, stdout=follower, stderr=subprocess.PIPE)
    os.close(follower)
    try:
        seen = b""
        while b"start" not in seen:
            seen += os.read(leader, 100)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        os.close(leader)
    assert (proc.returncode, err) == (130, b"error: interrupted\n")


def test_max_steps_stops_both_interpreters_at_the_same_instruction(tmp_path):
    path = tmp_path / "count.toy"
    path.write_text("let i = 0;\nwhile true { print(i); i = i + 1; }\n")
    results = []
    for mode in ("interp", "native"):
        stats = tmp_path / f"{mode}.json"
        result = vmlab("run", str(path), "--max-steps", "500", "--stats-json", str(stats),
                       *TIERS[mode])
        assert result.returncode == 1
        assert result.stderr == b"error: step limit exceeded (--max-steps 500)\n"
        counts = json.loads(stats.read_text())
        results.append((result.stdout, counts["instructions"]))
    assert results[0] == results[1] and results[0][1] == 500
    assert results[0][0].decode().split() == [str(i) for i in range(len(results[0][0].split()))]


def test_a_program_within_its_limits_is_unaffected():
    plain = vmlab("run", "examples/fib.toy")
    for limits in (["--max-steps", "10000000"], ["--timeout", "60"]):
        assert vmlab("run", "examples/fib.toy", *limits).stdout == plain.stdout


@pytest.mark.parametrize("args, message", [
    (["--timeout", "0"], "expected a positive number of seconds, got '0'"),
    (["--timeout", "nan"], "expected a positive number of seconds, got 'nan'"),
    (["--timeout", "soon"], "expected a positive number of seconds, got 'soon'"),
    (["--max-steps", "-3"], "expected a positive integer, got '-3'"),
    (["--max-steps", "10", "--jit"], "--max-steps counts instructions as an interpreter"),
    (["--jit-log"], "--jit-log is an option of the JIT: add --jit (or drop it)"),
    (["--jit-threshold", "5"], "--jit-threshold is an option of the JIT: add --jit"),
    (["--jit-tiers", "optimized"], "--jit-tiers is an option of the JIT"),
    (["--jit-background", "off"], "--jit-background is an option of the JIT"),
    (["--jit-cache", "off"], "--jit-cache is an option of the JIT"),
    (["--jit-dump", "d"], "--jit-dump is an option of the JIT"),
    (["--interp", "native", "--jit-log"], "--jit-log is an option of the JIT"),
    (["--interp", "native", "--jit"], "--jit works with the Python interpreter only"),
])
def test_limit_usage_errors(args, message):
    result = vmlab("run", "examples/hello.toy", *args)
    assert result.returncode == 2 and message in result.stderr.decode()


@pytest.mark.parametrize("signum, timeout, message", [
    (signal.SIGINT, None, "interrupted"),
    (signal.SIGALRM, 5, "time limit exceeded \\(--timeout 5\\)")])
def test_a_stop_inside_a_finalizer_is_raised_after_it(capsys, signum, timeout, message):
    """Ctrl-C or the timeout handled while a __del__ runs (llvmlite's objects
    have them, so the JIT's compiling may be in one): Python only reports an
    exception raised there ("Exception ignored in ..."), and the run would go
    on. The stop is raised once the finalizer is done, and nothing is printed."""
    class Finalized:
        def __del__(self):
            os.kill(os.getpid(), signum)
            for _ in range(100_000):  # the handler runs in here
                pass

    with pytest.raises(Interrupted, match=message):
        with Watch(timeout):
            Finalized()
            for _ in range(10_000_000):
                pass
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("mode", ["interp", "jit0", "native"])
def test_out_of_memory_is_an_error_in_every_tier(mode, tmp_path):
    """Arrays the memory limit cannot hold: `error: out of memory`, status 1,
    after the output so far, never a crash (in compiled code `malloc`
    returns null: jit.lower's new_array)."""
    import resource

    (tmp_path / "oom.toy").write_text(
        "fn f(n) {\n    let a = array(n, 1);\n    let b = array(n, 2);\n"
        "    let c = array(n, 3);\n    return a[0] + b[n - 1] + c[1];\n}\n"
        "print(f(10));\nprint(f(90000000));\n")  # (3 x 720 MB)
    limit = 1536 << 20

    def limited():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    result = subprocess.run([sys.executable, "-m", "vmlab", "run", "oom.toy", *TIERS[mode]],
                            cwd=tmp_path, capture_output=True, preexec_fn=limited, timeout=120)
    assert (result.returncode, result.stdout, result.stderr) == \
        (1, b"6\n", b"error: out of memory\n")
