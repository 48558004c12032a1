"""CI's bounded fuzzing campaigns (tests/fuzz.py; the README documents the
long ones): generated programs through every tier, and mutated sources
through the CLI in every tier. Seeded by the date, so each day explores new
inputs while a failure stays reproducible that day (the seed is printed)."""

import datetime

import fuzz

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
