"""The interpreter through its Python API: frames, limits, output buffering."""

import io

import pytest

from lang import compile_source
from vmlab.errors import ToyRuntimeError
from vmlab.interp import run
from vmlab.output import Output

RECURSE = "fn down(n) {{ if n == 0 {{ return 0; }} return down(n - 1) + 1; }}\nprint(down({}));"


def run_source(source, **kw):
    out = Output()
    try:
        run(compile_source(source, "t.toy"), out, **kw)
    except ToyRuntimeError as e:
        return out.getvalue(), e
    return out.getvalue(), None


def test_call_depth_limit_counts_active_calls_not_main():
    assert run_source(RECURSE.format(9999)) == ("9999\n", None)  # 10,000 active calls
    out, error = run_source(RECURSE.format(10000))
    assert error.message == "stack overflow" and len(error.frames) == 10_001
    assert error.frames[0] == ("<main>", 2) and error.frames[-1] == ("down", 1)
    assert run_source(RECURSE.format(3), max_depth=4)[0] == "3\n"
    assert run_source(RECURSE.format(4), max_depth=4)[1].message == "stack overflow"


def test_long_tracebacks_show_both_ends():
    frames = [("<main>", 1)] + [("f", i) for i in range(2, 27)]
    text = ToyRuntimeError("boom", frames, "p.toy").render().splitlines()
    assert text[0] == "error: boom"
    assert text[1:11] == [f"  at {f} (p.toy:{n})" for f, n in frames[:10]]
    assert text[11] == "  ... 6 more calls ..."
    assert text[12:] == [f"  at {f} (p.toy:{n})" for f, n in frames[-10:]]
    short = ToyRuntimeError("boom", frames[:20], "p.toy").render()
    assert short.count("  at ") == 20 and "more calls" not in short


def test_output_before_an_error_is_kept():
    out, error = run_source("print(1);\nprint(2, [1.5]);\nprint(1 % 0);")
    assert out == "1\n2 [1.5]\n" and error.frames == [("<main>", 3)]


class Recorder(io.RawIOBase):
    def __init__(self):
        self.writes = []

    def write(self, b):
        self.writes.append(bytes(b))
        return len(b)


@pytest.mark.parametrize("line_buffered, writes", [(True, 3), (False, 1)])
def test_output_flushes_per_line_only_for_terminals(line_buffered, writes):
    stream = Recorder()
    out = Output(stream, line_buffered=line_buffered)
    run(compile_source("print(1); print(2); print(3);"), out)
    out.flush()
    assert len(stream.writes) == writes and b"".join(stream.writes) == b"1\n2\n3\n"


def test_arrays_are_shared_by_reference_between_frames():
    out, error = run_source(
        "fn bump(a) { a[0] = a[0] + 1; return a; }\n"
        "let a = [1]; let b = bump(bump(a));\nprint(a, a == b);")
    assert (out, error) == ("[3] true\n", None)
