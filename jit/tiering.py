"""Tiered execution: when to compile, what to compile, and entering native code.

The interpreter's JIT build (the `# JIT:` lines of vmlab/interp.py) calls
`call` before every CALL and `loop` at every backward JUMP. Each counts, per
function, calls and loop back-edges together; past the threshold:

- `call` compiles the callee for the argument types of this call and runs
  the native code; later calls with the same types go straight to it;
- `loop` compiles the running frame from this loop header on (on-stack
  replacement), hands over its locals and operand stack, and native code runs
  the frame to its return.

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
from jit.lower import ModuleBuilder, parameters, signature
from jit.runtime import EXITED_EARLY, NativeError, Runtime
from jit.types import UNSET, type_of
from vmlab import interrupts
from vmlab.code import Program

DEFAULT_THRESHOLD = 1000
# Entry wrappers by signature: the engine is the process's, so are they.
_WRAPPERS: dict[tuple, object] = {}
INTERPRET = object()  # `call`'s answer: no native code for this call
CALLED_OFTEN = 10     # calls after which a hot loop compiles its function, not an OSR entry
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

# Native frames are small (tens of bytes for most functions); a run allowed
# more calls than fit in the main thread's stack runs in a thread with room
# for STACK_PER_CALL bytes per call.
STACK_PER_CALL = 512
MAIN_THREAD_CALLS = 10_000


def run_program(program: Program, output, max_depth: int, observer, tiering) -> None:
    """vmlab.interp.run with the JIT, on a stack big enough for `max_depth`
    native calls."""
    from vmlab.interp import run

    if max_depth <= MAIN_THREAD_CALLS:
        run(program, output, max_depth, observer, tiering)
        return
    import threading

    failure: list[BaseException] = []
    finished = threading.Lock()
    finished.acquire()

    def target():
        try:
            run(program, output, max_depth, observer, tiering)
        except BaseException as e:  # handed to the calling thread
            failure.append(e)
        finally:
            finished.release()

    previous = threading.stack_size(tiering.runtime.stack_bytes)
    try:
        worker = threading.Thread(target=target, name="vmlab-jit", daemon=True)
        worker.start()
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

    def __init__(self, spec: Spec, function, compile_ms: float):
        self.spec, self.function, self.compile_ms = spec, function, compile_ms
        self.params = parameters(spec)
        self.types = [t for _, _, t in self.params]
        # Room for a side exit's pc, locals and stack.
        depth = max((len(spec.states[pc][1]) for pc in spec.exits), default=0)
        self.exit_buffer = ((ctypes.c_int64 * (1 + spec.code.nlocals + depth))()
                            if spec.exits else None)


class FunctionStats:
    """What the JIT did with one function (for --stats)."""

    def __init__(self):
        self.counter = 0          # calls and back-edges while interpreted
        self.back_edges = 0       # loop iterations the interpreter ran
        self.native_entries = 0   # entries into native code from the interpreter
        self.compile_ms = 0.0
        self.compiled: list[str] = []
        self.declined: list[str] = []


class Tiering:
    """The JIT's state for one run."""

    def __init__(self, program: Program, output, max_depth: int,
                 threshold: int = DEFAULT_THRESHOLD, log=None):
        self.program, self.threshold, self.max_depth = program, threshold, max_depth
        self.log = log  # a file (stderr) for --jit-log, or None
        stack_bytes = (8 << 20) + max_depth * STACK_PER_CALL if max_depth > MAIN_THREAD_CALLS \
            else None
        self.runtime = Runtime(output, max_depth, stack_bytes)
        self.inferrer = Inferrer(program)
        self.stats = {i: FunctionStats() for i in range(-1, len(program.functions))}
        self.calls: dict[tuple, Compiled | None] = {}   # (func, arg types) -> code
        self.loops: dict[tuple, Compiled | None] = {}   # (func, pc, types) -> code
        self.exported: dict[tuple, str] = {}  # spec key -> its global symbol
        self.compile_times: list[float] = []  # ms per module of functions compiled
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
            compiled = self.calls[key] = self._compile(self.inferrer.function(*key))
        if compiled is None or depth >= self.max_depth:
            return INTERPRET  # the interpreter raises `stack overflow` itself
        del stack[len(stack) - arity:]
        self.stats[func].native_entries += 1
        return self.runtime.call(compiled.function, depth + 1, compiled.types, args,
                                 compiled.spec.ret, replaces_current=False)

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
            # A function called again and again: compile it for its calls
            # (the types of its parameters now are the best guess) rather than
            # for this loop; the next call runs it natively.
            arity = code.arity
            key = (func, tuple(type_of(x) for x in local[:arity]))
            if key not in self.calls:
                self.calls[key] = self._compile(self.inferrer.function(*key))
            return None
        local_types = tuple(UNSET if x is None else type_of(x) for x in local)
        stack_types = tuple(map(type_of, stack))
        key = (func, header, local_types, stack_types)
        if key not in self.loops:
            self.loops[key] = self._compile(self.inferrer.osr(*key))
        compiled = self.loops[key]
        if compiled is None:
            return None
        values = [local[i] if where == "local" else stack[i] for where, i, _ in compiled.params]
        if self.log:
            self._say(f"OSR    {compiled.spec.name()} (line {code.lines[header]})")
        stats.native_entries += 1
        result = self.runtime.call(compiled.function, depth, compiled.types, values,
                                   compiled.spec.ret, True, compiled.exit_buffer)
        if result is not EXITED_EARLY:
            return "return", result
        return "exit", self._take_back(compiled, local, stack)

    def _take_back(self, compiled: Compiled, local: list, stack: list) -> int:
        """The frame's state after a side exit, into the interpreter's lists."""
        words = compiled.exit_buffer
        pc = words[0]
        local_types, stack_types = compiled.spec.states[pc]
        decode = self.runtime.decode
        for slot, t in enumerate(local_types):
            if t != UNSET:
                local[slot] = decode(t.lstrip("?"), words[1 + slot])
        base = 1 + len(local_types)
        stack[:] = [decode(t, words[base + i]) for i, t in enumerate(stack_types)]
        if self.log:
            self._say(f"EXIT   {compiled.spec.name()}: back to the interpreter at offset {pc} "
                      f"({compiled.spec.exits[pc]})")
        return pc

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

    def _compile(self, spec: Spec) -> Compiled | None:
        """Native code for a specialization the interpreter will enter, with
        the entry wrapper for its signature; None if it is declined."""
        start = time.perf_counter()
        symbol = self.exported.get(spec.key) or self._standalone(spec)
        if symbol is None:
            return None
        function = engine.engine().address(symbol)
        if not function:  # never call into nothing
            raise RuntimeError(f"JIT: {symbol} is not defined")
        entry = functools.partial(self._wrapper(*signature(spec)), function)
        return Compiled(spec, entry, (time.perf_counter() - start) * 1e3)

    def _wrapper(self, ret, params):
        """The process's entry wrapper for functions of this signature,
        compiled on first use."""
        key = (str(ret), tuple(map(str, params)))
        if key not in _WRAPPERS:
            start = time.perf_counter()
            builder = ModuleBuilder("vmlab.entry", self.runtime.symbols, self.max_depth)
            symbol = builder.entry(ret, params)
            engine.engine().add(str(builder.module), builder.module.name)
            self.wrapper_times.append((time.perf_counter() - start) * 1e3)
            _WRAPPERS[key] = Runtime.ENTRY(engine.engine().address(symbol))
        return _WRAPPERS[key]

    def _standalone(self, spec: Spec) -> str | None:
        """Compile `spec` in a module of its own (once), with the functions it
        calls in cycles with it and copies of the small ones it calls; the
        others are compiled first, in modules of their own. Its symbol, or
        None if it is declined."""
        if spec.declined:
            return self._decline(spec, spec.declined)
        members, others = plan(spec)
        symbols = {}
        for callee in others:
            symbols[callee.key] = self.exported.get(callee.key) or self._standalone(callee)
            if symbols[callee.key] is None:
                return self._decline(spec, f"calls {callee.name()}, which is not compiled")
        start = time.perf_counter()
        self.modules += 1
        builder = ModuleBuilder(f"vmlab.{self.modules}", self.runtime.symbols, self.max_depth,
                                self.runtime.shadow_address)
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
        opt_ms, codegen_ms = engine.engine().add(str(builder.module), builder.module.name)
        ms = (time.perf_counter() - start) * 1e3
        self.stats[spec.func].compile_ms += ms
        self.compile_times.append(ms)
        for s in members:
            if s.name() not in self.stats[s.func].compiled:
                self.stats[s.func].compiled.append(s.name())
        self.exported.update((s.key, symbols[s.key]) for s in cycle)
        if self.log:
            more = f" with {len(members) - 1} more" if len(members) > 1 else ""
            if spec.exits:
                more += f" and {len(spec.exits)} side exit(s)"
            self._say(f"COMPILE {spec.name()} -> {spec.ret}{more} in {ms:.1f} ms "
                      f"(optimize {opt_ms:.1f}, codegen {codegen_ms:.1f})")
        return self.exported[spec.key]

    def _decline(self, spec: Spec, reason: str) -> None:
        spec.declined = reason
        self.stats[spec.func].declined.append(f"{spec.name()}: {reason}")
        if self.log:
            self._say(f"DECLINE {spec.name()}: {reason}")
        return None

    def _say(self, text: str) -> None:
        self.runtime.output.flush()  # the log interleaves with the program's output
        print(f"jit: {text}", file=self.log or sys.stderr, flush=True)
