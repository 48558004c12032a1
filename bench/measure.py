"""Measuring helpers shared by the benchmarks."""

from __future__ import annotations

from vmlab.code import Program


def count_instructions(program: Program) -> int:
    """How many instructions the interpreter executes to run `program`."""
    from vmlab.interp import run
    from vmlab.output import Output
    from vmlab.stats import Stats

    stats = Stats(program)
    run(program, Output(), observer=stats.observer())
    return stats.instructions
