"""CI's bounded fuzzing campaigns (tests/fuzz.py; the README documents the
long ones): generated programs through every tier, and mutated sources
through the CLI in every tier. Seeded by the date, so each day explores new
inputs while a failure stays reproducible that day (the seed is printed).
Then what the generated programs do: each feature of tests/program_gen.py
shows, by its behaviour, within a fixed series of programs."""

import datetime
import functools
import re
import sys
from collections import defaultdict

import pytest

import fuzz
import program_gen
from lang import ast as toy_ast
from lang import compile_source
from lang.parser import parse
from vmlab import opcodes as op
from vmlab.errors import ToyRuntimeError
from vmlab.interp import run
from vmlab.output import Output
from vmlab.values import ToyArray, type_name

SEED = int(datetime.date.today().strftime("%Y%m%d"))


def test_generated_programs_agree_in_every_tier():
    counts = fuzz.campaign("programs", 200, SEED)
    print(f"\nfuzz programs, seed {SEED}: {counts['programs']} programs, "
          f"{counts['errors']} ending in a runtime error")
    assert counts["programs"] == 200 and counts["errors"] > 0
    assert not counts["mismatches"], "\n\n".join(counts["mismatches"])


def test_mutated_sources_never_break_the_cli():
    counts = fuzz.campaign("sources", 200, SEED)
    print(f"\nfuzz sources, seed {SEED}: {counts['ok']} ok, {counts['stopped']} stopped")
    assert not counts["failures"], "\n\n".join(counts["failures"][:5])
    assert counts["ok"] + counts["stopped"] == 200


def test_a_mismatch_is_shrunk_and_saved_as_a_conformance_program(tmp_path, monkeypatch):
    """With a fake disagreement (any program that prints a product 'differs'),
    the campaign shrinks the program and saves it with the interpreter's output."""
    monkeypatch.setattr(fuzz, "REGRESSIONS", tmp_path / "regressions")
    monkeypatch.setattr(fuzz, "mismatch", lambda source: "fake" if "*" in source else None)
    index = next(i for i in range(500)
                 if "*" in fuzz.generate(fuzz.Choices(fuzz.random.Random(f"1:{i}"))))
    counts = fuzz.programs_task(1, index, 1)
    saved = tmp_path / "regressions" / f"fuzz_1_{index}.toy"
    assert counts["mismatches"] and str(saved) in counts["mismatches"][0]
    original = fuzz.generate(fuzz.Choices(fuzz.random.Random(f"1:{index}")))
    small = saved.read_text()
    assert "*" in small and len(small) < len(original)
    out, error = fuzz.outcome(small, "interp")
    assert saved.with_suffix(".out").read_text() == out
    assert saved.with_suffix(".err").exists() == (error is not None)


def test_a_program_that_kills_its_worker_is_named(monkeypatch):
    """A crash takes its worker and the pool's other chunks with it: the
    campaign runs those chunks again alone, then the crashing chunk's
    programs one by one, and reports the one that dies, with its source
    (here a fake crash: a program that prints a product ends its process)."""
    import os
    monkeypatch.setattr(fuzz, "mismatch", lambda source: os._exit(1) if "*" in source else None)
    crashing = [i for i in range(40)
                if "*" in fuzz.generate(fuzz.Choices(fuzz.random.Random(f"1:{i}")))]
    assert 0 < len(crashing) < 40
    counts = fuzz.campaign("programs", 40, 1, workers=2)
    assert counts["programs"] == 40 - len(crashing)
    assert [f.split(":")[1].split()[0] for f in counts["failures"]] == list(map(str, crashing))
    shown = counts["failures"][0].split("\n", 1)[1]
    assert shown == fuzz.generate(fuzz.Choices(fuzz.random.Random(f"1:{crashing[0]}"))).rstrip()


def test_a_crash_that_does_not_come_again_is_still_reported(monkeypatch, tmp_path):
    """A worker that dies where the same chunks run again alone pass (a
    crash that depends on what the worker ran before) is a problem too."""
    import os
    flag = tmp_path / "crashed"

    def crash_once(source):
        if not flag.exists():
            flag.write_text("")
            os._exit(1)
    monkeypatch.setattr(fuzz, "mismatch", crash_once)
    counts = fuzz.campaign("programs", 40, 1, workers=2)
    assert counts["programs"] == 40 and len(counts["failures"]) == 1
    assert "none of them dies run again alone" in counts["failures"][0]


def test_generated_programs_use_every_opcode_the_compiler_emits():
    from lang import compile_source, decode_source
    from vmlab.opcodes import OPCODES

    def opcodes(program):
        return {OPCODES[op].name for code in program.functions + [program.main]
                for op, _ in code.instrs}
    emitted = set()
    for path in (fuzz.TESTS / "conformance").rglob("*.toy"):
        try:
            emitted |= opcodes(compile_source(decode_source(path.read_bytes()), path.name))
        except Exception:  # noqa: BLE001 - the compile-error programs
            pass
    generated = set()
    for i in range(1000):
        source = fuzz.generate(fuzz.Choices(fuzz.random.Random(f"cover:{i}")))
        generated |= opcodes(compile_source(source, "gen.toy"))
    assert emitted - generated == set()


# --- what the generated programs do (tests/program_gen.py) -------------------
#
# Each feature of the generator is asserted by behaviour: the programs of a
# seeded series run in the interpreter under an observer of every instruction
# (types of arguments, results and locals, per active call; arrays that only
# the operand stack holds; nil's uses; the operands of a failing store).

SURVEY = 1000  # programs: each feature must show within this many
ELEMENTS = {int: "int", float: "float", bool: "bool"}
UNSET = "unset"


def type_of(value) -> str:
    return f"array<{ELEMENTS[value.elem]}>" if type(value) is ToyArray else type_name(value)


def only_on_the_stack(value) -> bool:
    """An array no variable holds: its references are the operand stack's,
    this function's parameter and getrefcount's argument."""
    return type(value) is ToyArray and sys.getrefcount(value) == 3


class Profile:
    """An observer of one interpreted run that names what the run did."""

    def __init__(self, program, source: str):
        self.program, self.seen = program, set()
        self.frames = [[UNSET] * program.main.nlocals]  # per active call: each local's type
        self.runs = [[(None, 0)] * program.main.nlocals]  # ... (store pc, stores in a row there)
        self.returns = defaultdict(set)   # function -> the types it returned
        self.ended = set()                # functions that returned nil by falling off their end
        self.combos = defaultdict(set)    # function -> the argument types it was called with
        self.operands = (None, ())        # of the last INDEX, STORE_INDEX or ARRAY_FILL
        self.open_ended = open_ended(source)
        self.turns: dict[int, tuple] = {}  # depth -> (code, header, back-edge, turns so far)

    def __call__(self, code, pc, stack, depth):
        opcode, arg = code.instrs[pc]
        loop = self.turns.get(depth)
        if loop and (loop[0] is not code or not loop[1] <= pc <= loop[2]):
            del self.turns[depth]  # left the while loop (or a call returned past it)
            self.left(*loop)
        handler = HANDLERS.get(opcode)
        if handler:
            handler(self, code, pc, arg, stack, depth)

    def back_edge(self, code, pc, arg, stack, depth):
        if arg <= pc and code.instrs[arg][0] != op.FOR_ITER:  # a while loop's
            loop = self.turns.get(depth)
            again = loop and loop[0] is code and loop[1] == arg
            self.turns[depth] = ((code, arg, max(pc, loop[2]), loop[3] + 1) if again
                                 else (code, arg, pc, 1))

    def left(self, code, header: int, back: int, turns: int) -> None:
        """A while loop ended after `turns` back-edges: a small one without
        calls is the kind the JIT lowers twice (jit.loops.unrolled_loops)."""
        small = back - header < 32 and not any(
            instr[0] == op.CALL for instr in code.instrs[header:back + 1])
        self.note("small while loop left after an odd number of turns", small and turns % 2 == 1)
        self.note("small while loop left after an even number of turns",
                  small and turns >= 2 and turns % 2 == 0)

    def call(self, code, pc, arg, stack, depth):
        callee = self.program.functions[arg]
        args = stack[len(stack) - callee.arity:]
        types = tuple(map(type_of, args))
        self.combos[callee.name].add(types)
        del self.frames[depth + 1:], self.runs[depth + 1:]
        self.frames.append(list(types) + [UNSET] * (callee.nlocals - callee.arity))
        self.runs.append([(None, 0)] * callee.nlocals)
        self.note("nil passed", "nil" in types)
        self.note("array passed", any(type(a) is ToyArray for a in args))

    def ret(self, code, pc, arg, stack, depth):
        if depth:
            value = stack[-1]
            self.returns[code.name].add(type_of(value))
            if pc == len(code.instrs) - 1 and code.name in self.open_ended:
                self.ended.add(code.name)
            self.note("nil returned", value is None)
            self.note("array returned", type(value) is ToyArray)

    def store(self, code, pc, arg, stack, depth):
        old, new = self.frames[depth][arg], type_of(stack[-1])
        last_pc, count = self.runs[depth][arg]
        if old not in (UNSET, new):
            self.note("parameter retyped" if arg < code.arity else "local retyped", True)
            self.note("nil local retyped", old == "nil")
            self.note("type change in a loop", count >= 2)  # one store ran twice in a row first
            self.note("type change after 1000 iterations", count >= 1000)
            count = 0
        self.frames[depth][arg] = new
        self.runs[depth][arg] = (pc, count + 1 if pc == last_pc or count == 0 else 1)
        self.note("nil stored", new == "nil")

    def print_(self, code, pc, arg, stack, depth):
        self.note("nil printed", any(x is None for x in stack[len(stack) - arg:]))

    def compare(self, code, pc, arg, stack, depth):
        self.note("nil compared with nil", stack[-1] is None and stack[-2] is None)

    def length(self, code, pc, arg, stack, depth):
        self.note("temporary array measured", only_on_the_stack(stack[-1]))

    def index(self, code, pc, arg, stack, depth):
        self.note("temporary array indexed", only_on_the_stack(stack[-2]))
        self.operands = (opcode_name(code, pc), stack[-2:])

    def pop(self, code, pc, arg, stack, depth):
        self.note("array result dropped", code.instrs[pc - 1][0] == op.CALL
                  and type(stack[-1]) is ToyArray)

    def operands_of(self, code, pc, arg, stack, depth):
        self.operands = (opcode_name(code, pc), stack[-3:] if code.instrs[pc][0] ==
                         op.STORE_INDEX else stack[-2:])

    def note(self, feature: str, happened: bool) -> None:
        if happened:
            self.seen.add(feature)

    def finish(self, error: str | None) -> set[str]:
        """The features of the run, given the error it ended with."""
        self.note("a function returns two types", any(len(t) > 1 for t in self.returns.values()))
        self.note("returns nil by falling off its end, another type elsewhere",
                  any(len(self.returns[f]) > 1 for f in self.ended))
        self.note("one function, six argument type combinations",
                  any(len(c) >= 6 for c in self.combos.values()))
        self.note("type error about nil", error is not None and "type error" in error
                  and "nil" in error)
        if error is not None:
            self.seen |= double_faults(*self.operands, error)
        return self.seen


def open_ended(source: str) -> set[str]:
    """The functions whose body does not end in `return`: they may fall off the end."""
    return {item.name for item in parse(source).items if isinstance(item, toy_ast.FnDef)
            and not (item.body.stmts and isinstance(item.body.stmts[-1], toy_ast.Return))}


def opcode_name(code, pc) -> str:
    return op.OPCODES[code.instrs[pc][0]].name


def double_faults(name: str | None, operands: list, error: str) -> set[str]:
    """The run ended in an operation wrong in two ways: which one did it report?"""
    if name == "STORE_INDEX":
        a, i, item = operands
        if type(a) is ToyArray and type(item) is not a.elem:
            if type(i) is int and not 0 <= i < len(a.items) and error.startswith("index "):
                return {"out-of-bounds store of a wrong type: bounds first"}
            if type(i) is not int and "array index must be int" in error:
                return {"non-int index store of a wrong type: index first"}
    if name == "INDEX":
        a, i = operands
        if type(a) is not ToyArray and type(i) is not int and "cannot index" in error:
            return {"non-int index into a non-array: the target first"}
    if name == "ARRAY_FILL":
        n, fill = operands
        if type(fill) not in ELEMENTS:
            if type(n) is not int and "array length must be int" in error:
                return {"fill of a bad length and a bad value: length type first"}
            if type(n) is int and n < 0 and "cannot make an array of" in error:
                return {"fill of a negative length and a bad value: value type first"}
    return set()


HANDLERS = {op.CALL: Profile.call, op.RETURN: Profile.ret, op.STORE_LOCAL: Profile.store,
            op.PRINT: Profile.print_, op.EQ: Profile.compare, op.NE: Profile.compare,
            op.LEN: Profile.length, op.INDEX: Profile.index, op.POP: Profile.pop,
            op.STORE_INDEX: Profile.operands_of, op.ARRAY_FILL: Profile.operands_of,
            op.JUMP: Profile.back_edge}

FEATURES = [
    "a function returns two types", "returns nil by falling off its end, another type elsewhere",
    "nil local retyped", "parameter retyped", "local retyped",
    "temporary array measured", "temporary array indexed", "array result dropped",
    "array passed", "array returned",
    "out-of-bounds store of a wrong type: bounds first",
    "non-int index store of a wrong type: index first",
    "non-int index into a non-array: the target first",
    "fill of a bad length and a bad value: length type first",
    "fill of a negative length and a bad value: value type first",
    "one function, six argument type combinations",
    "type change in a loop", "type change after 1000 iterations",
    "nil printed", "nil stored", "nil passed", "nil returned", "nil compared with nil",
    "type error about nil",
    "small while loop left after an odd number of turns",
    "small while loop left after an even number of turns",
]


def generated(prefix: str, i: int) -> str:
    return fuzz.generate(fuzz.Choices(fuzz.random.Random(f"{prefix}:{i}")))


def interpret(source: str, max_depth: int = 10_000, observer=None) -> tuple[str, str | None]:
    out = Output()
    try:
        run(compile_source(source, "gen.toy"), out, max_depth, observer)
    except ToyRuntimeError as e:
        return out.getvalue(), str(e)
    return out.getvalue(), None


@functools.cache
def survey() -> dict:
    """Generated programs until each feature has shown (deep recursions are
    left to their own test: observed, they would take seconds each)."""
    found, endings = {}, defaultdict(int)
    for i in range(SURVEY):
        source = generated("features", i)
        if "fn deep(" in source:
            continue
        profile = Profile(compile_source(source, "gen.toy"), source)
        error = interpret(source, observer=profile)[1]
        endings["error" if error else "ok"] += 1
        for feature in profile.finish(error):
            found.setdefault(feature, i)
        if len(found) == len(FEATURES) and sum(endings.values()) >= 200:
            break
    return {"found": found, "endings": endings}


@pytest.mark.parametrize("feature", FEATURES)
def test_generated_programs_show_each_feature(feature):
    assert feature in survey()["found"], f"not within {SURVEY} programs"


def test_most_generated_programs_run_to_completion_and_some_fail():
    endings = survey()["endings"]
    assert endings["ok"] >= 0.7 * (endings["ok"] + endings["error"])
    assert endings["error"] >= 0.03 * (endings["ok"] + endings["error"])


def test_only_the_statements_meant_to_fail_make_type_errors(monkeypatch):
    """Without its error statements, the generator writes no type error: each
    use of a value is valid for every type the value may have at run time."""
    statements = [(lambda self, indent: None) if s is program_gen.Generator.bad_statement
                  else s for s in program_gen.STATEMENTS]
    monkeypatch.setattr(program_gen, "STATEMENTS", statements)
    for i in range(300):
        source = generated("sound", i)
        if "fn deep(" not in source:
            error = interpret(source)[1]
            assert error is None or "type error" not in error, source


def deep_recursion(depth: int) -> tuple[str, int]:
    """The first generated deep recursion of this depth with tens of locals,
    alone: its function and its call. (Generated text only, so the search
    may go far: one program in thirty has a deep recursion.)"""
    for i in range(10 * SURVEY):
        source = generated("deep", i)
        call = re.search(rf"^print\(deep\({depth}, array\((\d+), 1\)\)\);$", source, re.M)
        if call and int(call[1]) >= 20:
            function = source[source.index("fn deep("):]
            return function + call[0] + "\n", int(call[1])
    raise AssertionError(f"no deep({depth}, ...) with tens of locals")


def test_deep_recursions_end_just_below_and_just_past_the_call_limit():
    """deep(9999) makes exactly the 10,000 active calls allowed; deep(10000)
    one more. Each keeps its tens of locals live across the call."""
    for depth in (9999, 10_000):
        source, count = deep_recursion(depth)
        code = compile_source(source, "deep.toy").functions[0]
        assert code.nlocals >= count + 2  # n, a, the locals, t
        calls = depth + 1
        assert interpret(source, max_depth=calls)[1] is None
        assert interpret(source, max_depth=calls - 1)[1] == "stack overflow"
