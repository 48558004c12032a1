"""Writes the docs that follow from the opcode table, so they can never
disagree with the bytecode: docs/opcodes.md and docs/stats.schema.json.

    python -m vmlab.opcode_docs          # rewrite both
    python -m vmlab.opcode_docs --check  # exit 1 if one is stale (a test runs this)
"""

from __future__ import annotations

import sys
from pathlib import Path

from vmlab.generated import write_or_check
from vmlab.opcodes import ARG, ARITY, OPCODES, Flow

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _pops(info) -> str:
    return {ARG: "arg", ARITY: "arity"}.get(info.pops, str(info.pops))


def markdown() -> str:
    rows = ["# Opcodes", "",
            "GENERATED from `vmlab/opcodes.py` by `python -m vmlab.opcode_docs`; do not edit.",
            "", "Every instruction is an (opcode, argument) pair. *pops* and *pushes* are",
            "the stack effect when the instruction falls through; *arg* means the",
            "argument counts the values, *arity* the called function's parameters.", "",
            "| # | opcode | argument | pops | pushes | control | meaning |",
            "|---|---|---|---|---|---|---|"]
    for info in OPCODES:
        flow = info.flow
        if info.taken:
            flow += f" (taken: pops {info.taken[0]}, pushes {info.taken[1]})"
        rows.append(f"| {info.number} | `{info.name}` | {info.operand} | {_pops(info)} | "
                    f"{info.pushes} | {flow} | {info.doc} |")
    rows += ["", "Control: " + ", ".join(
        f"*{kind}*" for kind in (Flow.NEXT, Flow.JUMP, Flow.BRANCH, Flow.RETURN)) +
        " (falls through; always jumps; jumps or falls through; leaves the function).", ""]
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    import json

    from vmlab.stats import json_schema

    command = "python -m vmlab.opcode_docs"
    return max(write_or_check(DOCS / "opcodes.md", markdown(), argv, command),
               write_or_check(DOCS / "stats.schema.json",
                              json.dumps(json_schema(), indent=2) + "\n", argv, command))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
