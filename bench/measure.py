"""Measuring helpers shared by the benchmarks."""

from __future__ import annotations

from vmlab.code import Code, Program


class _CountingInstrs(list):
    """An instruction list that counts how often the interpreter fetches."""

    fetches = 0

    def __getitem__(self, pc):
        _CountingInstrs.fetches += 1
        return list.__getitem__(self, pc)


def _counting_copy(code: Code) -> Code:
    copy = Code(code.name, code.arity, code.line)
    copy.instrs = _CountingInstrs(code.instrs)
    copy.lines, copy.consts, copy.local_names = code.lines, code.consts, code.local_names
    return copy


def count_instructions(program: Program) -> int:
    """How many instructions the interpreter executes to run `program`.

    The interpreter fetches each executed instruction exactly once, so a run
    over counting copies of the code objects counts them, at no cost to the
    interpreter itself.
    """
    from vmlab.interp import run
    from vmlab.output import Output

    counted = Program([_counting_copy(f) for f in program.functions],
                      _counting_copy(program.main), program.source_name)
    _CountingInstrs.fetches = 0
    run(counted, Output())
    return _CountingInstrs.fetches
