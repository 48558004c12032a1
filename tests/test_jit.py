"""The JIT tier: same behaviour as the interpreter, whatever the program."""

import json
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import vmlab
from jit import tiering
from jit.tiering import Tiering, run_program
from lang import compile_source
from program_gen import Generator
from vmlab.errors import ToyRuntimeError
from vmlab.interp import run
from vmlab.output import Output


def outcome(program, threshold=None, max_depth=10_000, tiers="both"):
    """(stdout, rendered error or None) of a run, interpreted or with the JIT."""
    out = Output()
    jit = None if threshold is None else Tiering(program, out, max_depth, threshold, tiers=tiers,
                                                 memcheck=True)
    try:
        if jit is None:
            run(program, out, max_depth)
        else:
            run_program(program, out, max_depth, None, jit)
    except ToyRuntimeError as e:
        return out.getvalue(), e.render()
    return out.getvalue(), None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_generated_programs_behave_the_same_in_every_tier(data):
    source = Generator(lambda n: data.draw(st.integers(0, n - 1))).program()
    program = compile_source(source, "gen.toy")
    expected = outcome(program)
    assert outcome(program, threshold=0) == expected, source
    assert outcome(program, threshold=0, tiers="optimized") == expected, source
    assert outcome(program, threshold=2) == expected, source  # OSR inside loops
    with mock.patch.object(tiering, "OPTIMIZE_COUNT", 3):  # and from baseline to optimized
        assert outcome(program, threshold=2) == expected, source


RECURSE = ("fn down(n) {{ if n == 0 {{ return 0; }} return down(n - 1) + 1; }}\n"
           "print(down({}));")


@pytest.mark.parametrize("threshold", [0, 100])
def test_stack_overflow_at_exactly_the_limit_in_native_code(threshold):
    assert outcome(compile_source(RECURSE.format(9999)), threshold) == ("9999\n", None)
    out, error = outcome(compile_source(RECURSE.format(10_000), "r.toy"), threshold)
    assert out == "" and error == outcome(compile_source(RECURSE.format(10_000), "r.toy"))[1]
    assert error.startswith("error: stack overflow\n  at <main> (r.toy:2)\n  at down (r.toy:1)")


def test_deep_recursion_with_a_raised_limit(tmp_path):
    (tmp_path / "deep.toy").write_text(RECURSE.format(150_000))
    result = vmlab("run", "deep.toy", "--jit", "--jit-threshold", "0",
                   "--max-depth", "200000", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"150000\n", b"")
    result = vmlab("run", "deep.toy", "--jit", "--max-depth", "100000", cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.startswith(b"error: stack overflow\n")


def test_arrays_are_shared_not_copied():
    """A compiled function fills an array the interpreter made; the main code
    sees the writes, and the array is still the same array."""
    program = compile_source(
        "fn fill(a, v) { for i in 0..len(a) { a[i] = v; } return a; }\n"
        "let a = array(4, 0.5);\n"
        "let b = fill(a, -1.5);\n"
        "print(a, a == b, b[3]);\n"
        "let flags = fill(array(2, false), true);\n"
        "print(flags, not flags[1]);")
    assert outcome(program, threshold=0) == ("[-1.5, -1.5, -1.5, -1.5] true -1.5\n"
                                             "[true, true] false\n", None)


def test_output_order_through_a_file(tmp_path):
    """Native prints and interpreted prints reach a file in program order."""
    (tmp_path / "p.toy").write_text(
        "fn show(i) { print(\"native\", i, float(i) / 3.0); return i; }\n"
        "for i in 0..3 { print(\"interp\", i); show(i); }\n")
    out = tmp_path / "out.txt"
    with open(out, "wb") as f:
        import subprocess
        import sys
        subprocess.run([sys.executable, "-m", "vmlab", "run", "p.toy", "--jit",
                        "--jit-threshold", "1"], cwd=tmp_path, stdout=f, check=True)
    assert out.read_text() == ("interp 0\nnative 0 0.0\ninterp 1\nnative 1 0.3333333333333333\n"
                               "interp 2\nnative 2 0.6666666666666666\n")


def test_jit_log_and_stats(tmp_path):
    (tmp_path / "p.toy").write_text(
        "fn sq(x) { return x * x; }\n"
        "fn mixed(x) { if x > 1 { return 1; } return 1.5; }\n"
        "let t = 0;\nfor i in 0..50 { t = t + sq(i); }\nprint(t, mixed(3));\n")
    result = vmlab("run", "p.toy", "--jit", "--jit-threshold", "10", "--jit-log",
                   "--stats-json", "s.json", cwd=tmp_path)
    assert result.stdout == b"40425 1\n"
    log = result.stderr.decode().splitlines()
    assert log[0].startswith("jit: COMPILE sq(int) -> int in ")
    # `mixed` returns an int or a float: a tagged value, compiled with the loop.
    assert log[1].startswith("jit: COMPILE <main> at offset ") and "with 2 more" in log[1]
    assert log[2].startswith("jit: OSR    <main> at offset ")
    assert len(log) == 3  # no side exit: native code runs the frame to its end
    report = json.loads((tmp_path / "s.json").read_text())["jit"]["functions"]
    assert report["sq"]["compiled"] == ["sq(int)"] and report["sq"]["interpreted_calls"] == 10
    assert report["mixed"]["compiled"] == ["mixed(int)"]
    assert report["mixed"]["interpreted_calls"] == 0 and report["mixed"]["declined"] == []
    assert report["sq"]["optimized"] == []  # (it never ran long)


TIER_UP = ("fn fib(n) { if n < 2 { return n; } return fib(n - 1) + fib(n - 2); }\n"
           "fn total(n) { let s = 0; for i in 0..n { s = s + i % 7; } return s; }\n"
           "let t = 0;\nfor k in 0..30 { t = t + fib(12) + total(k * 50); }\n"
           "let j = 0;\nwhile j < 3000 { t = t + j % 3; j = j + 1; }\nprint(t);\n")


def test_baseline_code_tiers_up_to_optimized_code(monkeypatch):
    """Past OPTIMIZE_COUNT calls and iterations in baseline code, the next
    entry runs optimized code, and an OSR frame gives itself back to the
    interpreter at a loop back-edge and goes on in optimized code."""
    import io
    monkeypatch.setattr(tiering, "OPTIMIZE_COUNT", 500)
    program = compile_source(TIER_UP, "t.toy")
    expected = outcome(program)
    out, log = Output(), io.StringIO()
    jit = Tiering(program, out, 10_000, threshold=20, log=log)
    run(program, out, 10_000, jit=jit)
    assert (out.getvalue(), None) == expected
    lines = log.getvalue().splitlines()
    names = [f.name for f in program.functions]
    for func in ("fib", "total"):
        record = jit.stats[names.index(func)]
        assert f"{func}(int)" in record.optimized, (record.compiled, record.optimized)
    assert any(line.startswith("jit: COMPILE fib(int) -> int in ") and "(baseline:" in line
               for line in lines)
    exits = [line for line in lines if "back to the interpreter" in line]
    assert exits and all("(hot: 500 calls and loop iterations in baseline code)" in line
                         for line in exits)
    osr = [line for line in lines if line.startswith("jit: COMPILE <main> at offset ")]
    assert "(baseline:" in osr[0] and "(optimized:" in osr[-1]


@pytest.mark.parametrize("tiers", ["baseline", "optimized"])
def test_one_tier_alone(tmp_path, tiers):
    (tmp_path / "p.toy").write_text(TIER_UP)
    result = vmlab("run", "p.toy", "--jit", "--jit-threshold", "0", "--jit-tiers", tiers,
                   "--jit-log", cwd=tmp_path)
    assert result.stdout == vmlab("run", "p.toy", cwd=tmp_path).stdout
    compiles = [line for line in result.stderr.decode().splitlines() if "COMPILE" in line]
    assert compiles and all(f"({tiers}:" in line for line in compiles)


def test_stats_name_the_optimized_code(tmp_path):
    (tmp_path / "p.toy").write_text("fn spin(n) { let s = 0; for i in 0..n { s = s + i; } "
                                    "return s; }\nprint(spin(10));\n")
    result = vmlab("run", "p.toy", "--jit", "--jit-threshold", "0", "--jit-tiers", "optimized",
                   "--stats", "--stats-json", "s.json", cwd=tmp_path)
    assert "  compiled spin(int) (optimized)\n" in result.stderr.decode()
    report = json.loads((tmp_path / "s.json").read_text())["jit"]["functions"]["spin"]
    assert report["compiled"] == report["optimized"] == ["spin(int)"]


# Found by tests/fuzz.py (programs, seed 202): f1 recurses until `stack
# overflow`. Baseline code used to inline copies of a recursive function, as
# optimized code does; at -O0 their frames used up the native stack ~750
# calls before the call limit, and the error came early.
DEEP_IN_BASELINE = """\
fn f0() {
    let v1 = 1e-308;
    let v2 = v1;
    if (64 != (1 - int(v2))) and (64 < 255) {
        for i3 in -1..0 {
            let v4 = (-0.0);
            let c5 = 0;
            while c5 < 4 and (true) {
                c5 = c5 + 1;
                print(v1, 1e308, (i3 >> i3));
                print(v4);
                v2 = float(i3);
                break;
            }
            let v6 = 3;
        }
        print(0);
    }
    return 2;
}
fn f1(p0, p1) {
    if p0 <= 0 or p0 > 8 { return 0.1; }
    f0();
    print((1.0 / 0.0));
    print(-(int(0.0) + f0()));
    let r = f1(p0 - 1, p0);
    return f1(p0, f0());
}
let v7 = f0();
print((0 < v7) or (((true) or (false)) and (not (false))));
let v8 = not ((-1e-308 * f1(v7, 0)) < 0.0);
"""


def test_deep_recursion_in_baseline_code_overflows_at_the_limit():
    program = compile_source(DEEP_IN_BASELINE, "gen.toy")
    out, error = outcome(program, threshold=0)
    assert (out, error) == outcome(program)
    assert error.startswith("error: stack overflow\n")


COUNTING = ("fn f(n, s) {{\n    let i = 0;\n    let t = 0;\n    while i {test} n {{ {body} }}\n"
            "    return t + i;\n}}\nprint(f(10, 1), f(10, 3), f(-5, 2));\n")


@pytest.mark.parametrize("test, body, counts", [
    ("<", "t = t + i; i = i + s;", True),
    ("<=", "t = t + i; i = i + 2;", True),
    ("<", "if t > 3 { break; } t = t + 1; i = i + s;", True),
    ("<", "t = t + 1; if t < 3 { continue; } i = i + s;", False),  # a path skips the step
    ("<", "n = n - 1; i = i + s;", False),                        # the bound changes
    ("<", "s = s + 1; i = i + s;", False),                        # the step changes
    ("<", "i = i + s; t = t + i;", False),                        # the step is not last
    ("<", "i = i + s; i = i + s;", False),                        # nor the only write to i
    (">", "i = i - s;", False),                                   # counting down
])
def test_which_while_loops_count(test, body, counts):
    """jit/loops.py strip-mines only loops whose every iteration that comes
    round adds a fixed step to the counter; whatever the shape, the run is
    the interpreter's."""
    from jit.infer import Inferrer
    from jit.loops import counted_loops
    program = compile_source(COUNTING.format(test=test, body=body), "c.toy")
    spec = Inferrer(program).function(0, ("int", "int"))
    assert bool(counted_loops(spec.code, spec)) == counts
    expected = outcome(program)
    assert expected[1] is None
    assert outcome(program, threshold=0) == outcome(program, threshold=0,
                                                    tiers="optimized") == expected


def test_recursion_is_copied_inline_except_inside_a_loop():
    """fib's self-calls are inlined a few levels deep; a self-call inside a
    loop (backtracking, as Are We Fast Yet's Queens) is not: its copies would
    multiply with the loop's unrolling (2.4 s to compile). A function with a
    self-call before its loop too (Permute) gets copies through that one;
    each copy's loop calls the function. Errors deep down keep their
    tracebacks (`perm` fails at the bottom)."""
    from jit.infer import Inferrer
    from jit.lower import MAX_RECURSION_COPIES, recursion_copies
    source = ("fn fib(n) { if n < 2 { return n; } return fib(n - 1) + fib(n - 2); }\n"
              "fn tries(n) { let found = 0; for i in 0..8 { if n > 0 { found = found + "
              "tries(n - 1); } } return found + 1; }\n"
              "fn perm(n, k) { if n == 0 { return 100 / k; } let s = perm(n - 1, k);\n"
              "  for i in 0..n { s = s + perm(n - 1, k); } return s; }\n"
              "print(fib(10), tries(2), perm(5, 1));\nprint(perm(4, 0));\n")
    program = compile_source(source, "r.toy")
    inferrer = Inferrer(program)
    fib, tries, perm = (inferrer.function(i, ("int",) * (1 + (i == 2))) for i in range(3))
    assert recursion_copies(fib) == MAX_RECURSION_COPIES
    assert recursion_copies(tries) == 1
    assert recursion_copies(perm) == MAX_RECURSION_COPIES
    expected = outcome(program)
    assert expected[0] == "55 73 72000\n" and "division by zero" in expected[1]
    assert outcome(program, threshold=0) == outcome(program, threshold=0,
                                                    tiers="optimized") == expected


# Towers' shape: a prefix that calls an inlined helper (which prints and
# raises) before the base case; its last recursion copy runs the prefix inline.
LEAF = ("fn take(piles, p) {{ let h = piles[p]; if h == 0 {{ print(\"empty\"); }}\n"
        "  piles[p] = h - 1; return piles[p + 3]; }}\n"
        "fn moves(piles, disks, p) {{ take(piles, p);\n"
        "  if disks == 1 {{ return 1; }}\n"
        "  return moves(piles, disks - 1, p) + moves(piles, disks - 1, p) + 1; }}\n"
        "print(moves(array(6, {}), {}, {}));\n")


@pytest.mark.parametrize("fill, disks, pile, limit", [
    (10**6, 9, 0, 10_000), (3000, 12, 2, 10_000), (10**6, 9, 3, 10_000), (10**6, 7, 0, 5),
    (10**6, 7, 0, 7), (10**6, 7, 0, 8)])
def test_a_leaf_split_prefix_inlined_in_the_last_copy_keeps_errors_and_tracebacks(
        fill, disks, pile, limit):
    """A recursive function with a leaf split (jit.lower.leaf_split) calls
    its prefix inline from its last recursion copy (`#leaf`), so a leaf
    call makes no native call: its index error (pile 3 reads past the
    end), its prints (a pile of 3000 empties) and the stack overflow at the
    call limit (7 levels under <main>: 8 frames) are the interpreter's,
    traceback and all."""
    program = compile_source(LEAF.format(fill, disks, pile), "leaf.toy")
    expected = outcome(program, max_depth=limit)
    assert (expected[1] is None) == (pile < 3 and limit >= 8)
    assert ("empty" in expected[0]) == (fill == 3000)
    for tiers in ("both", "optimized"):
        assert outcome(program, threshold=0, max_depth=limit, tiers=tiers) == expected


def test_the_last_recursion_copy_calls_the_body_not_the_prefix():
    """Towers' leaves (disks == 1) are half its calls: the last copy of
    move_discs runs the prefix inline and calls only the body, so the
    optimized IR calls the function's own symbol nowhere."""
    from pathlib import Path
    towers = Path(__file__).resolve().parents[1] / "bench" / "programs" / "towers.toy"
    ir_ = vmlab("ir", str(towers), "--fn", "move_discs", "--args",
                "array<int>,array<int>,array<int>,int,int,int").stdout.decode()
    name = '@"move_discs(array<int>, array<int>, array<int>, int, int, int)'
    assert f"define internal noundef i8 {name}#body\"" in ir_ or f"{name}#body\"(" in ir_
    calls = [line for line in ir_.splitlines() if " call " in line and name in line]
    assert calls and all(f"{name}#body\"" in line for line in calls), calls


def jit_log(source: str, background: bool = False, threshold: int = 1000) -> list[str]:
    """The --jit-log lines of a run, whose output must be the interpreter's."""
    import io
    program = compile_source(source, "p.toy")
    out, log = Output(), io.StringIO()
    run_program(program, out, 10_000, None, Tiering(program, out, 10_000, threshold, log=log,
                                                    background=background))
    assert (out.getvalue(), None) == outcome(program)
    return log.getvalue().splitlines()


def test_a_short_loop_in_a_function_called_often_is_not_compiled_for_osr():
    """`step`'s loop gets hot in its 63rd call, with a few iterations left:
    the JIT compiles `step` for its calls and lets that frame end in the
    interpreter, instead of compiling an OSR entry too (nbody's `advance`:
    28 ms for nothing). A long frame is still entered by OSR
    (test_jit_dynamic's test_a_hot_loop_is_entered_whatever_the_calls_before_it)."""
    log = jit_log("fn step(a) { let s = 0; for i in 0..15 { s = s + a[i % 3]; } return s; }\n"
                  "let a = [1, 2, 3];\nlet t = 0;\nfor k in 0..200 { t = t + step(a); }\n"
                  "print(t);\n")
    compiles = [line for line in log if line.startswith("jit: COMPILE")]
    assert len(compiles) == 1 and compiles[0].startswith("jit: COMPILE step(array<int>) -> int")


def test_a_first_tier_compile_waits_only_for_a_step_of_the_compiler_threads_compile():
    """llvmlite runs one call into LLVM at a time, so a first-tier compile,
    which the interpreter's thread waits for, used to wait for the compiler
    thread's whole optimizing compile (Towers: 110 ms). It now runs in the
    pause that job makes between two of LLVM's steps (Engine.add_measured),
    with its own --jit-log notes, and the other job then goes on."""
    import threading
    import time
    from types import SimpleNamespace

    from jit.tiering import Job
    from jit.tiers import BASELINE, OPTIMIZED
    program = compile_source("print(1);\n")
    jit = Tiering(program, Output(), 10_000, background=True)
    jit.compiler = SimpleNamespace(notes=[], reason="", pause=None, cancelled=False)
    steps, started = [], threading.Event()

    def optimizing(compiler):  # (its IR lowered: LLVM's two steps, a pause before each)
        compiler.notes.append("optimizing's note")
        started.set()
        while not jit._waiting:  # (until the interpreter's thread asks to compile)
            time.sleep(0.001)
        compiler.pause()
        steps.append("optimize")
        compiler.pause()
        steps.append("codegen")

    def first_tier(compiler):
        steps.append("first tier")
        compiler.notes.append("first tier's note")

    queued = Job({}, "loop", optimizing, "loop", OPTIMIZED, old=object())
    jit._request(queued)
    assert started.wait(60)
    waited = Job({}, "f", first_tier, "f", BASELINE)
    jit._run(waited)
    jit.close()
    assert steps == ["first tier", "optimize", "codegen"]
    assert waited.notes == ["first tier's note"]
    assert jit._ready == [queued] and queued.notes == ["optimizing's note"]


# A loop, then a call made once, to a function too large to copy inline.
COLD_CALL = """\
fn report(a) {
    let s = 0;
    for i in 0..len(a) { s = s + a[i] * (i + 1); }
    let x = s % 7 + s % 11 + s % 13;
    let y = x * 3 - s % 5 + s % 17 - s % 19;
    let z = y + x * 2 + s % 23 - s % 29 + s % 31;
    let w = z * z % 1000 + y * x % 999 + s % 37;
    print(x, y, z, w);
    return w + z + y + x;
}
fn work(n) {
    let a = [1, 2, 3, 4];
    let t = 0;
    for i in 0..n { t = t + i % 7; a[i % 4] = t % 10; }
    return t + report(a);
}
print(work(20000));
"""


def test_an_osr_entry_leaves_its_call_after_the_loop_to_the_interpreter(monkeypatch):
    """`work`'s OSR entry, baseline and optimized, hands its frame back to
    the interpreter at the call of `report` made once after the loop, as
    HotSpot's C2 does, instead of compiling `report` first (n-body's
    `energy`: 10 ms of baseline code, 41 ms optimized, for one call)."""
    monkeypatch.setattr(tiering, "OPTIMIZE_COUNT", 2000)
    log = jit_log(COLD_CALL)  # (which checks the output and the outcome)
    compiles = [line for line in log if line.startswith("jit: COMPILE")]
    assert [line.split(" -> ")[0] for line in compiles] == ["jit: COMPILE work at offset 11"] * 2
    assert "(baseline:" in compiles[0] and "(optimized:" in compiles[1]
    exits = [line for line in log if line.startswith("jit: EXIT")]
    assert exits[-1].endswith("back to the interpreter at offset 30 (a call made once, after "
                              "the loop)"), log


# A loop that calls `step`, too large (more than INLINE_SIZE instructions)
# to be inlined in baseline code.
_BODY = "".join(f"    s = s + a[{i % 4}] * {i};\n" for i in range(12))
STEP_LOOP = (f"fn step(a) {{\n    let s = 0;\n{_BODY}    return s % 1000;\n}}\n"
             "let a = [1, 2, 3, 4];\nlet t = 0;\n"
             "for i in 0..3000 { t = t + step(a); a[i % 4] = t % 10; }\nprint(t);\n")


def test_a_baseline_module_calls_a_large_callee_where_its_code_is(monkeypatch):
    """`step` (more than INLINE_SIZE instructions, so not inlined in
    baseline code) has baseline code by the time the loop that calls it
    gets hot: the loop's baseline module calls that code instead of
    compiling a copy (n-body's `advance`: 11 ms); its optimized module
    copies `step` in, for LLVM to inline."""
    from jit.compiler import INLINE_SIZE
    monkeypatch.setattr(tiering, "OPTIMIZE_COUNT", 2000)
    program = compile_source(STEP_LOOP, "p.toy")
    assert len(program.functions[0].instrs) > INLINE_SIZE
    compiles = [line for line in jit_log(STEP_LOOP) if line.startswith("jit: COMPILE")]
    assert compiles[0].startswith("jit: COMPILE step(array<int>) -> int in "), compiles
    main = [line for line in compiles if line.startswith("jit: COMPILE <main> at offset ")]
    assert len(main) == 2 and "(baseline:" in main[0] and "(optimized:" in main[1], compiles
    assert " with " not in main[0] and " with 1 more " in main[1], compiles


def test_baseline_code_calls_another_module_through_its_call_slot(monkeypatch):
    """The loop's baseline module calls `step`'s baseline code (in a module
    of its own) through `step`'s call slot. When the loop gets hot, `step`'s
    optimized code is made first, and from then on the slot holds it: the
    baseline loop runs it before its own optimized code exists (n-body's
    `advance`)."""
    import ctypes

    from jit import engine
    from jit.tiers import BASELINE, OPTIMIZED
    monkeypatch.setattr(tiering, "OPTIMIZE_COUNT", 2000)
    program = compile_source(STEP_LOOP, "p.toy")
    out = Output()
    jit = Tiering(program, out, 10_000, 1000)
    run_program(program, out, 10_000, None, jit)
    assert (out.getvalue(), None) == outcome(program)
    exported = jit.compiler.exported
    step = next(key for key, tier in exported if tier == BASELINE and key[0] == 0)
    loop = next(key for key, tier in exported if tier == BASELINE and key[0] != 0)
    assert jit.compiler.slotted[(loop, BASELINE)][0].key == step
    slot = engine.engine().global_address(f"{exported[(step, BASELINE)]}.slot")
    assert ctypes.c_void_p.from_address(slot).value == \
        engine.engine().address(exported[(step, OPTIMIZED)])


def test_a_hot_loop_has_the_baseline_code_it_calls_by_slot_optimized_first(monkeypatch):
    """The loop's baseline code gets hot: `step`, which it calls by slot,
    is optimized (alone) before the loop's OSR entry (with `step` inlined)."""
    monkeypatch.setattr(tiering, "OPTIMIZE_COUNT", 2000)
    optimized = [line.split(" -> ")[0] for line in jit_log(STEP_LOOP)
                 if line.startswith("jit: COMPILE") and "(optimized:" in line]
    assert len(optimized) == 2 and optimized[0] == "jit: COMPILE step(array<int>)" and \
        optimized[1].startswith("jit: COMPILE <main> at offset "), optimized


def test_a_function_whose_loop_has_native_code_is_compiled_for_its_calls_alongside():
    """`count`'s loop runs natively (OSR) in its first call; its second call
    does not wait for `count`'s own code (25 ms for the sieve): the compile
    goes to the compiler thread, and the call reaches the loop's code at its
    first back-edge meanwhile."""
    log = jit_log("fn count(n) { let c = 0; for i in 0..n { if i % 3 == 0 { c = c + 1; } }\n"
                  "  return c; }\nlet t = 0;\nfor r in 0..5 { t = t + count(3000); }\nprint(t);\n",
                  background=True)
    assert "jit: QUEUE  count(int) (baseline)" in log, log


def test_a_stop_that_came_before_the_run_began_is_passed_on():
    """Ctrl-C arrives on the main thread, which passes it on to the JIT's
    run thread, also when it came before that thread existed (it used to
    be raised on the main thread, which then left native code running)."""
    import _signal

    from vmlab.interrupts import Interrupted, Watch
    program = compile_source("let x = 0;\nwhile true { x = x + 1; }\n", "p.toy")
    out = Output()
    with Watch(timeout=20) as watch:  # (the timeout: only if this fails)
        watch._stop(_signal.SIGINT)
        with pytest.raises(Interrupted) as stopped:
            run_program(program, out, 10_000, None, Tiering(program, out, 10_000, 1000))
    assert stopped.value.reason == "interrupted"
