"""Range-check elimination (jit/ranges.py): which loops get a copy without
bounds checks, and for which accesses. (That every tier raises the same
error at the same iteration: tests/conformance/arrays/loop_index_*.toy;
the generator's `indexed_loop` loops in the fuzz campaigns.)"""

from jit.infer import Inferrer
from jit.ranges import checked_loops
from lang import compile_source


def show(index, names) -> str:
    """An Affine as source text: `c + r - 7`."""
    text = ""
    for slot, k in index.terms:
        term = names[slot] if abs(k) == 1 else f"{abs(k)} * {names[slot]}"
        text += (f" {'-' if k < 0 else '+'} " if text else "-" if k < 0 else "") + term
    if index.const or not text:
        text += f" {'-' if index.const < 0 else '+'} {abs(index.const)}" if text else str(index.const)
    return text


def loops(source: str, types: tuple[str, ...], inlined=lambda callee: True):
    """The spec of `f` and its versioned loops."""
    program = compile_source(source, "t.toy")
    func = next(i for i, f in enumerate(program.functions) if f.name == "f")
    spec = Inferrer(program).function(func, types)
    return spec, [loop for _, loop in sorted(checked_loops(spec.code, spec, inlined).items())]


def versioned(source: str, types: tuple[str, ...]) -> list[tuple[str | None, set]]:
    """(loop variable, {(array, index)}) of each versioned loop of `f`."""
    spec, found = loops(source, types)
    names = spec.code.local_names
    return [(None if loop.var is None else names[loop.var],
             {(names[a], show(i, names)) for a, i in loop.needs}) for loop in found]


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
    # (the first loop: i changes; the second: b and k change)
    assert versioned(source, ARRAYS) == [("i", {("a", "i"), ("a", "i - 1")})]


def test_linear_indexes_are_proven_at_both_ends():
    source = """fn f(a, b, k) {
        for i in 1..len(a) - 1 { a[i] = a[i - 1] + a[i + 1] * b[2 * i - k + 3]; }
        for i in 0..k { print(a[-i + k], b[i * i]); }
        return 0;
    }"""
    # (terms in the order of the locals; i * i is not linear: it keeps its check)
    assert versioned(source, ARRAYS) == [
        ("i", {("a", "i"), ("a", "i - 1"), ("a", "i + 1"), ("b", "-k + 2 * i + 3")}),
        ("i", {("a", "k - i")})]


def test_the_test_before_a_loop_sees_an_index_that_wraps():
    """(tests/conformance/arrays/loop_index_wrapping.toy runs this loop where
    2 * i + k is 0 at both ends, after wrapping, and 4 in between.)"""
    source = """fn f(a, k, lo, hi) {
        for i in lo..hi { print(i, a[2 * i + k]); }
        return 0;
    }"""
    assert versioned(source, ("array<int>", "int", "int", "int")) == [("i", {("a", "k + 2 * i")})]


HELPERS = """fn get(v, r, c) { return v[c + r] and v[c - r + 7]; }
fn put(v, r, c, x) { v[c + r] = x; let m = 0; m = r; v[m] = x; }
fn again(v, r, c) { c = c + 1; return v[c]; }
"""


def test_accesses_in_an_inlined_helper_are_proven_in_terms_of_its_arguments():
    source = HELPERS + """fn f(free, c) {
        for r in 0..8 {
            if get(free, r, c) { put(free, r, c, false); print(again(free, r, c)); }
        }
        return 0;
    }"""
    spec, [loop] = loops(source, ("array<bool>", "int"))
    names = spec.code.local_names
    assert {(names[a], show(i, names)) for a, i in loop.needs} == {
        ("free", "c + r"), ("free", "c - r + 7")}
    # get's two accesses; put's first (its second index is a local it
    # assigns), none of again's (it assigns its parameter)
    assert {spec.callees[pc].code.name: len(pcs) for pc, pcs in loop.calls} == {
        "get": 2, "put": 1}
    # (a callee LLVM does not inline keeps its checks: no loop to version)
    assert loops(source, ("array<bool>", "int"), inlined=lambda callee: False)[1] == []


def test_a_while_loop_inside_keeps_the_checks():
    source = """fn f(a, b, k) {
        for i in 0..len(a) { let c = 0; while c < 2 { c = c + 1; } a[i] = 1.0; }
        return 0;
    }"""
    assert versioned(source, ARRAYS) == []
