"""Range-check elimination (jit/ranges.py): which loops get a copy without
bounds checks, and for which accesses. (That every tier raises the same
error at the same iteration: tests/conformance/arrays/loop_index_*.toy;
the generator's `indexed_for` loops in the fuzz campaigns.)"""

from jit.infer import Inferrer
from jit.ranges import checked_loops
from lang import compile_source


def versioned(source: str, types: tuple[str, ...]) -> list[tuple[str | None, set]]:
    """(loop variable, {(array, index)}) of each versioned loop of `f`."""
    program = compile_source(source, "t.toy")
    func = next(i for i, f in enumerate(program.functions) if f.name == "f")
    spec = Inferrer(program).function(func, types)
    names = spec.code.local_names
    return [(None if loop.var is None else names[loop.var],
             {(names[a], names[i]) for a, i in loop.pairs})
            for _, loop in sorted(checked_loops(spec.code, spec).items())]


ARRAYS = ("array<float>", "array<float>", "int")


def test_the_loop_variable_and_an_unchanged_int_are_proven_once():
    source = """fn f(a, b, k) {
        let s = 0.0;
        for i in 0..len(a) { s = s + a[i] * b[k]; a[i] = s; }
        return s;
    }"""
    assert versioned(source, ARRAYS) == [("i", {("a", "i"), ("b", "k")})]


def test_only_innermost_loops_are_copied():
    source = """fn f(a, b, k) {
        for i in 0..len(a) {
            for j in i + 1..len(b) { a[i] = a[i] + b[j]; }
        }
        for i in 0..len(a) { a[i] = 0.0; }
        return 0;
    }"""
    assert versioned(source, ARRAYS) == [("j", {("a", "i"), ("b", "j")}), ("i", {("a", "i")})]


def test_what_the_body_changes_is_checked_each_time():
    source = """fn f(a, b, k) {
        for i in 0..len(a) { i = i + 1; a[i] = 1.0; }
        for i in 0..len(b) { print(b[i], a[k]); b = a; k = k + 1; }
        for i in 0..len(a) { print(a[i]); print(a[i - 1]); }
        return 0;
    }"""
    # (the first loop: i changes; the second: b and k change; the third:
    # a[i] is proven, a[i - 1] is not a local's value and keeps its check)
    assert versioned(source, ARRAYS) == [("i", {("a", "i")})]


def test_a_while_loop_inside_keeps_the_checks():
    source = """fn f(a, b, k) {
        for i in 0..len(a) { let c = 0; while c < 2 { c = c + 1; } a[i] = 1.0; }
        return 0;
    }"""
    assert versioned(source, ARRAYS) == []
