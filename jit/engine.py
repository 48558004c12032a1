"""llvmlite: the host target, the optimization pipeline, one MCJIT engine.

Facts this module relies on (measured on llvmlite 0.50 / LLVM 22; see
docs/jit.md): `llvm.initialize()` raises, so the native target and asm
printer are initialized one by one; only the new pass manager exists, and a
module pass manager is good for one module only (a second run aborts the
process), so every module gets a fresh one from a shared PassBuilder; every
engine costs ~0.9 MB, so the whole process shares one and adds modules to it;
an engine that is garbage-collected frees the code in it, so it lives as long
as the process. Both tiers' code is emitted as an object file and linked in,
so that the object's call-frame information gives each module's largest
native stack frame (jit.frames).
"""

from __future__ import annotations

import functools
import time

import llvmlite.binding as llvm

from jit import frames
from jit.tiers import BASELINE, OPTIMIZED  # (what each tier's pipeline is: below)

OPT_LEVEL = 2
# Small code model with position-independent code: references to other
# modules go through stubs and a GOT that the JIT linker places near the
# code, everything else is RIP-relative, and calls inside a module are direct
# (the large JIT code model made every call indirect, ~20% on call-heavy
# code). Not PIC, the small model emits absolute 32-bit relocations, which
# abort the process when the JIT's memory lies above 4 GiB.
CODE_MODEL = "default"


@functools.cache
def _initialized() -> bool:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    return True


# What another target's CPU is assumed to have: the baseline its Linux
# distributions build for (LLVM's bare default for riscv64 is RV64I: no
# multiply, no atomics, no floating point; Debian's is RV64GC).
FEATURES = {"riscv64": "+m,+a,+f,+d,+c"}


def target_machine(opt: int = OPT_LEVEL, triple: str | None = None):
    """A target machine for the host (with its CPU's features), or for `triple`."""
    _initialized()
    if triple is None:
        return llvm.Target.from_default_triple().create_target_machine(
            cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(),
            opt=opt, codemodel=CODE_MODEL, reloc="pic")
    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    reloc = "static" if triple.startswith("wasm") else "pic"
    return llvm.Target.from_triple(triple).create_target_machine(
        opt=opt, codemodel="default", reloc=reloc,
        features=next((f for arch, f in FEATURES.items() if triple.startswith(arch)), ""))


def optimize(module, opt: int = OPT_LEVEL, tm=None) -> None:
    """Run the standard pipeline for `opt` (0-3) over a parsed module, in place."""
    if opt == 0:
        return
    tm = tm or _pipeline_machine(opt)
    tuning = llvm.create_pipeline_tuning_options(speed_level=opt)
    builder = llvm.create_pass_builder(tm, tuning)
    builder.getModulePassManager().run(module, builder)  # a fresh one: they are one-shot


@functools.cache
def _pipeline_machine(opt: int):
    return target_machine(opt)


def run_pipeline(module, tier: int, opt: int = OPT_LEVEL, tm=None) -> None:
    """The IR pipeline of `tier` (`opt`: the optimizing tier's level)."""
    if tier == BASELINE:
        simplify(module, tm)
    else:
        optimize(module, opt, tm)


def simplify(module, tm=None) -> None:
    """The baseline tier's IR pipeline: allocas to SSA values, helpers
    inlined, the obvious folded; no loop or interprocedural passes."""
    builder = llvm.create_pass_builder(tm or _pipeline_machine(OPT_LEVEL),
                                       llvm.create_pipeline_tuning_options(speed_level=1))
    passes = llvm.create_new_module_pass_manager()
    passes.add_always_inliner_pass()
    passes.add_sroa_pass()
    passes.add_instruction_combine_pass()
    passes.add_simplify_cfg_pass()
    passes.run(module, builder)


def parse(ir_text: str, name: str):
    module = llvm.parse_assembly(ir_text)
    module.name = name
    module.verify()
    return module


class Engine:
    """The process's one MCJIT engine; modules are added to it, never freed."""

    def __init__(self):
        _initialized()
        tm = target_machine()
        self._engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), tm)
        # Each tier's code generator. The engine compiles no module itself:
        # each is emitted as an object file and linked in, whose call-frame
        # information gives the module's frame sizes. The optimizing tier's
        # machine is configured as the engine's own (measured: the same
        # object code as the engine's add_module made).
        self._machines = {BASELINE: target_machine(0), OPTIMIZED: target_machine(OPT_LEVEL)}
        # The optimizer needs the target's data layout (alignments, legal types).
        self.triple, self.data_layout = tm.triple, str(tm.target_data)
        self.modules = 0
        self.cache = None  # a jit.codecache.CodeCache, if the run uses one

    def use_cache(self, directory) -> None:
        """Keep and reuse object files in `directory` (True: the default
        one, jit.codecache.default_directory; None or False: no cache), for
        a run (which counts its hits and misses)."""
        from pathlib import Path

        from jit import codecache
        if not directory:
            self.cache = None
            return
        directory = codecache.default_directory() if directory is True else Path(directory)
        self.cache = codecache.CodeCache(directory, host())

    def add(self, ir_text: str, name: str, tier: int = OPTIMIZED) -> tuple[float, float]:
        """Optimize and compile a module for `tier`; (optimize ms, codegen ms)."""
        return self.add_measured(ir_text, name, tier)[:2]

    def add_measured(self, ir, name: str, tier: int = OPTIMIZED, identity: str | None = None,
                     pause=None) -> tuple[float, float, int | None, bool]:
        """Optimize and compile a module for `tier`, or take its object file
        from the code cache; (optimize ms, codegen ms, the largest native
        stack frame of its functions in bytes, or None if one has none that
        is static: jit.frames.max_frame, whether the cache had it). Codegen
        includes linking the object in and measuring its frames. `ir`: the
        module's IR text, or a function that makes it, called only if the
        cache has no object for `identity` (which must fix the IR).
        `pause`, if given, is called before each of LLVM's two long steps
        (jit.tiering lets a waiting first-tier compile run there)."""
        key = None
        if self.cache:
            key = self.cache.key(identity if identity is not None else ir, tier)
        code = self.cache.get(key) if self.cache else None
        cached = code is not None
        if not cached:
            ir_text = ir() if callable(ir) else ir
        if not cached and pause is not None:
            pause()
        start = time.perf_counter()
        if not cached:
            module = parse(ir_text, name)
            module.triple, module.data_layout = self.triple, self.data_layout
            run_pipeline(module, tier)
        optimize_ms = (time.perf_counter() - start) * 1e3
        if not cached and pause is not None:
            pause()
        optimized = time.perf_counter()
        if not cached:
            code = self._machines[tier].emit_object(module)
            if self.cache:
                self.cache.put(key, code)
        # The machine code stays (and its symbols, for later modules); the IR
        # goes with `module`.
        self._engine.add_object_file(llvm.ObjectFileRef.from_data(code))
        self._engine.finalize_object()
        frame = frames.max_frame(code)
        self.modules += 1
        done = time.perf_counter()
        return optimize_ms, (done - optimized) * 1e3, frame, cached

    def address(self, symbol: str) -> int:
        return self._engine.get_function_address(symbol)

    def global_address(self, symbol: str) -> int:
        return self._engine.get_global_value_address(symbol)


@functools.cache
def engine() -> Engine:
    return Engine()


@functools.cache
def host() -> str:
    """What machine code made here is valid for: the target, the CPU and
    its features, the LLVM and vmlab versions (jit.codecache's key)."""
    import hashlib

    from jit.codecache import source_digest
    _initialized()
    features = hashlib.sha256(llvm.get_host_cpu_features().flatten().encode()).hexdigest()
    return (f"{llvm.get_process_triple()} {llvm.get_host_cpu_name()} features {features[:16]} "
            f"llvm {'.'.join(map(str, llvm.llvm_version_info))} vmlab {source_digest()} "
            f"O{OPT_LEVEL}")


def host_triple() -> str:
    _initialized()
    return llvm.get_process_triple()


# Architectures whose code gets all of jit.lower's tricks: their LLVM back
# end always honours `musttail` (leaf splits), implements `preserve_mostcc`
# (prints that keep the caller's registers), and makes an aligned 8-byte
# `load volatile` one load, atomic by the architecture (polls). On others
# (wasm32 without its tail-call feature, powerpc64le, mips) LLVM aborts the
# process on `musttail`: "failed to perform tail call elimination".
FULL_ARCHES = ("x86_64", "aarch64")


def is_full_target(triple: str | None = None) -> bool:
    """Does code for `triple` (None: this machine) get all of jit.lower's
    tricks (FULL_ARCHES)?"""
    return (triple or host_triple()).startswith(FULL_ARCHES)


def add_symbol(name: str, address: int) -> None:
    """Make a host function (a ctypes callback) callable from JIT code by name."""
    _initialized()
    llvm.add_symbol(name, address)


def through_pipeline(ir_text: str, triple: str | None = None, opt: int = OPT_LEVEL,
                     tier: int = OPTIMIZED):
    """A module after `tier`'s pipeline for the host or `triple` (`opt`: the
    optimizing tier's level), and the target machine that generates its code."""
    module = parse(ir_text, "ir")
    tm = target_machine(0 if tier == BASELINE else opt, triple)
    module.triple = tm.triple
    module.data_layout = str(tm.target_data)
    run_pipeline(module, tier, opt, tm)
    return module, tm


def machine_code(module, tm) -> tuple[str, int]:
    """A module's assembly, and the bytes of machine code in its object file
    (its text sections; wasm: its code section)."""
    obj = llvm.ObjectFileRef.from_data(tm.emit_object(module))
    return tm.emit_assembly(module), sum(s.size() for s in obj.sections() if s.is_text())


def optimized_ir(ir_text: str, opt: int = OPT_LEVEL, tier: int = OPTIMIZED) -> str:
    return str(through_pipeline(ir_text, None, opt, tier)[0])
