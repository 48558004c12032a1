"""Tiered execution: when to compile, what to compile, and entering native code.

The interpreter's JIT build (the `# JIT:` lines of vmlab/interp.py) calls
`call` before every CALL and `loop` at every backward JUMP. Each counts, per
function, calls and loop back-edges together; past the threshold:

- `call` compiles the callee for the argument types of this call and runs
  the native code; later calls with the same types go straight to it;
- `loop` compiles the running frame from this loop header on (on-stack
  replacement), hands over its locals and operand stack, and native code runs
  the frame to its return.

Code is compiled in two tiers (jit.engine), as HotSpot's C1 and C2 or V8's
Sparkplug and TurboFan: first quickly, into baseline code, then, for what
stays hot, with LLVM's -O2 into optimized code. Baseline code counts its
calls and loop iterations, its callees' included (native code never calls
the interpreter, so all of them run under the entry from the interpreter);
past OPTIMIZE_COUNT the function is hot: its next entry from the interpreter
runs optimized code, and a baseline OSR frame hands itself back to the
interpreter at a loop back-edge (a side exit), which enters optimized code at
once. Code already running in a baseline function's frame finishes there.

A specialization whose types cannot be fixed is declined once, with a
reason, and its calls stay interpreted. Every compile, OSR entry and decline
can be logged as it happens (`--jit-log`), in the spirit of HotSpot's
-XX:+PrintCompilation.
"""

from __future__ import annotations

import ctypes
import functools
import sys
import time

from jit import engine
from jit.infer import MAIN, Decline, Inferrer, Spec, reaches
from jit.engine import BASELINE, OPTIMIZED
from jit.lower import ModuleBuilder, parameters, signature
from jit.runtime import EXITED_EARLY, STACK_RESERVE, NativeError, Runtime
from jit.types import UNSET, type_of
from vmlab import interrupts
from vmlab.code import Program

DEFAULT_THRESHOLD = 1000
# Calls plus loop iterations in baseline code before a function is optimized:
# a few milliseconds of baseline code, about what optimizing costs (~3x the
# baseline's compile time) and what it then saves.
OPTIMIZE_COUNT = 1_000_000
TIER_NAMES = {BASELINE: "baseline", OPTIMIZED: "optimized"}
# --jit-tiers: both, or one alone (to see what each gives)
TIER_CHOICES = {"both": (BASELINE, OPTIMIZED), "baseline": (BASELINE,),
                "optimized": (OPTIMIZED,)}
# Entry wrappers by signature: the engine is the process's, so are they.
_WRAPPERS: dict[tuple, object] = {}
INTERPRET = object()  # `call`'s answer: no native code for this call
CALLED_OFTEN = 10     # calls after which a hot loop also compiles its function for calls
# Side exits at one site of an OSR entry before it is made not entrant (as
# HotSpot says), for BACKOFF loop iterations, doubled at each invalidation;
# after MAX_INVALIDATIONS it is never entered again.
EXIT_LIMIT = 8
BACKOFF = 1000
MAX_INVALIDATIONS = 4
INLINE_SIZE = 60      # bytecode instructions: callees this small are copied into
INLINE_BUDGET = 120   # each module that calls them, up to this much in all, so
                      # that LLVM can inline them


def plan(spec: Spec) -> tuple[list[Spec], list[Spec]]:
    """What goes in `spec`'s module: itself, what calls it back, and small
    callees; and what it calls in other modules."""
    members, others, seen = [spec], [], {spec.key}
    budget = INLINE_BUDGET
    for s in members:
        for callee in s.callees.values():
            if callee.key in seen:
                continue
            seen.add(callee.key)
            size = len(callee.code.instrs)
            small = size <= min(INLINE_SIZE, budget) and not reaches(callee, callee)
            if reaches(callee, spec):
                members.append(callee)
            elif small:
                members.append(callee)
                budget -= size
            else:
                others.append(callee)
    return members, others

# Compiled code runs on a thread of its own with a stack of FRAME_ROOM bytes
# per call (address space: pages are used only as deep recursion reaches
# them), at most MAX_NATIVE_STACK: each compiled function's frame, measured
# from its machine code (jit.frames), must fit the stack's share per call
# (Runtime.frame_limit), else it is declined; so `stack overflow` comes at
# the call depth limit and nowhere else. (Real frames: 16 to 800 bytes.
# Larger stacks spread the address space so far that MCJIT may place one
# module's sections more than the 2 GiB its relocations reach apart.)
FRAME_ROOM = 16 << 10
MAX_NATIVE_STACK = 1 << 30
MIN_NATIVE_STACK = 16 << 20


def run_program(program: Program, output, max_depth: int, observer, tiering) -> None:
    """vmlab.interp.run with the JIT, on a thread whose stack has room for
    `max_depth` native calls."""
    import threading

    from vmlab.interp import run

    failure: list[BaseException] = []
    finished = threading.Lock()
    finished.acquire()

    def target():
        try:
            run(program, output, max_depth, observer, tiering)
            tiering.runtime.check_memory()
        except BaseException as e:  # handed to the calling thread
            failure.append(e)
        finally:
            finished.release()

    size = min(MAX_NATIVE_STACK, STACK_RESERVE + (max_depth + 1) * FRAME_ROOM)
    while True:
        previous = threading.stack_size(size)
        try:
            worker = threading.Thread(target=target, name="vmlab-jit", daemon=True)
            tiering.runtime.use_stack(size)
            worker.start()
            break
        except RuntimeError:  # can't start new thread: not that much address space
            if size <= MIN_NATIVE_STACK:
                raise
            size //= 2
        finally:
            threading.stack_size(previous)
    # Not worker.join(): interrupted by a signal handler's exception, it
    # marks the thread as ended while it still runs (Python 3.11).
    try:
        finished.acquire()
    except interrupts.Interrupted:  # the signal came to this thread: pass it on
        interrupts.raise_in(worker)
        finished.acquire()
    worker.join()
    if failure:
        raise failure[0]


class Compiled:
    """Native code for one specialization, and how to call it."""

    def __init__(self, spec: Spec, function, compile_ms: float, tier: int, last_tier: int):
        self.spec, self.function, self.compile_ms, self.tier = spec, function, compile_ms, tier
        self.params = parameters(spec)
        self.types = [t for _, _, t in self.params]
        self.work = 0  # calls and loop iterations in its entries (baseline code)
        self.exits: dict[int, int] = {}  # side exits per bytecode offset
        # Room for a side exit's pc, locals and stack.
        exits = spec.is_osr and (spec.exits or tier < last_tier)
        depth = max((len(state[1]) for state in spec.states if state), default=0)
        words = 1 + 2 * (spec.code.nlocals + depth)  # pc, then a tag and a payload each
        self.exit_buffer = (ctypes.c_int64 * words)() if exits else None


class FunctionStats:
    """What the JIT did with one function (for --stats)."""

    def __init__(self):
        self.counter = 0          # calls and back-edges while interpreted
        self.back_edges = 0       # loop iterations the interpreter ran
        self.native_entries = 0   # entries into native code from the interpreter
        self.osr_entries = 0      # ... of which into a running frame
        self.compile_ms = 0.0
        self.compiled: list[str] = []   # specializations with native code
        self.optimized: list[str] = []  # ... of which optimized code
        self.hot = False          # ran long in baseline code: compile optimized
        self.declined: list[str] = []
        self.exits: dict[int, int] = {}    # side exits back to the interpreter, per offset
        self.invalidated: list[str] = []   # OSR entries made not entrant, and why


class Tiering:
    """The JIT's state for one run."""

    def __init__(self, program: Program, output, max_depth: int,
                 threshold: int = DEFAULT_THRESHOLD, log=None, tiers: str = "both"):
        """`tiers`: a key of TIER_CHOICES."""
        self.program, self.threshold, self.max_depth = program, threshold, max_depth
        self.first_tier, self.last_tier = TIER_CHOICES[tiers][0], TIER_CHOICES[tiers][-1]
        self.log = log  # a file (stderr) for --jit-log, or None
        self.runtime = Runtime(output, max_depth)
        self.inferrer = Inferrer(program)
        self.stats = {i: FunctionStats() for i in range(-1, len(program.functions))}
        self.calls: dict[tuple, Compiled | None] = {}   # (func, arg types) -> code
        self.loops: dict[tuple, Compiled | None] = {}   # (func, pc, types) -> code
        # OSR entries made not entrant: key -> (back-edge count to wait for,
        # invalidations so far)
        self.not_entrant: dict[tuple, tuple[int, int]] = {}
        self.exported: dict[tuple, str] = {}  # (spec key, tier) -> its global symbol
        self.compile_times: list[float] = []  # ms per module of functions compiled
        self.tiers: list[int] = []            # ... and the tier of each
        self.wrapper_times: list[float] = []  # ms per entry wrapper (once per process)
        self.func_of = {id(program.main): MAIN}
        self.func_of.update((id(f), i) for i, f in enumerate(program.functions))
        self.modules = 0

    # --- hooks the interpreter calls ---
    def call(self, func: int, stack: list, depth: int):
        """Before CALL func: its result if native code ran it, else INTERPRET."""
        arity = self.program.functions[func].arity
        args = stack[len(stack) - arity:]
        key = (func, tuple(map(type_of, args)))
        compiled = self.calls.get(key, INTERPRET)
        if compiled is INTERPRET:
            stats = self.stats[func]
            stats.counter += 1
            if stats.counter <= self.threshold:
                return INTERPRET
            compiled = self.calls[key] = self._compile(self.inferrer.function(*key),
                                                       self._tier(func))
        if compiled is None or depth >= self.max_depth:
            return INTERPRET  # the interpreter raises `stack overflow` itself
        if compiled.work >= OPTIMIZE_COUNT:
            self.stats[func].hot = True
        if self.stats[func].hot and compiled.tier < self.last_tier:
            compiled = self.calls[key] = self._compile(compiled.spec, self.last_tier) or compiled
        del stack[len(stack) - arity:]
        self.stats[func].native_entries += 1
        self.runtime.work.value = 0
        result = self.runtime.call(compiled.function, depth + 1, compiled.types, args,
                                   compiled.spec.ret, replaces_current=False)
        compiled.work += self.runtime.work.value
        return result

    def loop(self, code, header: int, local: list, stack: list, depth: int):
        """At a backward jump to `header`: ("return", result) if native code
        ran the frame to its return, ("exit", pc) if it left at a side exit
        (with `local` and `stack` updated), or None to go on interpreting."""
        func = self.func_of[id(code)]
        stats = self.stats[func]
        stats.counter += 1
        stats.back_edges += 1
        if stats.counter <= self.threshold:
            return None
        if stats.counter - stats.back_edges > CALLED_OFTEN:
            # A function called again and again: compile it for its calls too
            # (the types of its parameters now are the best guess), so that
            # the next call runs natively; this frame goes on by OSR.
            key = (func, tuple(type_of(x) for x in local[:code.arity]))
            if key not in self.calls:
                self.calls[key] = self._compile(self.inferrer.function(*key), self._tier(func))
        local_types = tuple(UNSET if x is None else type_of(x) for x in local)
        stack_types = tuple(map(type_of, stack))
        key = (func, header, local_types, stack_types)
        waiting = self.not_entrant.get(key)
        if waiting is not None and stats.back_edges < waiting[0]:
            return None
        tier = self._tier(func)
        if key not in self.loops:
            self.loops[key] = self._compile(self.inferrer.osr(*key), tier)
        compiled = self.loops[key]
        if compiled is None:
            return None
        if compiled.tier < tier:
            compiled = self.loops[key] = self._compile(compiled.spec, tier) or compiled
        values = [local[i] if where == "local" else stack[i] for where, i, _ in compiled.params]
        if self.log:
            self._say(f"OSR    {compiled.spec.name()} (line {code.lines[header]})")
        stats.native_entries += 1
        stats.osr_entries += 1
        self.runtime.work.value = 0
        result = self.runtime.call(compiled.function, depth, compiled.types, values,
                                   compiled.spec.ret, True, compiled.exit_buffer)
        if result is not EXITED_EARLY:
            return "return", result
        return "exit", self._take_back(compiled, key, local, stack)

    def _take_back(self, compiled: Compiled, key, local: list, stack: list) -> int:
        """The frame's state after a side exit, into the interpreter's lists;
        an OSR entry that keeps leaving at one site is made not entrant."""
        words = compiled.exit_buffer
        pc = words[0]
        local_types, stack_types = compiled.spec.states[pc]
        values = [self.runtime.decode_tagged(words[1 + 2 * i], words[2 + 2 * i])
                  for i in range(len(local_types) + len(stack_types))]
        for slot, t in enumerate(local_types):
            if t != UNSET:
                local[slot] = values[slot]
        stack[:] = values[len(local_types):]
        stats = self.stats[compiled.spec.func]
        stats.exits[pc] = stats.exits.get(pc, 0) + 1
        reason = compiled.spec.exits.get(pc)
        if reason is None:  # baseline code that ran long enough to optimize
            stats.hot = True
            reason = f"hot: {OPTIMIZE_COUNT:,} calls and loop iterations in baseline code"
        if self.log:
            self._say(f"EXIT   {compiled.spec.name()}: back to the interpreter at offset {pc} "
                      f"({reason})")
        if pc in compiled.spec.exits:
            compiled.exits[pc] = compiled.exits.get(pc, 0) + 1
            if compiled.exits[pc] >= EXIT_LIMIT:
                self._invalidate(compiled, key, pc, reason)
        return pc

    def _invalidate(self, compiled: Compiled, key, pc: int, reason: str) -> None:
        """Stop entering an OSR entry that keeps handing its frame back at
        `pc`: for a while, twice as long each time, then for good. (Its
        types are those inference found, so compiling it again would make
        the same code; what it cannot run natively is a call.)"""
        del self.loops[key]
        stats = self.stats[compiled.spec.func]
        times = self.not_entrant.get(key, (0, 0))[1] + 1
        if times > MAX_INVALIDATIONS:
            self.not_entrant[key] = (float("inf"), times)
            wait = "never entered again"
        else:
            iterations = BACKOFF << (times - 1)
            self.not_entrant[key] = (stats.back_edges + iterations, times)
            wait = f"not entered for {iterations:,} loop iterations"
        note = (f"{compiled.spec.name()}: left {compiled.exits[pc]} times at offset {pc} "
                f"({reason}); {wait}")
        stats.invalidated.append(note)
        if self.log:
            self._say(f"INVALIDATE {note}")

    def traceback(self, error, trace: list) -> list:
        """The toy frames of an error: native frames replace or follow the
        interpreter's innermost one."""
        if not isinstance(error, NativeError):
            return trace
        return (trace[:-1] if error.replaces_current else trace) + error.frames

    # --- compiling ---
    @property
    def compile_ms(self) -> float:
        """Milliseconds spent compiling in this run, entry wrappers included."""
        return sum(self.compile_times) + sum(self.wrapper_times)

    def _compile(self, spec: Spec, tier: int | None = None) -> Compiled | None:
        """Native code for a specialization the interpreter will enter, with
        the entry wrapper for its signature, at `tier` (or better); None if
        it is declined."""
        tier = tier or self.first_tier
        start = time.perf_counter()
        symbol = self._symbol(spec.key, tier) or self._standalone(spec, tier)
        if symbol is None:
            return None
        function = engine.engine().address(symbol)
        if not function:  # never call into nothing
            raise RuntimeError(f"JIT: {symbol} is not defined")
        entry = functools.partial(self._wrapper(*signature(spec)), function)
        return Compiled(spec, entry, (time.perf_counter() - start) * 1e3, tier, self.last_tier)

    def _tier(self, func: int) -> int:
        """The tier to compile `func` for now."""
        return self.last_tier if self.stats[func].hot else self.first_tier

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
            builder = ModuleBuilder("vmlab.entry", self.runtime.symbols, self.max_depth,
                                    self.runtime)
            symbol = builder.entry(ret, params)
            engine.engine().add(str(builder.module), builder.module.name, BASELINE)
            self.wrapper_times.append((time.perf_counter() - start) * 1e3)
            _WRAPPERS[key] = Runtime.ENTRY(engine.engine().address(symbol))
        return _WRAPPERS[key]

    def _standalone(self, spec: Spec, tier: int) -> str | None:
        """Compile `spec` for `tier` in a module of its own (once), with the
        functions it calls in cycles with it and copies of the small ones it
        calls; the others are compiled first (for the same tier), in modules
        of their own. Its symbol, or None if it is declined."""
        if spec.declined:
            return self._decline(spec, spec.declined)
        members, others = plan(spec)
        symbols = {}
        for callee in others:
            symbols[callee.key] = (self._symbol(callee.key, tier)
                                   or self._standalone(callee, tier))
            if symbols[callee.key] is None:  # inference has seen why: `spec` is
                return self._standalone(spec, tier)  # declined, or leaves at that call
        start = time.perf_counter()
        self.modules += 1
        builder = ModuleBuilder(f"vmlab.{self.modules}", self.runtime.symbols, self.max_depth,
                                self.runtime, tier == BASELINE,
                                OPTIMIZE_COUNT if tier < self.last_tier else None)
        cycle = [s for s in members if s.key == spec.key or reaches(s, spec)]
        for s in cycle:
            symbols[s.key] = f"vmlab.{self.modules}.{s.name()}"
        for s in others + members:  # name them all before any call refers to one
            builder.function(s, symbols.get(s.key))  # (others: declared, defined elsewhere)
        try:
            for s in members:
                builder.define(s, symbols.get(s.key))
        except Decline as reason:  # found while translating
            return self._decline(spec, str(reason))
        opt_ms, codegen_ms, frame = engine.engine().add_measured(
            str(builder.module), builder.module.name, tier)
        if frame is None or frame > self.runtime.frame_limit:
            # (Its code stays unused: nothing refers to it.)
            return self._decline(spec, f"a native frame of {frame or 'unbounded'} bytes: "
                                       f"{self.max_depth:,} calls would not fit in the "
                                       f"{self.runtime.stack_bytes >> 20} MiB native stack")
        ms = (time.perf_counter() - start) * 1e3
        self.stats[spec.func].compile_ms += ms
        self.compile_times.append(ms)
        self.tiers.append(tier)
        for s in members:
            for names in [self.stats[s.func].compiled] + (
                    [self.stats[s.func].optimized] if tier == OPTIMIZED else []):
                if s.name() not in names:
                    names.append(s.name())
        self.exported.update(((s.key, tier), symbols[s.key]) for s in cycle)
        if self.log:
            more = f" with {len(members) - 1} more" if len(members) > 1 else ""
            if spec.exits:
                more += f" and {len(spec.exits)} side exit(s)"
            self._say(f"COMPILE {spec.name()} -> {spec.ret}{more} in {ms:.1f} ms "
                      f"({TIER_NAMES[tier]}: optimize {opt_ms:.1f}, codegen {codegen_ms:.1f})")
        return self.exported[(spec.key, tier)]

    def _decline(self, spec: Spec, reason: str) -> None:
        self.inferrer.decline(spec, reason)
        self.stats[spec.func].declined.append(f"{spec.name()}: {reason}")
        if self.log:
            self._say(f"DECLINE {spec.name()}: {reason}")
        return None

    def _say(self, text: str) -> None:
        self.runtime.output.flush()  # the log interleaves with the program's output
        print(f"jit: {text}", file=self.log or sys.stderr, flush=True)
