"""Making native code: inference, lowering, LLVM, entry wrappers.

jit.tiering decides *when* something is compiled; this module *makes* it,
on the thread tiering chooses (its compiler thread, or the interpreter's
with `--jit-background off`). Importing it loads llvmlite, so tiering
imports it only when the first function or loop gets hot.

A compile job reads and writes only what this module owns (the inferrer,
the runtime's symbol tables, the engine) and returns a Compiled: a snapshot
of all the interpreter's thread needs to enter the code, so the two threads
share no mutable state but the queue and the list of finished jobs.
"""

from __future__ import annotations

import copy
import ctypes
import functools
import hashlib
import time

from jit import engine, tiering
from jit.codecache import program_digest
from jit.infer import Decline, Inferrer, Spec, reaches
from jit.lower import INLINE_SIZE, ModuleBuilder, borrowed, parameters, signature
from jit.ranges import constant_arguments, tested_parameters
from jit.runtime import Runtime
from jit.tiers import BASELINE, NAMES, OPTIMIZED
from vmlab.code import in_loops

# Entry wrappers by signature: the engine is the process's, so are they.
_WRAPPERS: dict[tuple, object] = {}
# Callees of up to INLINE_SIZE bytecode instructions (jit.lower) are copied
# into each module that calls them, up to a budget, so that LLVM can inline
# them; called in a loop, up to INLINE_SIZE_IN_LOOP (HotSpot's MaxInlineSize
# and FreqInlineSize, 35 and 325 bytecodes, draw the same line): a call per
# iteration to another module kept Are We Fast Yet's Bounce at 2.4x C, its
# loop not vectorized.
INLINE_SIZE_IN_LOOP = 200
INLINE_BUDGET = 400


class Cancelled(Exception):
    """The run ended while its compile job was under way."""


def plan(spec: Spec, linked=lambda callee: False,
         optimized: bool = False) -> tuple[list[Spec], list[Spec], set]:
    """What goes in `spec`'s module: itself, what calls it back, and small
    callees but those `linked` says to call where they are; what it calls
    in other modules; and, of those, the keys of the ones it calls only
    once per entry (an OSR entry's calls after its loop), which may run in
    whatever code they have: baseline code costs nothing to link to,
    optimized code 40 ms or more to make.

    `optimized`: also a private copy of each recursive callee called with
    an int constant for a parameter that the test before one of its
    versioned loops uses (jit.ranges), but for calls made once per entry:
    with all the copy's calls in the module, LLVM's interprocedural
    constant propagation sees the constant and what the recursion does with
    it, as it does for `vmlab build`'s whole program (Queens'
    `place_queen(..., 0)`: its column stays within 0..7, so the test needs
    no 128-bit sums; 10% fewer instructions, docs/jit.md). Elsewhere a copy
    only costs compile time (Towers' `move_discs`: 100 ms)."""
    members, others, seen = [spec], [], {spec.key}
    cold, warm = set(), set()
    budget = INLINE_BUDGET
    for s in members:
        looped = in_loops(s.code)
        constant = constant_arguments(s) if optimized else {}
        for pc, callee in s.callees.items():
            once = s is spec and spec.is_osr and pc not in looped
            (cold if once else warm).add(callee.key)
            if callee.key in seen:
                continue
            seen.add(callee.key)
            size = len(callee.code.instrs)
            limit = INLINE_SIZE_IN_LOOP if pc in looped else INLINE_SIZE
            small = size <= min(limit, budget) and not reaches(callee, callee)
            if reaches(callee, spec):
                members.append(callee)
            elif (pc in constant and not once and reaches(callee, callee)
                  and constant[pc] & tested_parameters(callee)):
                members.append(callee)  # (its own copy: not inlined, no budget)
            elif small and not linked(callee):
                members.append(callee)
                budget -= size
            else:
                others.append(callee)
    return members, others, cold - warm


class Compiled:
    """Native code for one specialization, how to call it, and what the
    interpreter's thread needs to know of its specialization (copied: later
    inference may change the Spec, never this code)."""

    def __init__(self, spec: Spec, function, compile_ms: float, tier: int, last_tier: int,
                 slotted=(), lowered: Spec | None = None):
        """`lowered`: `spec` as it was when its code was lowered (a copy),
        if inference may have changed it since."""
        self.spec, self.function, self.compile_ms, self.tier = spec, function, compile_ms, tier
        spec = lowered or spec
        # The calls (tiering's keys) its code makes through call slots: the
        # callees whose optimized code it runs as soon as there is some.
        self.slotted = [(c.func, tuple(c.entry_locals[: c.code.arity])) for c in slotted]
        self.name, self.func, self.ret = spec.name(), spec.func, spec.ret
        self.states, self.exit_reasons = list(spec.states), dict(spec.exits)
        # (Exits after the loop, once per entry, are no reason to stop entering.)
        self.exits_in_loops = set(spec.exits) & in_loops(spec.code) if spec.exits else set()
        self.params = parameters(spec)
        self.borrowed = borrowed(spec)  # (the entry gives back their references itself)
        self.types = [t for _, _, t in self.params]
        self.work = 0  # calls and loop iterations in its entries (baseline code)
        self.exits: dict[int, int] = {}  # side exits in its loop per bytecode offset
        self.upgrading = False           # optimized code for it is on its way
        # Room for a side exit's pc, locals and stack.
        exits = spec.is_osr and (spec.exits or tier < last_tier)
        depth = max((len(state[1]) for state in spec.states if state), default=0)
        words = 1 + 2 * (spec.code.nlocals + depth)  # pc, then a tag and a payload each
        self.exit_buffer = (ctypes.c_int64 * words)() if exits else None


class Compiler:
    """A run's native code: what it compiled, for which tier, at what cost."""

    def __init__(self, program, output, max_depth: int, tiers: tuple[int, ...], stats,
                 memcheck: bool | None, stack_bytes: int | None, cache=None, profile=None,
                 dump=None):
        """`stats`: tiering's FunctionStats per function, which compiles
        fill in. `cache`: the code cache's directory (Engine.use_cache);
        `profile`: the program's jit.codecache.Profile, if it has one;
        `dump`: a jit.dump.Dump for what each compile makes (--jit-dump)."""
        self.max_depth, self.first_tier, self.last_tier = max_depth, tiers[0], tiers[-1]
        self.stats, self.profile, self.dump, self.program = stats, profile, dump, program
        self.reason = ""  # why the job under way was asked for (tiering sets it)
        engine.engine().use_cache(cache)
        self.cache = engine.engine().cache
        self.digest = program_digest(program)
        self.runtime = Runtime(program, output, max_depth, memcheck)
        self.runtime.use_stack(stack_bytes)
        self.inferrer = Inferrer(program, cold_call_size=INLINE_SIZE)
        self.exported: dict[tuple, str] = {}  # (spec key, tier) -> its global symbol
        self.slotted: dict[tuple, list] = {}  # (spec key, tier) -> the callees it calls by slot
        self.compile_times: list[float] = []  # ms per module of functions compiled
        self.tiers: list[int] = []            # ... and the tier of each
        self.wrapper_times: list[float] = []  # ms per entry wrapper (once per process)
        self.notes: list[str] = []   # --jit-log lines of the jobs since tiering read them
        self.cancelled = False       # the run is over: drop the job under way
        # Called between LLVM's steps of each module (jit.tiering: a compile
        # waiting on the interpreter's thread runs there), or None.
        self.pause = None
        # symbol -> its specialization as inference saw it when it was
        # lowered: a compile run in a pause may change it (a declined callee).
        self.lowered: dict[str, Spec] = {}

    # --- jobs ---
    def function(self, key, tier: int) -> Compiled | None:
        """The code for calls of function key[0] with argument types key[1]."""
        return self.compile(self.inferrer.function(*key), tier)

    def osr(self, key, tier: int) -> Compiled | None:
        """The code for a frame at a loop header: key = (func, header, local
        types, stack types)."""
        return self.compile(self.inferrer.osr(*key), tier)

    def compile(self, spec: Spec, tier: int | None = None) -> Compiled | None:
        """Native code for a specialization the interpreter will enter, with
        the entry wrapper for its signature, at `tier` (or better); None if
        it is declined."""
        tier = tier or self.first_tier
        start = time.perf_counter()
        symbol = None
        if tier < self.last_tier and self.profile and _optimized(spec) in self.profile:
            # Optimized in an earlier run: no baseline phase this time.
            symbol = self._symbol(spec.key, self.last_tier) or self._standalone(
                spec, self.last_tier, f"{self.reason}; optimized in an earlier run", self.pause)
            tier = self.last_tier if symbol else tier
        symbol = symbol or self._symbol(spec.key, tier) or self._standalone(spec, tier,
                                                                            self.reason, self.pause)
        if symbol is None:
            return None
        function = engine.engine().address(symbol)
        if not function:  # never call into nothing
            raise RuntimeError(f"JIT: {symbol} is not defined")
        lowered = self.lowered.get(symbol, spec)
        entry = functools.partial(self._wrapper(*signature(lowered)), function)
        return Compiled(spec, entry, (time.perf_counter() - start) * 1e3, tier, self.last_tier,
                        self.slotted.get((spec.key, tier), ()), lowered)

    # --- compiling ---
    @property
    def compile_ms(self) -> float:
        """Milliseconds spent compiling in this run, entry wrappers included."""
        return sum(self.compile_times) + sum(self.wrapper_times)

    def _symbol(self, key, tier: int) -> str | None:
        """The symbol of the best code for `key` at `tier` or above, if any."""
        return self.exported.get((key, OPTIMIZED)) or (
            self.exported.get((key, BASELINE)) if tier == BASELINE else None)

    def _wrapper(self, ret, params):
        """The process's entry wrapper for functions of this signature,
        compiled on first use."""
        key = (str(ret), tuple(map(str, params)))
        if key not in _WRAPPERS:
            start = time.perf_counter()
            builder = ModuleBuilder("vmlab.entry", self.runtime.symbols, self.max_depth)
            symbol = builder.entry(ret, params)
            engine.engine().add(str(builder.module), builder.module.name, BASELINE)
            self.wrapper_times.append((time.perf_counter() - start) * 1e3)
            _WRAPPERS[key] = Runtime.ENTRY(engine.engine().address(symbol))
        return _WRAPPERS[key]

    def _standalone(self, spec: Spec, tier: int, reason: str, pause=None) -> str | None:
        """Compile `spec` for `tier` in a module of its own (once), with the
        functions it calls in cycles with it and copies of the small ones it
        calls; the others are compiled first (for the same tier), in modules
        of their own. Its symbol, or None if it is declined. `pause`: called
        between LLVM's steps of its own module (not of the others': a
        compile run in the pause must not change what is yet to be lowered)."""
        if spec.declined:
            return self._decline(spec, spec.declined)
        # (Baseline code inlines only callees of up to INLINE_SIZE: copying
        # a larger one that has code already would only compile it again.
        # n-body's `advance`: 11 ms.)
        members, others, cold = plan(spec, lambda callee: (
            tier == BASELINE and len(callee.code.instrs) > INLINE_SIZE
            and bool(self._symbol(callee.key, BASELINE))), optimized=tier == OPTIMIZED)
        symbols = {}
        for callee in others:
            # (A cold callee's first-tier code: the same whether or not an
            # earlier run's profile skipped that tier, and so the same module
            # and cache entry for `spec`.)
            first = self.first_tier if callee.key in cold else tier
            symbols[callee.key] = (self._symbol(callee.key, tier)
                                   or self._symbol(callee.key, first)
                                   or self._standalone(callee, first,
                                                       f"called by {spec.name()}"))
            if symbols[callee.key] is None:  # inference has seen why: `spec` is
                return self._standalone(spec, tier, reason, pause)  # declined, or leaves there
        start = time.perf_counter()
        # (Names the same in every run of this program: a code cache's hit.)
        module = f"vmlab.{self.digest}.{NAMES[tier]}.{_digest(spec.key)}"
        tier_up = tiering.OPTIMIZE_COUNT if tier < self.last_tier else None
        cycle = [s for s in members if s.key == spec.key or reaches(s, spec)]
        for s in cycle:
            symbols[s.key] = f"{module}.{_digest(s.key)}.{s.name()}"
        # Baseline code calls other modules' baseline code through their call
        # slots (jit.lower), so that it runs their optimized code once made.
        slotted = [c for c in others if tier == BASELINE
                   and symbols[c.key] == self.exported.get((c.key, BASELINE))]

        def translate(debug: str | None = None) -> str:
            builder = ModuleBuilder(module, self.runtime.symbols, self.max_depth,
                                    tier == BASELINE, tier_up, debug,
                                    full_target=engine.is_full_target())
            for s in others + members:  # name them all before any call refers to one
                builder.function(s, symbols.get(s.key))  # (others: declared, defined elsewhere)
            builder.slotted = {c.key for c in slotted}
            for s in members:
                builder.define(s, symbols.get(s.key))
            if self.cancelled:  # (before LLVM's part, the longest)
                raise Cancelled
            return str(builder.module)
        lowered = copy.copy(spec)  # (what translate reads of it: the Compiled's view)
        lowered.states, lowered.exits = list(spec.states), dict(spec.exits)
        waited = 0.0

        def step_paused():
            nonlocal waited
            began = time.perf_counter()
            pause()
            waited += time.perf_counter() - began
        try:
            opt_ms, codegen_ms, frame, cached = engine.engine().add_measured(
                translate, module, tier, _identity(spec, module, symbols, tier_up, self.max_depth),
                step_paused if pause is not None else None)
        except Decline as reason:  # found while translating
            return self._decline(spec, str(reason))
        start += waited  # (this compile's time: not the pauses')
        if frame is None or frame > self.runtime.frame_limit:
            # (Its code stays unused: nothing refers to it.)
            return self._decline(spec, f"a native frame of {frame or 'unbounded'} bytes: "
                                       f"{self.max_depth:,} calls would not fit in the "
                                       f"{self.runtime.stack_bytes >> 20} MiB native stack")
        ms = (time.perf_counter() - start) * 1e3
        if self.dump is not None:
            self._dump(spec, members, tier, reason, ms, cached,
                       translate(self.program.source_name or "<program>"))
        self.stats[spec.func].compile_ms += ms
        self.compile_times.append(ms)
        self.tiers.append(tier)
        for s in members:
            for names in [self.stats[s.func].compiled] + (
                    [self.stats[s.func].optimized] if tier == OPTIMIZED else []):
                if s.name() not in names:
                    names.append(s.name())
        self.exported.update(((s.key, tier), symbols[s.key]) for s in cycle)
        self.lowered[symbols[spec.key]] = lowered
        self.slotted[(spec.key, tier)] = slotted
        if tier == OPTIMIZED:
            for s in cycle:  # baseline code that calls it runs this from now on
                self._fill_slot(s.key, symbols[s.key])
        if tier == OPTIMIZED and self.profile is not None:
            for s in members:  # (what ran in optimized code starts there next time)
                self.profile.add(_optimized(s))
        more = f" with {len(members) - 1} more" if len(members) > 1 else ""
        if spec.exits:
            more += f" and {len(spec.exits)} side exit(s)"
        how = (f"from the code cache, load {codegen_ms:.1f}" if cached else
               f"optimize {opt_ms:.1f}, codegen {codegen_ms:.1f}")
        self.notes.append(f"COMPILE {spec.name()} -> {spec.ret}{more} in {ms:.1f} ms "
                          f"({NAMES[tier]}: {how})")
        return self.exported[(spec.key, tier)]

    def _fill_slot(self, key, symbol: str) -> None:
        """Have the call slot of `key`'s baseline code, if it has some,
        point to the code at `symbol` (a write of one word, which native
        code on the interpreter's thread reads whole: it calls either)."""
        baseline = self.exported.get((key, BASELINE))
        jit = engine.engine()
        slot = jit.global_address(f"{baseline}.slot") if baseline is not None else 0
        if slot:  # (every baseline module defines its functions' slots)
            ctypes.c_void_p.from_address(slot).value = jit.address(symbol)

    def _dump(self, spec: Spec, members: list[Spec], tier: int, reason: str, ms: float,
              cached: bool, ir_text: str) -> None:
        """--jit-dump: the module's bytecode, IR (with debug locations),
        optimized IR and host assembly (made again from `ir_text`: the same
        code, with the line and offset of each instruction)."""
        from vmlab.disasm import disassemble_code
        module, machine = engine.through_pipeline(ir_text, None, engine.OPT_LEVEL, tier)
        optimized = str(module)  # (before code generation's own passes change it)
        assembly, size = engine.machine_code(module, machine)
        codes = list({id(s.code): s.code for s in members}.values())
        entry = f"# entered at offset {spec.entry} (on-stack replacement)\n" if spec.is_osr else ""
        self.dump.write(
            name=spec.name(), kind="osr" if spec.is_osr else "call", tier=NAMES[tier],
            types=list(spec.entry_locals[: spec.code.arity]) if not spec.is_osr else
            list(spec.entry_locals), reason=reason, functions=[s.name() for s in members],
            compile_ms=ms, cached=cached,
            bytecode=entry + "\n".join(disassemble_code(c, self.program) for c in codes),
            ir=ir_text, optimized_ir=optimized,
            assembly=assembly, code_bytes=size)

    def _decline(self, spec: Spec, reason: str) -> None:
        self.inferrer.decline(spec, reason)
        self.stats[spec.func].declined.append(f"{spec.name()}: {reason}")
        self.notes.append(f"DECLINE {spec.name()}: {reason}")
        return None


def _digest(key: tuple) -> str:
    """A short name for a specialization's key."""
    return hashlib.sha256(repr(key).encode()).hexdigest()[:12]


def _identity(spec: Spec, module: str, symbols: dict, tier_up, max_depth: int) -> str:
    """All that the lowering of `spec`'s module reads, besides the program
    (named in `module`) and jit's own source (in the code cache's host):
    the specializations it reaches, what inference found in each, and the
    symbols it calls. The code cache's key, so that a hit needs no lowering."""
    parts = [(s.key, s.ret, s.states, s.local_types, sorted(s.errors.items()),
              sorted(s.exits.items()), s.declined,
              sorted((pc, c.key) for pc, c in s.callees.items()))
             for s in Inferrer.closure(spec)]
    return repr((module, max_depth, tier_up, sorted(symbols.items(), key=repr), parts))


def _optimized(spec: Spec) -> str:
    """Its line in a profile: it ran in optimized code."""
    return f"optimized {_digest(spec.key)}"
