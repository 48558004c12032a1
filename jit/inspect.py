"""What a function becomes: its LLVM IR and its assembly, on this machine or
another (`vmlab ir`, `vmlab asm`).

The module shown is the one the JIT would compile for a call with the given
argument types: the function and the functions it calls.
"""

from __future__ import annotations

from jit import engine
from jit.infer import Decline, Inferrer
from jit.lower import ModuleBuilder
from jit.runtime import Symbols
from jit.tiering import OPTIMIZE_COUNT
from vmlab.code import MAIN, MAIN_NAME, Program
from vmlab.interp import DEFAULT_MAX_DEPTH

# Targets `vmlab asm --target` is tested with; LLVM knows many more.
TARGETS = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu",
           "riscv64-unknown-linux-gnu", "wasm32-unknown-unknown"]


def module_ir(program: Program, name: str, arg_types: tuple[str, ...],
              max_depth: int = DEFAULT_MAX_DEPTH, tier: str = "optimized") -> str:
    """The LLVM IR, before optimization, of `name` specialized for `arg_types`
    (baseline code counts its calls and loop iterations)."""
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
                            tier_up=OPTIMIZE_COUNT if baseline else None)
    for s in Inferrer.closure(spec):  # `name` global, as the JIT's entry calls it
        builder.define(s, spec.name() if s is spec else None)
    return str(builder.module)


TIERS = {"baseline": engine.BASELINE, "optimized": engine.OPTIMIZED}


def ir(program: Program, name: str, arg_types, opt: int, optimized: bool,
       tier: str = "optimized") -> str:
    text = module_ir(program, name, arg_types, tier=tier)
    return engine.optimized_ir(text, opt, TIERS[tier]) if optimized else text


def asm(program: Program, name: str, arg_types, opt: int, triple: str | None,
        tier: str = "optimized") -> str:
    return engine.assembly(module_ir(program, name, arg_types, tier=tier), triple, opt,
                           TIERS[tier])
