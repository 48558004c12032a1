"""`vmlab ir` and `vmlab asm`: what a function becomes, here and elsewhere."""

import re

import pytest

from conftest import ROOT, vmlab

FIB = str(ROOT / "examples" / "fib.toy")


def test_ir_before_and_after_optimization():
    raw = vmlab("ir", FIB, "--fn", "fib", "--unoptimized")
    assert raw.returncode == 0
    text = raw.stdout.decode()
    assert 'define external i64 @"fib(int)"(i64 %"depth_site", ptr %"shadow", i64 %"n")' in text
    assert "alloca" in text  # the operand stack's slots, before SROA
    optimized = vmlab("ir", FIB, "--fn", "fib").stdout.decode()
    assert "alloca" not in optimized and "@rt_raise(i64 3" in optimized  # stack overflow
    assert vmlab("ir", FIB, "--fn", "fib", "--opt", "0").stdout.decode().count("alloca") > 0


def test_ir_for_other_argument_types_and_tagged_values(tmp_path):
    (tmp_path / "h.toy").write_text("fn half(x, a) { return x / 2.0 + a[0]; }\n")
    text = vmlab("ir", "h.toy", "--fn", "half", "--args", "float,array<float>",
                 "--unoptimized", cwd=tmp_path).stdout.decode()
    assert '@"half(float, array<float>)"' in text and "fdiv double" in text
    # fib(float) compares a float with 2, an int: it can only raise a type error.
    assert "@rt_raise(i64 6" in vmlab("ir", FIB, "--fn", "fib", "--args", "float").stdout.decode()
    # An int or a float: a tagged value, {tag, payload}, the float as its bits.
    (tmp_path / "m.toy").write_text("fn f(x) { if x > 0 { return 1; } return 2.5; }\n")
    result = vmlab("ir", "m.toy", "--fn", "f", cwd=tmp_path)
    assert result.returncode == 0
    assert 'define { i64, i64 } @"f(int)"' in result.stdout.decode()
    assert "i64 4612811918334230528" in result.stdout.decode()  # 2.5


@pytest.mark.parametrize("target, marker", [
    ("x86_64-unknown-linux-gnu", "retq"), ("aarch64-unknown-linux-gnu", "ret"),
    ("riscv64-unknown-linux-gnu", "ret"), ("wasm32-unknown-unknown", "end_function")])
def test_asm_for_several_targets(target, marker):
    result = vmlab("asm", FIB, "--fn", "fib", "--target", target)
    assert result.returncode == 0, result.stderr
    assert '"fib(int)":' in result.stdout.decode() and marker in result.stdout.decode()


def test_asm_for_the_host():
    assert '"fib(int)":' in vmlab("asm", FIB, "--fn", "fib").stdout.decode()


def test_baseline_tier():
    """The baseline's IR is in SSA form, not optimized further, and counts
    the work that decides when to optimize; its code is the -O0 generator's."""
    ir = vmlab("ir", FIB, "--fn", "fib", "--tier", "baseline").stdout.decode()
    assert "alloca" not in ir and "@rt_work" in ir
    assert "@rt_work" not in vmlab("ir", FIB, "--fn", "fib").stdout.decode()
    for target in (None, "aarch64-unknown-linux-gnu"):
        extra = ["--target", target] if target else []
        baseline = vmlab("asm", FIB, "--fn", "fib", "--tier", "baseline", *extra).stdout.decode()
        assert '"fib(int)":' in baseline and "rt_work" in baseline


@pytest.mark.parametrize("args, message", [
    (["--fn", "nope"], "no function 'nope'"),
    (["--fn", "fib", "--args", "string"], "unknown type 'string' in --args"),
    (["--fn", "fib", "--target", "nonsense-x"], "unknown --target 'nonsense-x' (targets: "
                                                "x86-64, aarch64, riscv64, wasm32, host, all;"),
    (["--fn", "fib", "--target", "sparc-foo"], "unknown --target 'sparc-foo'"),  # (no OS)
    (["--fn", "fib", "--target", "x86-64,foo-bar-baz"], "unknown --target 'foo-bar-baz'"),
    ([], "asm needs FILE and --fn NAME"),
])
def test_usage_errors(args, message):
    result = vmlab("asm", FIB, *args)
    assert result.returncode == 2 and message in result.stderr.decode()
    assert result.stdout == b""


def test_the_targets_are_listed_without_a_program():
    result = vmlab("asm", "--target", "list")
    assert result.returncode == 0 and result.stderr == b""
    lines = result.stdout.decode().splitlines()
    assert lines[:4] == ["x86-64    x86_64-unknown-linux-gnu",
                         "aarch64   aarch64-unknown-linux-gnu",
                         "riscv64   riscv64-unknown-linux-gnu",
                         "wasm32    wasm32-unknown-unknown"]


def test_one_function_on_every_target_with_its_sizes():
    """--target all: the four listings in order, then each one's code size
    beside the .toyc bytes of the same function, which runs on all of them."""
    from lang import compile_source
    from vmlab.toyc import encoded_size

    result = vmlab("asm", FIB, "--fn", "fib", "--target", "all")
    assert result.returncode == 0 and result.stderr == b""
    text = result.stdout.decode()
    headers = [line for line in text.splitlines() if line.startswith("# =====")]
    assert headers == ["# ===== x86-64 (x86_64-unknown-linux-gnu) =====",
                       "# ===== aarch64 (aarch64-unknown-linux-gnu) =====",
                       "# ===== riscv64 (riscv64-unknown-linux-gnu) =====",
                       "# ===== wasm32 (wasm32-unknown-unknown) ====="]
    assert "retq" in text and "end_function" in text
    table = text[text.index("# fib(int) with what it calls (fib), optimized tier:"):]
    rows = {line[2:].rsplit(None, 2)[0].strip(): line.rsplit(None, 2)[1:]
            for line in table.splitlines()[2:]}
    assert list(rows) == ["x86-64", "aarch64", "riscv64", "wasm32", ".toyc (any machine)"]
    fib = compile_source(open(FIB).read(), "fib.toy").function("fib")
    assert rows[".toyc (any machine)"] == [f"{encoded_size(fib):,}", f"{len(fib.instrs)}"]
    for target in ("x86-64", "aarch64", "riscv64", "wasm32"):
        size, count = (int(x.replace(",", "")) for x in rows[target])
        assert size > encoded_size(fib) and count > len(fib.instrs), target


def test_riscv64_code_is_for_rv64gc():
    """Debian's baseline: multiplies and atomics are instructions, not calls."""
    text = vmlab("asm", FIB, "--fn", "fib", "--target", "riscv64").stdout.decode()
    assert "__atomic" not in text and "__mul" not in text and "\tret" in text


def test_instructions_are_counted_without_directives_labels_or_comments():
    from jit.inspect import instructions
    listing = ('\t.text\n"f(int)":\n\t# %bb.0:\n\tmovq\t%rdi, %rax\n.LBB0_1:\n'
               "\tlocal.get\t0\n\t// aarch64 comment\n\tretq\n")
    assert instructions(listing) == 3


def test_wrong_argument_count():
    result = vmlab("ir", FIB, "--fn", "fib", "--args", "int,int")
    assert result.returncode == 2  # (a usage error, as the others)
    assert result.stderr.decode() == "vmlab: error: fib takes 1 argument(s), --args gave 2\n"


EXAMPLES = sorted((ROOT / "examples").glob("*.toy"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_jit_dump_has_what_the_log_says_was_compiled(example, tmp_path):
    """--jit-dump: one set of files per compile, in the order --jit-log gives,
    with the same names and tiers; each assembly listing names the source
    line and bytecode offset of its instructions."""
    import json
    import re

    dump = tmp_path / "dump"
    result = vmlab("run", str(example), "--jit", "--jit-threshold", "0", "--jit-background",
                   "off", "--jit-cache", "off", "--jit-log", "--jit-dump", str(dump))
    plain = vmlab("run", str(example))
    assert (result.stdout, result.returncode) == (plain.stdout, plain.returncode)
    logged = re.findall(r"^jit: COMPILE (.+?) -> .* \((baseline|optimized): ",
                        result.stderr.decode(), re.M)
    events = json.loads((dump / "index.json").read_text())["events"]
    assert [(e["name"], e["tier"]) for e in events] == logged
    assert events or example.stem == "hello"  # (it calls nothing and has no loop)
    for e in events:
        files = {p.name[len(e["files"]):] for p in dump.glob(e["files"] + ".*")}
        assert files == {".bytecode", ".ll", ".opt.ll", ".s"}
        assembly = (dump / (e["files"] + ".s")).read_text()
        assert re.search(r"^\t# line [1-9]\d*, offset \d+$", assembly, re.M), e["files"]
        assert ".debug_" not in assembly and "!dbg" in (dump / (e["files"] + ".ll")).read_text()
        assert e["bytes"]["machine_code"] > 0 and e["reason"] and not e["from_cache"]


def test_jit_dump_of_a_cached_run_and_its_usage_error(tmp_path):
    import json

    fib = str(ROOT / "examples" / "fib.toy")
    for _ in range(2):
        args = ("run", fib, "--jit", "--jit-threshold", "0", "--jit-cache", str(tmp_path / "c"),
                "--jit-dump", str(tmp_path / "d"))
        assert vmlab(*args).returncode == 0
    events = json.loads((tmp_path / "d" / "index.json").read_text())["events"]
    assert events and all(e["from_cache"] for e in events)
    result = vmlab("run", fib, "--jit-dump", str(tmp_path / "e"))
    assert result.returncode == 2 and b"--jit-dump is an option of the JIT: add --jit" in result.stderr
    assert not (tmp_path / "e").exists()
    (tmp_path / "file").write_text("")
    result = vmlab("run", fib, "--jit", "--jit-dump", str(tmp_path / "file" / "d"))
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr.decode().startswith("vmlab: error: cannot write to --jit-dump ")


def test_jit_dump_with_the_compiler_thread(tmp_path):
    """The compiler thread and the interpreter's write the dump at once (a
    loop's OSR entry is optimized in the background while the function's
    own compile runs): each compile keeps its own number and files, and the
    run its output and status (it ended in an internal error)."""
    import json
    import threading

    from jit.dump import Dump

    dump = Dump(tmp_path / "threads", "p.toy")

    def compiles(name):
        for _ in range(30):
            dump.write(name=name, kind="call", tier="baseline", types=[], reason="test",
                       functions=[name], compile_ms=1.0, cached=False, bytecode="b", ir="i",
                       optimized_ir="o", assembly="\tret\n", code_bytes=1)
    threads = [threading.Thread(target=compiles, args=(f"f{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = json.loads((tmp_path / "threads" / "index.json").read_text())["events"]
    assert [e["seq"] for e in events] == list(range(1, 121))
    assert len({e["files"] for e in events}) == 120

    source = (ROOT / "bench" / "programs" / "sieve.toy").read_text().replace(
        "print(bench(5000000));", "print(bench(1000000));")
    (tmp_path / "s.toy").write_text(source)
    result = vmlab("run", "s.toy", "--jit", "--jit-cache", "off", "--jit-dump", "d",
                   cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"784980\n", b"")
    events = json.loads((tmp_path / "d" / "index.json").read_text())["events"]
    assert len({e["files"] for e in events}) == len(events) >= 2
    assert all((tmp_path / "d" / (e["files"] + ".s")).exists() for e in events)


MANDEL = str(ROOT / "examples" / "mandelbrot.toy")


def test_where_the_types_came_from_and_the_tier_are_stated():
    guessed = vmlab("asm", MANDEL, "--fn", "escape_time").stdout.decode().splitlines()
    assert guessed[:2] == [
        "# escape_time(int, int, int), optimized tier (the default; --tier baseline: the "
        "first tier)",
        "# argument types guessed: all int (--args TYPES, or --profile to take them from a run)"]
    profiled = vmlab("ir", MANDEL, "--fn", "escape_time", "--profile", "--tier", "baseline")
    lines = profiled.stdout.decode().splitlines()
    assert lines[0] == "; escape_time(float, float, int), baseline tier"
    assert lines[1].startswith("; argument types as in a run of the program (")
    assert '@"escape_time(float, float, int)"(' in profiled.stdout.decode()
    given = vmlab("asm", FIB, "--fn", "fib", "--args", "int").stdout.decode().splitlines()
    assert given[0].startswith("# fib(int), optimized tier") and "argument types" not in given[1]


def test_profile_of_a_function_never_called(tmp_path):
    (tmp_path / "p.toy").write_text("fn never(x) { return x; }\nprint(1);\n")
    result = vmlab("asm", "p.toy", "--fn", "never", "--profile", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (1, b"")
    assert result.stderr.decode() == ("error: never was not called in a run of the program "
                                      "(at most 10 s): give its types with --args\n")


def test_the_tutorials_instruction_counts():
    """docs/tutorial.md quotes the sizes of collatz's steps: they are the tool's."""
    tutorial = " ".join((ROOT / "docs" / "tutorial.md").read_text().split())
    collatz = str(ROOT / "examples" / "collatz.toy")
    counts = {}
    for tier in ("baseline", "optimized"):
        table = vmlab("asm", collatz, "--fn", "steps", "--tier", tier, "--target",
                      "x86-64,aarch64").stdout.decode()
        counts[tier] = {m[1]: int(m[2]) for m in re.finditer(r"^# (\S+) +[\d,]+ +(\d+)$",
                                                             table, re.M)}
    assert (f"the baseline's code is {counts['baseline']['x86-64']} instructions and the "
            f"optimized code {counts['optimized']['x86-64']}; aarch64's are "
            f"{counts['baseline']['aarch64']} and {counts['optimized']['aarch64']}") in tutorial


def test_ir_shows_the_module_the_jit_makes(tmp_path):
    """A callee over the inlining limit is a call in its caller's module,
    as at run time, unless the call is inside a loop (jit.compiler.plan)."""
    body = "".join("    x = x * 3 + 1;\n" for _ in range(20))  # 100 bytecode instructions
    (tmp_path / "p.toy").write_text(
        f"fn big(x) {{\n{body}    return x;\n}}\n"
        "fn once(n) { return big(n) + 1; }\n"
        "fn looped(n) { let s = 0; for i in 0..n { s = s + big(i); } return s; }\n"
        "print(once(1), looped(3));\n")
    once = vmlab("ir", "p.toy", "--fn", "once", cwd=tmp_path).stdout.decode()
    looped = vmlab("ir", "p.toy", "--fn", "looped", cwd=tmp_path).stdout.decode()
    assert 'declare i64 @"big(int)"' in once and 'call i64 @"big(int)"' in once
    assert '@"big(int)"' not in looped and "mul i64" in looped


def test_leaf_splits_only_where_llvm_honours_musttail():
    """fib's leaf, `return n`, runs without a frame on x86-64 (a leaf
    split: jit.lower.leaf_split); targets whose LLVM would abort the process
    on `musttail` get the function whole."""
    listing = vmlab("asm", FIB, "--fn", "fib", "--target", "x86-64").stdout.decode()
    prefix = listing.split('"fib(int)":', 1)[1].split(".Lfunc_end0", 1)[0]
    code = [line.split()[0] for line in prefix.splitlines()
            if line.startswith("\t") and not line.lstrip().startswith((".", "#"))]
    assert code == ["cmpq", "jg", "movq", "retq"]  # n < 2: return n; else the body
    result = vmlab("asm", FIB, "--fn", "fib", "--target",
                   "powerpc64le-unknown-linux-gnu,mips-unknown-linux-gnu,wasm32")
    assert result.returncode == 0 and "#body" not in result.stdout.decode()


def test_a_while_loop_polls_with_one_compare(tmp_path):
    """The stop flag is read at a while loop's back-edge: on x86-64 a
    compare in memory (a volatile load, jit.lower.VolatileLoad); other
    targets read it atomically. A small loop is unrolled twice
    (jit.loops.unrolled_loops): two copies of its load, one poll."""
    (tmp_path / "p.toy").write_text(
        "fn walk(next, x) {\n    let n = 0;\n    while x != -1 {\n"
        "        x = next[x];\n        n = n + 1;\n    }\n    return n;\n}\n"
        "print(walk([1, 2, -1], 0));\n")
    listing = vmlab("asm", "p.toy", "--fn", "walk", "--args", "array<int>,int",
                    "--target", "x86-64", cwd=tmp_path).stdout.decode()
    assert listing.count("\tcmpq\t$0, -16(%rsi)") == 1
    assert len(re.findall(r"\tmovq\t\(%r\w+,%r\w+,8\), %r\w+", listing)) == 2
    result = vmlab("asm", "p.toy", "--fn", "walk", "--args", "array<int>,int", "--target",
                   "aarch64,powerpc64le-unknown-linux-gnu,wasm32", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.decode().count("walk(") >= 3


def test_a_cold_print_keeps_the_callers_registers(tmp_path):
    """Values live across a print stay in the registers they are in (the
    print is called through a preserve_mostcc wrapper): the function saves
    no callee-saved register, and only aligns the stack for the call."""
    (tmp_path / "p.toy").write_text(
        "fn step(a, i, v) {\n    if v < 0 {\n        print(\"negative\");\n    }\n"
        "    a[i] = v;\n    return i + 1;\n}\n"
        "let a = [1, 2];\nprint(step(a, 1, 5), step(a, 0, -1), a[0]);\n")
    listing = vmlab("asm", "p.toy", "--fn", "step", "--args", "array<int>,int,int",
                    "--target", "x86-64", cwd=tmp_path).stdout.decode()
    step = listing.split('"step(array<int>, int, int)":', 1)[1].split(".Lfunc_end0", 1)[0]
    pushes = [line.split()[1] for line in step.splitlines() if line.startswith("\tpushq")]
    assert pushes == ["%rax"] and "rt_print.keeping" in step
    assert vmlab("run", "--jit", "p.toy", cwd=tmp_path).stdout == b"negative\n2 1 -1\n"


def test_a_recursive_callee_called_with_a_constant_gets_its_own_copy(tmp_path):
    """Optimized code copies a recursive callee into the caller's module
    where a call passes an int constant for a parameter its loop's test
    uses (jit.compiler.plan), so LLVM sees every call of the copy: here `c` stays within 0..4, the test
    before the loop needs no 128-bit sums (the callee's own code does), and
    the whole recursion unrolls into `top`. A call without a constant, and
    baseline code, call the callee where it is."""
    (tmp_path / "p.toy").write_text(
        "fn walk(a, c) {\n    for r in 0..4 {\n        a[c + r] = r;\n    }\n"
        "    if c < 4 {\n        walk(a, c + 1);\n    }\n    return 0;\n}\n"
        "fn top(a) { return walk(a, 0); }\nfn any(a, k) { return walk(a, k); }\n"
        "let a = array(8, 0);\nprint(top(a), any(a, 2), a);\n")

    def show(command, fn, args, *more):
        return vmlab(command, "p.toy", "--fn", fn, "--args", args, *more,
                     cwd=tmp_path).stdout.decode()
    walk = '"walk(array<int>, int)"'
    assert f"define internal i64 @{walk}" in show("ir", "top", "array<int>", "--unoptimized")
    assert f"declare external i64 @{walk}" in show("ir", "any", "array<int>,int", "--unoptimized")
    assert f"declare external i64 @{walk}" in show("ir", "top", "array<int>", "--unoptimized",
                                                   "--tier", "baseline")
    top = show("asm", "top", "array<int>", "--target", "x86-64")
    assert "sbbq" in show("asm", "walk", "array<int>,int", "--target", "x86-64")
    assert "sbbq" not in top and "walk(" not in top.split('"top(array<int>)":', 1)[1]
    assert vmlab("run", "--jit", "p.toy", cwd=tmp_path).stdout == b"0 0 [0, 0, 0, 0, 0, 1, 2, 3]\n"
