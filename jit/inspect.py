"""What a function becomes: its LLVM IR and its assembly, on this machine or
others (`vmlab ir`, `vmlab asm`), and how big it is on each beside its
portable bytecode.

The module shown is the one the JIT would compile for a call with the given
argument types: the function and the callees it copies in to inline; the
others are calls to code in modules of their own (jit.compiler.plan).
"""

from __future__ import annotations

from jit import engine
from jit.compiler import plan
from jit.infer import Decline, Inferrer
from jit.lower import ModuleBuilder
from jit.runtime import Symbols
from jit.tiering import OPTIMIZE_COUNT
from vmlab.code import MAIN, MAIN_NAME, Program
from vmlab.interp import DEFAULT_MAX_DEPTH

# `vmlab asm --target NAME`: the targets it is tested with, by name (their
# triples work too, and so does any LLVM triple arch-vendor-os of an
# architecture llvmlite's LLVM was built with).
TARGETS = {"x86-64": "x86_64-unknown-linux-gnu", "aarch64": "aarch64-unknown-linux-gnu",
           "riscv64": "riscv64-unknown-linux-gnu", "wasm32": "wasm32-unknown-unknown"}
HOST = "host"


def targets(values: list[str]) -> list[tuple[str, str | None]]:
    """(name, triple) of each `--target` value (comma-separated names,
    triples, `host` or `all`); the triple of `host` is None. ValueError
    naming the first one that is not a target."""
    found = []
    for value in (v.strip() for text in values for v in text.split(",") if v.strip()):
        if value == "all":
            found += TARGETS.items()
        elif value == HOST:
            found.append((HOST, None))
        elif value in TARGETS:
            found.append((value, TARGETS[value]))
        else:
            found.append((_name(value), _triple(value)))
    return list(dict.fromkeys(found))


def _triple(value: str) -> str:
    """`value` if it is an LLVM triple (arch-vendor-os[-env]) of a known
    architecture."""
    import llvmlite.binding as llvm
    if value.count("-") >= 2:
        engine.target_machine(0, TARGETS["x86-64"])  # (initializes every target)
        try:
            llvm.Target.from_triple(value)
            return value
        except RuntimeError:
            pass
    raise ValueError(value)


def _name(triple: str) -> str:
    return next((name for name, t in TARGETS.items() if t == triple), triple)


def module_ir(program: Program, name: str, arg_types: tuple[str, ...],
              max_depth: int = DEFAULT_MAX_DEPTH, tier: str = "optimized") -> str:
    """The LLVM IR, before optimization, of `name` specialized for `arg_types`
    (baseline code counts its calls and loop iterations)."""
    return _module(program, name, arg_types, max_depth, tier)[0]


def _module(program: Program, name: str, arg_types: tuple[str, ...],
            max_depth: int = DEFAULT_MAX_DEPTH, tier: str = "optimized", debug=None,
            triple: str | None = None):
    """module_ir (with debug locations naming the file `debug`, if given),
    for `triple` (None: this machine), and the code objects it was made
    from."""
    func = MAIN if name == MAIN_NAME else next(
        i for i, f in enumerate(program.functions) if f.name == name)
    code = program.main if func == MAIN else program.functions[func]
    if len(arg_types) != code.arity:
        raise Decline(f"{name} takes {code.arity} argument(s), --args gave {len(arg_types)}")
    spec = Inferrer(program).function(func, arg_types)
    if spec.declined:
        raise Decline(f"{spec.name()} cannot be compiled: {spec.declined}")
    baseline = tier == "baseline"
    builder = ModuleBuilder(spec.name(), Symbols(program), max_depth, baseline=baseline,
                            tier_up=OPTIMIZE_COUNT if baseline else None, debug=debug,
                            full_target=engine.is_full_target(triple))
    # The module the JIT would make (jit.compiler.plan): `name` global, as
    # the JIT's entry calls it, with what it inlines; the callees it links
    # to are declared, so calls to them show as calls.
    members, others, _ = plan(spec, optimized=not baseline)
    for s in others + members:  # (named before any call refers to one, as jit.compiler does)
        builder.function(s, s.name() if s in others or s is spec else None)
    for s in members:
        builder.define(s, spec.name() if s is spec else None)
    return str(builder.module), list({id(s.code): s.code for s in members}.values())


TIERS = {"baseline": engine.BASELINE, "optimized": engine.OPTIMIZED}
PROFILE_SECONDS = 10.0  # `--profile` runs the program at most this long


def observed_types(program: Program, name: str) -> tuple[tuple[str, ...], int] | None:
    """`--profile`: the argument types `name` was called with most often in
    a run of the program (in the interpreter, its output thrown away, at
    most PROFILE_SECONDS; a runtime error ends it), and how many calls had
    them; None if it was never called."""
    import collections
    import os

    from jit import tiering
    from jit.types import type_of
    from vmlab.errors import ToyRuntimeError
    from vmlab.interp import run
    from vmlab.interrupts import Interrupted, Watch
    from vmlab.output import Output

    func = next(i for i, f in enumerate(program.functions) if f.name == name)
    arity, seen = program.functions[func].arity, collections.Counter()

    class Hooks:  # (the interpreter's JIT hooks, recording instead of compiling)
        INTERPRET = tiering.INTERPRET

        @staticmethod
        def call(callee, stack, depth):
            if callee == func:
                seen[tuple(map(type_of, stack[len(stack) - arity:]))] += 1
            return tiering.INTERPRET

        @staticmethod
        def loop(*_):
            return None

        @staticmethod
        def traceback(error, trace):
            return trace
    with open(os.devnull, "wb") as sink:
        try:
            with Watch(PROFILE_SECONDS):
                run(program, Output(sink), DEFAULT_MAX_DEPTH, None, Hooks())
        except (ToyRuntimeError, Interrupted):
            pass
    return seen.most_common(1)[0] if seen else None


def ir(program: Program, name: str, arg_types, opt: int, optimized: bool,
       tier: str = "optimized") -> str:
    text = module_ir(program, name, arg_types, tier=tier)
    return engine.optimized_ir(text, opt, TIERS[tier]) if optimized else text


def asm(program: Program, name: str, arg_types, opt: int, triple: str | None,
        tier: str = "optimized", lines: bool = False) -> str:
    """The assembly; with `lines`, each instruction's source line and
    bytecode offset as comments (jit.dump.annotated)."""
    text = _module(program, name, arg_types, tier=tier,
                   debug=program.source_name or "<program>" if lines else None,
                   triple=triple)[0]
    listing = engine.machine_code(*engine.through_pipeline(text, triple, opt, TIERS[tier]))[0]
    if lines:
        from jit.dump import annotated
        listing = annotated(listing)
    return listing


def cross(program: Program, name: str, arg_types, opt: int, chosen, tier: str = "optimized"):
    """The assembly for each chosen (name, triple), then a table of sizes:
    the machine code's bytes and instructions on each target, beside the
    .toyc bytes and bytecode instructions of the same functions."""
    from vmlab.toyc import encoded_size
    parts, rows = [], []
    for target, triple in chosen:
        text, codes = _module(program, name, arg_types, tier=tier, triple=triple)
        assembly, size = engine.machine_code(*engine.through_pipeline(text, triple, opt,
                                                                      TIERS[tier]))
        parts.append(f"# ===== {target} ({triple or engine.host_triple()}) =====\n{assembly}")
        rows.append((target, size, instructions(assembly)))
    rows.append((".toyc (any machine)", sum(map(encoded_size, codes)),
                 sum(len(c.instrs) for c in codes)))
    functions = ", ".join(c.name for c in codes)
    width = max(len(target) for target, _, _ in rows) + 2
    table = [f"# {name}({', '.join(arg_types)}) with what it calls ({functions}), "
             f"{tier} tier:", f"# {'target':<{width}}{'bytes':>8}{'instructions':>14}"]
    table += [f"# {target:<{width}}{size:>8,}{count:>14,}" for target, size, count in rows]
    return "".join(parts) + "\n".join(table) + "\n"


def instructions(assembly: str) -> int:
    """The machine instructions in an assembly listing: indented lines that
    are not directives, labels or comments."""
    return sum(1 for line in assembly.splitlines()
               if line[:1] in (" ", "\t") and line.strip()
               and not line.strip().startswith((".", "#", "//", ";", "@"))
               and not line.strip().endswith(":"))
