"""Execution statistics: instructions per opcode and calls per function.

`Stats.observer()` is an interpreter observer; `render()` is the table that
`vmlab run --stats` prints on stderr and `to_json()` what `--stats-json`
writes (schema: docs/stats.schema.json, described in docs/trace-and-stats.md).
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from vmlab.code import MAIN_NAME, Program
from vmlab.opcodes import CALL, OPCODES

SCHEMA = "vmlab-stats/1"


def json_schema() -> dict:
    """The JSON Schema of `to_json()`; docs/stats.schema.json is written from it."""
    count = {"type": "integer", "minimum": 0}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "vmlab run --stats-json",
        "description": "Execution statistics of one run (docs/trace-and-stats.md). Later "
                       "tiers may add properties; the ones listed keep their meaning.",
        "type": "object",
        "required": ["schema", "program", "tier", "status", "instructions", "seconds",
                     "instructions_per_second", "opcodes", "calls"],
        "properties": {
            "schema": {"const": SCHEMA, "description": "this format and its version"},
            "program": {"type": "string", "description": "the source name, as in errors"},
            "tier": {"type": "string", "description": "the tier that ran it, e.g. interp"},
            "status": {"enum": ["ok", "error"],
                       "description": "error: the run ended with a runtime error"},
            "instructions": {**count, "description": "bytecode instructions executed"},
            "seconds": {"type": "number", "minimum": 0,
                        "description": "wall time of the run, with counting on"},
            "instructions_per_second": {"type": "number", "minimum": 0},
            "opcodes": {"type": "object",
                        "description": "executions per opcode; opcodes not executed are "
                                       "left out",
                        "propertyNames": {"enum": [info.name for info in OPCODES]},
                        "additionalProperties": {"type": "integer", "minimum": 1}},
            "calls": {"type": "object",
                      "description": "calls per function: <main> (1) first, then the "
                                     "functions in definition order",
                      "required": [MAIN_NAME], "additionalProperties": count},
            "time": {
                "type": "object",
                "description": "where the wall time went, in seconds (Stats.time_split)",
                "required": ["startup", "front_end", "run"],
                "properties": {
                    "startup": {"type": "number", "minimum": 0,
                                "description": "from vmlab's first line to the front end "
                                               "(Python's own start-up comes before)"},
                    "front_end": {"type": "number", "minimum": 0,
                                  "description": "source (or .toyc) to bytecode"},
                    "run": {"type": "number", "minimum": 0, "description": "as `seconds`"},
                    "interpreted": {"type": "number", "minimum": 0,
                                    "description": "--jit: the run less the next two"},
                    "native": {"type": "number", "minimum": 0,
                               "description": "--jit: in native code entered from the "
                                              "interpreter"},
                    "compile_main": {"type": "number", "minimum": 0,
                                     "description": "--jit: compiling on the interpreter's "
                                                    "thread (llvmlite's loading included)"},
                    "compile_background": {"type": "number", "minimum": 0,
                                           "description": "--jit: compiling on the compiler "
                                                          "thread, while the run went on"},
                    "cache_hits": {**count, "description": "--jit: modules the code cache "
                                                           "had"},
                    "cache_misses": {**count, "description": "--jit: modules it had not"}}},
            "jit": {
                "type": "object",
                "description": "with --jit only: what the JIT did, per function",
                "required": ["threshold", "compile_ms", "functions"],
                "properties": {
                    "threshold": count,
                    "compile_ms": {"type": "number", "minimum": 0},
                    "functions": {"type": "object", "additionalProperties": {
                        "type": "object",
                        "required": ["interpreted_calls", "interpreted_back_edges",
                                     "native_entries", "compile_ms", "compiled", "optimized",
                                     "declined", "exits", "invalidated"],
                        "properties": {
                            "interpreted_calls": {
                                **count, "description": "calls the interpreter ran"},
                            "interpreted_back_edges": {
                                **count, "description": "loop iterations the interpreter ran"},
                            "native_entries": {
                                **count, "description": "entries from the interpreter into "
                                                        "native code (calls and OSR); calls "
                                                        "between native functions are not "
                                                        "counted"},
                            "compile_ms": {"type": "number", "minimum": 0},
                            "compiled": {"type": "array", "items": {"type": "string"},
                                         "description": "specializations with native code"},
                            "optimized": {"type": "array", "items": {"type": "string"},
                                          "description": "those of them with optimized "
                                                         "code (the second tier)"},
                            "declined": {"type": "array", "items": {"type": "string"},
                                         "description": "specialization: reason"},
                            "exits": {"type": "object", "additionalProperties": count,
                                      "propertyNames": {"pattern": "^[0-9]+$"},
                                      "description": "side exits from native code back to "
                                                     "the interpreter, per bytecode offset"},
                            "invalidated": {"type": "array", "items": {"type": "string"},
                                            "description": "OSR entries made not entrant "
                                                           "(they kept exiting), and why"}}}}}},
        },
    }


class Stats:
    """Counters filled in while a program runs, and the run's wall time."""

    def __init__(self, program: Program, tier: str = "interp"):
        self.program, self.tier = program, tier
        self.opcodes = [0] * len(OPCODES)          # executions, by opcode number
        self.calls = [0] * len(program.functions)  # calls, by function index
        self.seconds = 0.0
        self.startup = self.front_end = 0.0        # seconds before the run (set by the CLI)
        self.status = "ok"                         # or "error" after a runtime error
        self.jit = None                            # the run's jit.tiering.Tiering, if any

    def observer(self):
        """An interpreter observer that counts each instruction it is shown."""
        opcodes, calls = self.opcodes, self.calls

        def count(code, pc, stack, depth):
            op, arg = code.instrs[pc]
            opcodes[op] += 1
            if op == CALL:
                calls[arg] += 1
        return count

    @contextmanager
    def timing(self):
        """Time the run inside the `with`; a failing run gets status "error"."""
        start = time.perf_counter()
        try:
            yield self
        except BaseException:
            self.status = "error"
            raise
        finally:
            self.seconds = time.perf_counter() - start

    @property
    def instructions(self) -> int:
        return sum(self.opcodes)

    def per_opcode(self) -> list[tuple[str, int]]:
        """(name, count) of the executed opcodes, most frequent first."""
        rows = [(info.name, n) for info, n in zip(OPCODES, self.opcodes, strict=True) if n]
        return sorted(rows, key=lambda row: (-row[1], row[0]))

    def per_function(self) -> list[tuple[str, int]]:
        """(name, calls) for the main code and every function, in definition order."""
        return [(MAIN_NAME, 1)] + [(f.name, n) for f, n in
                                   zip(self.program.functions, self.calls, strict=True)]

    def rate(self) -> float:
        return self.instructions / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict:
        return {
            "schema": SCHEMA,
            "program": self.program.source_name,
            "tier": self.tier,
            "status": self.status,
            "instructions": self.instructions,
            "seconds": self.seconds,
            "instructions_per_second": self.rate(),
            "opcodes": dict(self.per_opcode()),
            "calls": dict(self.per_function()),
            "time": self.time_split(),
            **({"jit": self.jit_report()} if self.jit else {}),
        }

    def time_split(self) -> dict:
        """Where the wall time went, in seconds: start-up (from vmlab's first
        line: Python's own ~15 ms come before), the front end (source to
        bytecode), and the run; with the JIT, the run split into compiling
        on the interpreter's thread, native code and the interpreter, plus
        compiling on the compiler thread (alongside) and the code cache's
        hits and misses (modules)."""
        split = {"startup": self.startup, "front_end": self.front_end, "run": self.seconds}
        jit = self.jit
        if jit is not None:
            compiler = jit.compiler
            split.update({
                "compile_main": jit.compile_seconds[False],
                "native": jit.native_seconds,
                "interpreted": max(0.0, self.seconds - jit.compile_seconds[False]
                                   - jit.native_seconds),
                "compile_background": jit.compile_seconds[True],
                "cache_hits": compiler.cache.hits if compiler and compiler.cache else 0,
                "cache_misses": compiler.cache.misses if compiler and compiler.cache else 0})
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in split.items()}

    def jit_report(self) -> dict:
        """Per function: calls the interpreter ran, entries into native code,
        compile time, and what was compiled or declined (and why)."""
        names = [MAIN_NAME] + [f.name for f in self.program.functions]
        calls = [1] + self.calls
        functions = {}
        for func, record in self.jit.stats.items():
            entries = record.native_entries
            native_calls = entries - record.osr_entries if func >= 0 else 0
            functions[names[func + 1]] = {
                "interpreted_calls": calls[func + 1] - native_calls,
                "interpreted_back_edges": record.back_edges,
                "native_entries": entries,
                "compile_ms": round(record.compile_ms, 3),
                "compiled": record.compiled,
                "optimized": record.optimized,
                "declined": record.declined,
                "exits": {str(pc): n for pc, n in sorted(record.exits.items())},
                "invalidated": record.invalidated}
        return {"threshold": self.jit.threshold,
                "compile_ms": round(sum(f["compile_ms"] for f in functions.values()), 3),
                "functions": functions}

    def render_time(self) -> str:
        split = self.time_split()
        parts = [f"start-up {split['startup']:.3f} s", f"front end {split['front_end']:.3f} s",
                 f"run {split['run']:.3f} s"]
        if self.jit is not None:
            parts[-1] += (f" (interpreted {split['interpreted']:.3f}, native "
                          f"{split['native']:.3f}, compiling {split['compile_main']:.3f})")
            parts.append(f"compiling alongside {split['compile_background']:.3f} s")
            parts.append(f"code cache {split['cache_hits']} hit(s), "
                         f"{split['cache_misses']} miss(es)")
        return "time: " + ", ".join(parts)

    def render(self) -> str:
        total = self.instructions
        lines = [f"-- stats: {self.program.source_name} ({self.tier}) --",
                 f"{total:,} instructions in {self.seconds:.3f} s: "
                 f"{self.rate() / 1e6:.2f} million per second (counting slows the run)",
                 self.render_time(), "", f"{'opcode':<16}{'executed':>14}{'share':>9}"]
        for name, n in self.per_opcode():
            lines.append(f"{name:<16}{n:>14,}{n / total:>9.1%}")
        lines += ["", f"{'function':<16}{'calls':>14}"]
        for name, n in self.per_function():
            lines.append(f"{name:<16}{n:>14,}")
        if self.jit:
            report = self.jit_report()
            lines += ["", f"jit: threshold {report['threshold']}, "
                          f"{report['compile_ms']:.1f} ms compiling",
                      f"{'function':<16}{'interpreted':>14}{'native entries':>16}"
                      f"{'compile ms':>12}"]
            for name, f in report["functions"].items():
                lines.append(f"{name:<16}{f['interpreted_calls']:>14,}{f['native_entries']:>16,}"
                             f"{f['compile_ms']:>12.1f}")
                lines += [f"  compiled {s}" + (" (optimized)" if s in f["optimized"] else "")
                          for s in f["compiled"]]
                lines += [f"  declined {s}" for s in f["declined"]]
                lines += [f"  {n:,} side exit(s) at offset {pc}" for pc, n in f["exits"].items()]
                lines += [f"  invalidated {s}" for s in f["invalidated"]]
        return "\n".join(lines) + "\n"
