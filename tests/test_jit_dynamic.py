"""The JIT on ordinary code: values whose type varies (tagged values, generic
specializations), side exits and their back-off, the native stack, and the
memory check. Every program behaves as in the interpreter."""

import json

import pytest

from conftest import vmlab
from jit import lower
from jit.infer import MAX_SPECIALIZATIONS
from jit.tiering import Tiering, run_program
from lang import compile_source
from vmlab.errors import ToyRuntimeError
from vmlab.interp import run
from vmlab.output import Output

JIT_RUNS = {"jit0": ["--jit", "--jit-threshold", "0"], "jit": ["--jit"],
            "jit0opt": ["--jit", "--jit-threshold", "0", "--jit-tiers", "optimized"],
            "jit0base": ["--jit", "--jit-threshold", "0", "--jit-tiers", "baseline"]}
MEMCHECK = {"VMLAB_JIT_MEMCHECK": "1"}


def deep(n: int, locals_: int = 80) -> str:
    """A recursion `n` deep whose frames hold `locals_` values live across the call."""
    lets = "\n".join(f"    let l{i} = a[{i}] + n;" for i in range(locals_))
    total = " + ".join(f"l{i}" for i in range(locals_))
    return (f"fn r(n, a) {{\n{lets}\n    if n == 0 {{ return 0; }}\n    a[n % {locals_}] = n;\n"
            f"    let t = r(n - 1, a);\n    return t + ({total}) % 7;\n}}\n"
            f"print(r({n}, array({locals_}, 1)));\n")


# The three programs of the issue that found the JIT wrong on ordinary code.
REPORTED = {
    "len_of_temporaries": "fn show(x) { return len([x]); }\nprint(show(1));\n"
                          "fn f(n) { return len(array(n, 0)); }\nprint(f(7));\n"
                          "fn g(a, k) { let n = len(a); a = [k]; return n; }\n"
                          "print(g([1, 2, 3], 5));\n",
    "bounds_before_element_type": "fn put(a, i, v) { a[i] = v; }\nput(array(3, 0), 5, 1.5);\n",
    "deep_large_frames": deep(9_999),
    "deep_large_frames_overflow": deep(10_000),
}


@pytest.mark.parametrize("run_args", JIT_RUNS)
@pytest.mark.parametrize("name", REPORTED)
def test_reported_programs_behave_as_in_the_interpreter(name, run_args, tmp_path):
    (tmp_path / "p.toy").write_text(REPORTED[name])
    want = vmlab("run", "p.toy", cwd=tmp_path)
    got = vmlab("run", "p.toy", *JIT_RUNS[run_args], cwd=tmp_path, env=MEMCHECK)
    assert (got.returncode, got.stdout, got.stderr) == (want.returncode, want.stdout,
                                                        want.stderr)
    if name == "deep_large_frames":
        assert want.stdout == b"30076\n"
    if name == "deep_large_frames_overflow":
        assert want.stderr.startswith(b"error: stack overflow\n")


def outcome(source: str, threshold=None, **options):
    """(stdout, rendered error or None, the Tiering) of a run of `source`."""
    program = compile_source(source, "p.toy")
    out = Output()
    jit = None if threshold is None else Tiering(program, out, 10_000, threshold,
                                                 memcheck=True, **options)
    try:
        if jit is None:
            run(program, out, 10_000)
        else:
            run_program(program, out, 10_000, None, jit)
    except ToyRuntimeError as e:
        return out.getvalue(), e.render(), jit
    return out.getvalue(), None, jit


POLYMORPHIC = """
fn sign(x) { if x > 0 { return 1; } if x < 0 { return -1; } }
fn half(i) { if i % 2 == 0 { return i / 2; } return float(i) / 2.0; }
fn scale(x) { x = float(x); let s = 0.0; for k in 0..3 { s = s + x; } return s; }
fn first(a) { let found = nil; for i in 0..len(a) { if found == nil { found = a[i]; } } return found; }
let total = 0;
let halves = 0.0;
for i in -40..40 {
    let s = sign(i);
    if i != 0 { total = total + s; } else { print("sign", s); }
    let h = half(i);
    if i % 2 == 0 { total = total + h; } else { halves = halves + h; }
    let v = i;
    if i > 30 { v = float(i) * 0.5; }
    print(v + v, scale(i), scale(0.5 * float(i)));
}
print(total, halves, first([3, 4]), first([true]), first(array(0, 1.5)));
"""


@pytest.mark.parametrize("threshold", [0, 2])
def test_values_of_several_types_are_compiled_not_declined(threshold):
    want = outcome(POLYMORPHIC)[:2]
    out, error, jit = outcome(POLYMORPHIC, threshold)
    assert (out, error) == want
    names = [f.name for f in jit.program.functions]
    for func, record in jit.stats.items():
        assert record.declined == []
        if func >= 0:
            assert record.compiled, names[func]
    specs = jit.compiler.inferrer.specs.values()
    returns = {s.name(): s.ret for s in specs}
    assert returns["sign(int)"] == "nil|int" and returns["half(int)"] == "int|float"
    assert returns["first(array<bool>)"] == "nil|bool"


def test_more_argument_types_than_specializations_share_a_generic_one():
    source = ("fn id(x) { return x; }\nfn pick(c, a, b) { if c { return a; } return b; }\n"
              "for i in 0..3 {\n    print(id(1), id(2.5), id(true), id(nil), id([1]), id([1.5]),"
              " id([false]));\n    print(pick(i == 1, 1, 2.5), pick(i == 2, nil, [true]),"
              " pick(true, [1], 0), pick(false, 1.5, nil), pick(i == 0, 7, 8));\n}\n")
    out, error, jit = outcome(source, 0)
    assert (out, error) == outcome(source)[:2]
    compiled = jit.stats[0].compiled
    assert len(compiled) == MAX_SPECIALIZATIONS + 1 and "id(any)" in compiled
    assert jit.stats[1].declined == []


def test_errors_on_tagged_values_are_the_interpreters():
    source = ("fn put(a, i, v) { a[i] = v; }\nfn f(x) { return x + x; }\n"
              "fn mixed(k) { if k > 0 { return [1, 2]; } return 2.5; }\n"
              "put(mixed(1), 1, 9);\nprint(f(mixed(0) - 1.5));\nput(mixed(1), 7, 1.5);\n")
    want = outcome(source)[:2]
    assert want[1].startswith("error: index 7 out of bounds for length 2")
    for threshold in (0, 2):
        assert outcome(source, threshold)[:2] == want
    source = source.replace("put(mixed(1), 7, 1.5)", "print(f(mixed(0)) + 1)")
    want = outcome(source)[:2]
    assert want[1].startswith("error: type error: cannot apply '+' to float and int")
    assert outcome(source, 0)[:2] == want


def test_a_hot_loop_is_entered_whatever_the_calls_before_it():
    """A function called 600 times with small arguments, then once with a
    long one: the long call's loop runs natively (OSR)."""
    source = ("fn work(n) { let s = 0; let i = 0; while i < n { s = s + i % 7; i = i + 1; }"
              " return s; }\nlet t = 0;\nfor k in 0..600 { t = t + work(0); }\n"
              "print(t + work(200000));\n")
    out, error, jit = outcome(source, 1000)
    assert (out, error) == outcome(source)[:2]
    work = jit.stats[0]
    assert work.osr_entries >= 1 and work.back_edges < 5_000


def frame_heavy(iterations: int) -> str:
    """A loop calling f, whose native frame (30 locals live across a call)
    is larger than the loop's."""
    lets = "\n".join(f"    let l{i} = a[{i}] + x;" for i in range(30))
    total = " + ".join(f"l{i}" for i in range(30))
    return (f"fn g(a) {{ a[0] = a[0] + 1; return 0; }}\nfn f(x, a) {{\n{lets}\n"
            f"    let t = g(a);\n    return {total} + t;\n}}\nlet s = 0;\n"
            f"let a = array(30, 1);\nfor i in 0..{iterations} {{ s = s + f(i, a) % 7; }}\n"
            f"print(s);\n")


def test_a_side_exit_reads_only_the_locals_it_wrote(tmp_path):
    """Baseline OSR code left `f`'s loop at its while loop with `v` holding
    `p` (an array), and, in a later call, while its optimized code was on
    the compiler thread, at the for loop, where `v` is not yet assigned and
    the exit writes nothing for it: the interpreter decoded the first
    exit's words, an array freed since, and the process crashed (a fuzz
    campaign's find; tiering up after 3 iterations, as the fuzz tier does)."""
    (tmp_path / "p.toy").write_text(
        "fn f(p) {\n    for i in -1..5 { p[0] = 7; }\n    let c = -2;\n"
        "    while c < 0 {\n        let v = nil;\n        v = p;\n        c = c + 1;\n    }\n"
        "    return len(p);\n}\nlet k = 0;\nwhile k < 8 {\n    print(f([3, k]));\n"
        "    k = k + 1;\n}\n")
    for _ in range(3):
        result = vmlab("run", "--jit", "--jit-threshold", "2", "--jit-cache", "off", "p.toy",
                       cwd=tmp_path, env={"VMLAB_JIT_OPTIMIZE_AFTER": "3", **MEMCHECK})
        assert (result.returncode, result.stdout, result.stderr) == (0, b"2\n" * 8, b"")


def test_a_frame_too_large_for_the_stack_is_declined_and_its_caller_exits(tmp_path):
    """With --max-depth 10,000,000 a call's share of the native stack is
    about 100 bytes: f (352 bytes) is declined, the loop that calls it is
    compiled and leaves native code at that call. After EXIT_LIMIT exits
    there it is made not entrant for 1,000 loop iterations, then twice as
    long each time, then for good: the loop does not enter and leave native
    code on every iteration."""
    (tmp_path / "p.toy").write_text(frame_heavy(30_000))
    want = vmlab("run", "p.toy", cwd=tmp_path)
    got = vmlab("run", "p.toy", "--jit", "--max-depth", "10000000", "--jit-log",
                "--stats-json", "s.json", cwd=tmp_path, env=MEMCHECK)
    assert (got.returncode, got.stdout) == (want.returncode, want.stdout) == (0, b"89997\n")
    log = got.stderr.decode()
    assert "jit: DECLINE f(int, array<int>): a native frame of " in log
    assert "10,000,000 calls would not fit in the 1024 MiB native stack" in log
    main = json.loads((tmp_path / "s.json").read_text())["jit"]["functions"]["<main>"]
    waits = [note.rsplit("; ", 1)[1] for note in main["invalidated"]]
    assert waits == [f"not entered for {n:,} loop iterations" for n in (1000, 2000, 4000, 8000)
                     ] + ["never entered again"]
    assert all("left 8 times at offset 14 (calls f(int, array<int>), which is not "
               "compiled: a native frame of" in note for note in main["invalidated"])
    assert main["exits"] == {"14": 8 * 5} and main["native_entries"] == 8 * 5
    assert main["compiled"] == ["<main> at offset 9"] and main["declined"] == []


def test_an_osr_entry_that_leaves_after_its_loop_stays_entrant(tmp_path):
    """w's loop runs natively in each of its 20 calls (w's own code is
    declined: it calls f, too large a frame under --max-depth 4,000,000),
    and each time hands the frame back after the loop, at the call of f.
    Those exits, once per entry, are no reason to stop entering the loop's
    code: only exits inside the loop count towards EXIT_LIMIT (before, the
    loop ran interpreted for 1,000 then 2,000 iterations, and after four
    such rounds for good)."""
    heavy = frame_heavy(0).split("let s = 0;")[0]  # (g and f)
    (tmp_path / "p.toy").write_text(
        heavy + "fn w(n, a) {\n    let s = 0;\n    for i in 0..n { s = s + i % 7; }\n"
        "    return s + f(n, a) % 7;\n}\nlet a = array(30, 1);\nlet s = 0;\n"
        "for k in 0..20 { s = s + w(2000, a); }\nprint(s);\n")
    want = vmlab("run", "p.toy", cwd=tmp_path)
    got = vmlab("run", "p.toy", "--jit", "--max-depth", "4000000", "--jit-log",
                "--stats-json", "s.json", cwd=tmp_path)
    assert (got.returncode, got.stdout) == (want.returncode, want.stdout) == (0, b"119959\n")
    w = json.loads((tmp_path / "s.json").read_text())["jit"]["functions"]["w"]
    assert w["compiled"] == ["w at offset 5"] and w["invalidated"] == []
    assert w["native_entries"] == 20 and w["exits"] == {"17": 20}


def test_the_memory_check_turns_a_use_after_free_into_a_wrong_answer(monkeypatch):
    """With the header loads marked invariant (the bug the check was made
    for), LLVM reads an array's length after the call that freed it: the
    check poisons freed arrays, so the answer is wrong every time."""
    header_field = lower.FunctionLowering.header_field

    def invariant(self, *args, **kwargs):
        load = header_field(self, *args, **kwargs)
        load.set_metadata("invariant.load", self.mb.module.add_metadata([]))
        return load
    monkeypatch.setattr(lower.FunctionLowering, "header_field", invariant)
    source = "fn show(x) { return len([x]); }\nprint(show(1), show(2));\n"
    assert outcome(source)[0] == "1 1\n"
    assert outcome(source, 0)[0] == "0 0\n"


def test_the_memory_check_finds_references_never_given_back(monkeypatch):
    monkeypatch.setattr(lower.FunctionLowering, "release", lambda *args: None)
    with pytest.raises(RuntimeError, match="JIT memory check failed: leaked"):
        outcome("fn f(n) { return len(array(n, 0)); }\nprint(f(3));\n", 0)


def test_what_a_narrower_visit_found_is_forgotten():
    """Inference visits an instruction again when more types reach it: `f /
    1e30` fails while f is only known as an int, not once it may be a float
    (bench/programs/type_change.toy, where the lowering once met a block
    that inference reached and the ownership analysis did not)."""
    source = """
fn bench(n) {
    let digits = 0;
    let logs = 0.0;
    for i in 0..n {
        let f = 1;
        let exact = true;
        for k in 2..i % 30 + 2 {
            if exact and f > 9223372036854775807 / k { f = float(f); exact = false; }
            if exact { f = f * k; } else { f = f * float(k); }
        }
        if exact { digits = digits + f % 10007; } else { logs = logs + f / 1e30; }
    }
    return float(digits) + logs;
}
print(bench(40));
"""
    want = outcome(source)[:2]
    assert want == ("88792.41081847013\n", None)
    for options in ({}, {"tiers": "optimized"}):
        out, error, jit = outcome(source, 0, **options)
        assert (out, error) == want
        assert not any(jit.stats[0].declined)


def test_inference_ends_where_a_return_type_could_alternate():
    """f0's result decides which specialization of pick it calls; a new one
    returns nothing so far, so f0's result shrank, the old one was called
    again, and so on (a hang the program generator found): a result type
    never shrinks."""
    source = ("fn pick(c, a, b) { if c { return a; } return b; }\n"
              "fn f0() {\n    while true {\n"
              "        if pick(true, f0(), 0.0) == 0.0 { return 1.5; }\n    }\n}\n"
              "fn f1(c) { if c { f0(); } }\nf1(false);\nprint(1);\n")
    out, error, jit = outcome(source, 0)
    assert (out, error) == ("1\n", None)
    picks = [s for s in jit.compiler.inferrer.specs.values() if s.code.name == "pick"]
    assert picks and all(s.ret == "nil|float" for s in picks)
