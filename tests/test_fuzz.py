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
