"""The JIT on the polymorphic suite (bench/suite.py): values that change type
must not keep hot code in the interpreter. At the quick sizes and the
default threshold, `vmlab run --jit --stats-json` must report nothing
declined, every hot function compiled, and no function with more calls and
loop iterations left to the interpreter than twice the threshold (about what
it runs before compiling; an interpreted hot loop runs tens of thousands).
Timings are `vmlab bench --suite polymorphic`'s business; outputs in every
tier are bench/bench_polymorphic.py's and tests/test_bench.py's."""

import json

import pytest
from conftest import vmlab

from bench import suite


def problems(jit: dict) -> list[str]:
    """What the stats JSON's "jit" object shows left to the interpreter."""
    threshold, found = jit["threshold"], []
    for name, f in jit["functions"].items():
        interpreted = f["interpreted_calls"] + f["interpreted_back_edges"]
        found += [f"{name}: declined {reason}" for reason in f["declined"]]
        if interpreted > threshold and not f["compiled"]:
            found.append(f"{name}: hot ({interpreted:,} calls and loop iterations "
                         "interpreted) and never compiled")
        elif interpreted > 2 * threshold:
            found.append(f"{name}: {interpreted:,} calls and loop iterations interpreted "
                         f"(threshold {threshold:,}), compiled {f['compiled']}")
    return found


@pytest.mark.parametrize("bench", suite.SUITES["polymorphic"].benchmarks,
                         ids=lambda b: b.name)
def test_the_jit_compiles_what_is_hot_and_declines_nothing(bench, tmp_path):
    n = bench.size("quick")
    (tmp_path / "p.toy").write_text(bench.source(n))
    result = vmlab("run", "p.toy", "--jit", "--stats-json", "s.json", cwd=tmp_path)
    assert (result.returncode, result.stdout.decode()) == (0, bench.expected[n] + "\n"), \
        result.stderr.decode()[-2000:]
    found = problems(json.loads((tmp_path / "s.json").read_text())["jit"])
    assert not found, "left to the interpreter:\n" + "\n".join(found)


def test_problems_name_declines_and_interpreted_hot_code():
    """The check itself, on a report like today's JIT's for int_or_nil."""
    def function(calls, edges, compiled=(), declined=()):
        return {"interpreted_calls": calls, "interpreted_back_edges": edges,
                "compiled": list(compiled), "declined": list(declined)}
    jit = {"threshold": 1000, "functions": {
        "<main>": function(1, 0),
        "sign": function(40_000, 0, declined=["sign(int): offset 14: returns int and nil"]),
        "bench": function(1, 40_000, compiled=["bench at offset 13"]),
        "warm": function(601, 400, compiled=["warm(int)"])}}
    assert problems(jit) == [
        "sign: declined sign(int): offset 14: returns int and nil",
        "sign: hot (40,000 calls and loop iterations interpreted) and never compiled",
        "bench: 40,001 calls and loop iterations interpreted (threshold 1,000), "
        "compiled ['bench at offset 13']"]
