"""Tiered execution: when to compile, what to compile, and entering native code.

The interpreter's JIT build (the `# JIT` blocks of vmlab/interp.py) calls
`call` before every CALL and `loop` at every backward JUMP. Each counts, per
function, calls and loop back-edges together; past the threshold:

- `call` has the callee compiled for the argument types of this call; once
  the code is there, calls with those types go straight to it;
- `loop` has the running frame compiled from this loop header on (on-stack
  replacement); once the code is there, the next back-edge hands over the
  frame's locals and operand stack, and native code runs the frame to its
  return.

Compiling happens on a compiler thread (jit.compiler makes the code): the
program goes on in the interpreter, or in the code it has, and switches to
the new code at the next call or back-edge after it is ready, as HotSpot
does. With `background=False` (`--jit-background off`) compiling happens at
once, on the interpreter's thread, so that logs are the same in every run.
Nothing of llvmlite is loaded until something gets hot.

Code is compiled in two tiers (jit.tiers), as HotSpot's C1 and C2 or V8's
Sparkplug and TurboFan: first quickly, into baseline code, then, for what
stays hot, with LLVM's -O2 into optimized code. Baseline code counts its
calls and loop iterations, its callees' included (native code never calls
the interpreter, so all of them run under the entry from the interpreter);
past OPTIMIZE_COUNT the function is hot: its next entry from the interpreter
runs optimized code (once compiled), and a baseline OSR frame hands itself
back to the interpreter at a loop back-edge (a side exit), which enters
optimized code when it is there. Code already running in a baseline
function's frame finishes there.

A specialization that cannot be compiled is declined once, with a reason,
and its calls stay interpreted. Every compile, OSR entry and decline can be
logged as it happens (`--jit-log`), in the spirit of HotSpot's
-XX:+PrintCompilation.
"""

from __future__ import annotations

import _thread
import os
import sys
import time

from jit.tiers import CHOICES, NAMES
from jit.types import UNSET, type_of
from vmlab import interrupts
from vmlab.code import MAIN, Program

DEFAULT_THRESHOLD = 1000
# Calls plus loop iterations in baseline code before a function is optimized:
# a few milliseconds of baseline code, about what optimizing costs (~3x the
# baseline's compile time) and what it then saves. (Tests set it lower with
# VMLAB_JIT_OPTIMIZE_AFTER, so that small programs tier up too.)
OPTIMIZE_COUNT = int(os.environ.get("VMLAB_JIT_OPTIMIZE_AFTER", 1_000_000))
INTERPRET = object()  # `call`'s answer: no native code for this call
READ_PROFILE_AFTER = 100  # calls and loop iterations before a run reads its program's profile
CALLED_OFTEN = 10     # calls after which a hot loop also compiles its function for calls
# Side exits at one site of an OSR entry before it is made not entrant (as
# HotSpot says), for BACKOFF loop iterations, doubled at each invalidation;
# after MAX_INVALIDATIONS it is never entered again.
EXIT_LIMIT = 8
BACKOFF = 1000
MAX_INVALIDATIONS = 4

# Compiled code runs on a thread of its own with a stack of FRAME_ROOM bytes
# per call (address space: pages are used only as deep recursion reaches
# them), at most MAX_NATIVE_STACK: each compiled function's frame, measured
# from its machine code (jit.frames), must fit the stack's share per call
# (Runtime.frame_limit), else it is declined; so `stack overflow` comes at
# the call depth limit and nowhere else. (Real frames: 16 to 800 bytes.
# Larger stacks spread the address space so far that MCJIT may place one
# module's sections more than the 2 GiB its relocations reach apart.)
# STACK_RESERVE of it is kept for the Python frames above native code's
# entry and for the callbacks (print) below its deepest frame.
FRAME_ROOM = 16 << 10
MAX_NATIVE_STACK = 1 << 30
MIN_NATIVE_STACK = 16 << 20
STACK_RESERVE = 2 << 20
# The first native code for a function or loop is compiled on the
# interpreter's thread, as V8 compiles its baseline (Sparkplug) code on the
# main thread; the optimizing tier's, on the compiler thread while baseline
# code runs (TurboFan's concurrent compiles). Measured: queued too, first-tier
# compiles ran 3-10x longer (the interpreter holds the GIL, which the
# compiler's Python half needs, and gets 30-100x less done than baseline
# code meanwhile), and whole runs took 0.1-0.3 s longer (docs/jit.md).
FIRST_TIER_WAITS = True
# While the compiler thread works, the interpreter's thread hands it the GIL
# this often (seconds; Python's default: 0.005). Each of llvmlite's calls
# into LLVM lets the GIL go and waits for it back.
SWITCH_INTERVAL = 0.0002


def run_program(program: Program, output, max_depth: int, observer, tiering) -> None:
    """vmlab.interp.run with the JIT, on a thread whose stack has room for
    `max_depth` native calls."""
    from vmlab.interp import run

    failure: list[BaseException] = []
    finished = _thread.allocate_lock()
    finished.acquire()

    def target():
        try:
            running.append(_thread.get_ident())  # (stops may be passed on from now)
            if interrupts.current is not None:
                interrupts.current.check()  # (one that came before)
            try:
                run(program, output, max_depth, observer, tiering)
            finally:
                tiering.close()
            if tiering.runtime is not None:
                tiering.runtime.check_memory()
        except BaseException as e:  # handed to the calling thread
            failure.append(e)
        finally:
            try:
                finished.release()
            except interrupts.Interrupted:  # (passed on as the run ended: too late)
                pass

    # A stop that comes to this thread (signals do) is passed on to the run
    # once it is inside `target`'s try (an exception raised in a thread
    # before that would end it without a word), and this thread waits for
    # the run to end: it must not go on while native code runs in the other.
    running: list[int] = []
    with interrupts.passed_on(lambda: running and tiering.interrupt(running[0])):
        size = min(MAX_NATIVE_STACK, STACK_RESERVE + (max_depth + 1) * FRAME_ROOM)
        while True:  # (_thread, not threading: ~0.6 ms of every start-up)
            previous = _thread.stack_size(size)
            try:
                tiering.stack_bytes = size
                _thread.start_new_thread(target, ())
                break
            except RuntimeError:  # can't start new thread: not that much address space
                if size <= MIN_NATIVE_STACK:
                    raise
                size //= 2
            finally:
                _thread.stack_size(previous)
        finished.acquire()
    if failure:
        raise failure[0]


class FunctionStats:
    """What the JIT did with one function (for --stats)."""

    def __init__(self):
        self.counter = 0          # calls and back-edges while interpreted
        self.back_edges = 0       # loop iterations the interpreter ran
        self.osr_after = 0        # ... before which its loops are not compiled (OSR)
        self.native_entries = 0   # entries into native code from the interpreter
        self.osr_entries = 0      # ... of which into a running frame
        self.compile_ms = 0.0
        self.compiled: list[str] = []   # specializations with native code
        self.optimized: list[str] = []  # ... of which optimized code
        self.hot = False          # ran long in baseline code: compile optimized
        self.declined: list[str] = []
        self.exits: dict[int, int] = {}    # side exits back to the interpreter, per offset
        self.invalidated: list[str] = []   # OSR entries made not entrant, and why


class Job:
    """A compile the interpreter asked for: where its result goes, and how
    to make it (`make(compiler)` -> a jit.compiler.Compiled or None)."""

    def __init__(self, table: dict, key, make, name: str, tier: int, old=None, reason="",
                 waits=True):
        self.table, self.key, self.make, self.name, self.tier = table, key, make, name, tier
        self.reason = reason      # why it was asked for (--jit-dump's index)
        self.old = old            # the code it replaces (baseline code), if any
        self.queued = time.perf_counter()
        self.result = None
        self.seconds = 0.0        # how long it took (llvmlite's loading included)
        self.notes: list[str] = []
        self.error: BaseException | None = None
        self.waits = waits        # a first-tier job: done at once (see FIRST_TIER_WAITS)


class Tiering:
    """The JIT's state for one run."""

    INTERPRET = INTERPRET  # (for the interpreter's JIT build, which imports nothing of jit)

    def __init__(self, program: Program, output, max_depth: int,
                 threshold: int = DEFAULT_THRESHOLD, log=None, tiers: str = "both",
                 background: bool = False, memcheck: bool | None = None, cache=None,
                 dump=None):
        """`tiers`: a key of jit.tiers.CHOICES. `background`: compile on a
        compiler thread. `memcheck`: jit.runtime.Runtime's memory check.
        `cache`: the directory of a code cache (jit.codecache), True for
        the default one, or None. `dump`: a directory for what each compile
        makes (jit.dump), or None."""
        self.program, self.output = program, output
        self.threshold, self.max_depth = threshold, max_depth
        self.tier_choice = CHOICES[tiers]
        self.first_tier, self.last_tier = self.tier_choice[0], self.tier_choice[-1]
        self.log = log  # a file (stderr) for --jit-log, or None
        self.background, self.memcheck, self.cache = background, memcheck, cache
        if dump is not None:
            from jit.dump import Dump
            dump = Dump(dump, program.source_name)
        self.dump = dump
        self.stack_bytes: int | None = None  # of the thread it runs on (None: the main one)
        self.compiler = None  # a jit.compiler.Compiler once something is hot
        self.profile = None   # a jit.codecache.Profile once read (hints)
        self._events = 0      # calls and back-edges before it was read
        self.runtime = None   # ... and its jit.runtime.Runtime
        self.stats = {i: FunctionStats() for i in range(-1, len(program.functions))}
        self.calls: dict[tuple, object] = {}   # (func, arg types) -> Compiled or None
        self.loops: dict[tuple, object] = {}   # (func, pc, types) -> Compiled or None
        # OSR entries made not entrant: key -> (back-edge count to wait for,
        # invalidations so far)
        self.not_entrant: dict[tuple, tuple[int, int]] = {}
        self.func_of = {id(program.main): MAIN}
        self.func_of.update((id(f), i) for i, f in enumerate(program.functions))
        self._queue = None                            # jobs for the compiler thread
        self._thread: threading.Thread | None = None
        self._ready: list[Job] = []                   # ... and the jobs it finished
        self._closed = False
        # A compile on the interpreter's thread (imports, callbacks) must not
        # be interrupted halfway: `interrupt` waits for it or leaves it a note.
        self._compiling = _thread.allocate_lock()
        self._one_compile = _thread.allocate_lock()  # held by the thread compiling (_run)
        self._waiting = False  # the interpreter's thread waits for it (_let_in)
        self._lent = 0.0       # seconds the compiler thread's jobs paused for it
        self._interrupted = False
        self.native_seconds = 0.0  # in native code entered from the interpreter
        self.compile_seconds = {False: 0.0, True: 0.0}  # on the interpreter's thread, on the
                                                        # compiler thread

    # --- hooks the interpreter calls ---
    def call(self, func: int, stack: list, depth: int):
        """Before CALL func: its result if native code ran it, else INTERPRET."""
        if self._ready:
            self._install()
        stats = self.stats[func]
        stats.counter += 1
        if stats.counter <= self.threshold and func not in self.hints().calls:
            return INTERPRET
        arity = self.program.functions[func].arity
        args = stack[len(stack) - arity:]
        key = (func, tuple(map(type_of, args)))
        compiled = self.calls.get(key, INTERPRET)
        if (compiled is INTERPRET and stats.counter <= self.threshold
                and _call_line(key) not in self.hints()):
            return INTERPRET
        if compiled is INTERPRET:
            # A function with native code for its loops need not wait: its
            # calls enter that code at their first back-edge meanwhile.
            self._request(Job(self.calls, key, self._make_call(key), self._call_name(key),
                              self._tier(func), reason=self._why(stats),
                              waits=not any(k[0] == func and c for k, c in self.loops.items())))
            compiled = self.calls[key]
        if compiled is None or depth >= self.max_depth:
            return INTERPRET  # the interpreter raises `stack overflow` itself
        if compiled.work >= OPTIMIZE_COUNT:
            self.stats[func].hot = True
        if self.stats[func].hot and compiled.tier < self.last_tier and not compiled.upgrading:
            self._upgrade(self.calls, key, compiled)
            compiled = self.calls[key]
        del stack[len(stack) - arity:]
        self.stats[func].native_entries += 1
        self.runtime.work.value = 0
        start = time.perf_counter()
        try:
            return self.runtime.call(compiled.function, depth + 1, compiled.types, args,
                                     compiled.ret, replaces_current=False,
                                     borrowed=compiled.borrowed)
        finally:
            self.native_seconds += time.perf_counter() - start
            compiled.work += self.runtime.work.value

    def loop(self, code, header: int, local: list, stack: list, depth: int):
        """At a backward jump to `header`: ("return", result) if native code
        ran the frame to its return, ("exit", pc) if it left at a side exit
        (with `local` and `stack` updated), or None to go on interpreting."""
        if self._ready:
            self._install()
        func = self.func_of[id(code)]
        stats = self.stats[func]
        stats.counter += 1
        stats.back_edges += 1
        if stats.counter <= self.threshold and f"loop {func} {header}" not in self.hints():
            return None
        if stats.counter - stats.back_edges > CALLED_OFTEN:
            # A function called again and again: compile it for its calls
            # (the types of its parameters now are the best guess), so that
            # the next call runs natively. This frame goes on interpreted
            # while it looks like the earlier calls, whose loops ended soon
            # (nbody's `advance`: 15 iterations a call; compiling an OSR
            # entry for the rest of one took 28 ms); past four times their
            # mean number of iterations, it goes on by OSR.
            key = (func, tuple(type_of(x) for x in local[:code.arity]))
            if key not in self.calls:
                self._request(Job(self.calls, key, self._make_call(key), self._call_name(key),
                                  self._tier(func), reason="called again while its loop ran"))
                calls = stats.counter - stats.back_edges
                stats.osr_after = stats.back_edges + 4 * (stats.back_edges // calls + 1)
            if stats.back_edges < stats.osr_after:
                return None
        local_types = tuple(UNSET if x is None else type_of(x) for x in local)
        stack_types = tuple(map(type_of, stack))
        key = (func, header, local_types, stack_types)
        waiting = self.not_entrant.get(key)
        if waiting is not None and stats.back_edges < waiting[0]:
            return None
        if key not in self.loops:
            tier = self._tier(func)
            self._request(Job(self.loops, key, lambda c: c.osr(key, tier),
                              f"{code.name} at offset {header}", tier, reason=self._why(stats)))
        compiled = self.loops[key]
        if compiled is None:
            return None
        if compiled.tier < self._tier(func) and not compiled.upgrading:
            self._upgrade(self.loops, key, compiled)
            compiled = self.loops[key]
        values = [local[i] if where == "local" else stack[i] for where, i, _ in compiled.params]
        if self.log:
            self._say(f"OSR    {compiled.name} (line {code.lines[header]})")
        stats.native_entries += 1
        stats.osr_entries += 1
        self.runtime.work.value = 0
        start = time.perf_counter()
        try:
            result = self.runtime.call(compiled.function, depth, compiled.types, values,
                                       compiled.ret, True, compiled.exit_buffer)
        finally:
            self.native_seconds += time.perf_counter() - start
        if result is not self.runtime.EXITED_EARLY:
            return "return", result
        return "exit", self._take_back(compiled, key, local, stack)

    def _take_back(self, compiled, key, local: list, stack: list) -> int:
        """The frame's state after a side exit, into the interpreter's lists;
        an OSR entry that keeps leaving at one site in its loop is made not
        entrant."""
        words = compiled.exit_buffer
        pc = words[0]
        local_types, stack_types = compiled.states[pc]
        # (An unset local's words are not written at this exit: whatever an
        # earlier exit left there, perhaps an array freed since.)
        values = [None if t == UNSET else
                  self.runtime.decode_tagged(words[1 + 2 * i], words[2 + 2 * i])
                  for i, t in enumerate(local_types + stack_types)]
        for slot, t in enumerate(local_types):
            if t != UNSET:
                local[slot] = values[slot]
        stack[:] = values[len(local_types):]
        stats = self.stats[compiled.func]
        stats.exits[pc] = stats.exits.get(pc, 0) + 1
        reason = compiled.exit_reasons.get(pc)
        if reason is None:  # baseline code that ran long enough to optimize
            stats.hot = True
            reason = f"hot: {OPTIMIZE_COUNT:,} calls and loop iterations in baseline code"
        if self.log:
            self._say(f"EXIT   {compiled.name}: back to the interpreter at offset {pc} "
                      f"({reason})")
        if pc in compiled.exits_in_loops:
            compiled.exits[pc] = compiled.exits.get(pc, 0) + 1
            if compiled.exits[pc] >= EXIT_LIMIT:
                self._invalidate(compiled, key, pc, reason)
        return pc

    def _invalidate(self, compiled, key, pc: int, reason: str) -> None:
        """Stop entering an OSR entry that keeps handing its frame back at
        `pc`: for a while, twice as long each time, then for good. (Its
        types are those inference found, so compiling it again would make
        the same code; what it cannot run natively is a call.)"""
        del self.loops[key]
        stats = self.stats[compiled.func]
        times = self.not_entrant.get(key, (0, 0))[1] + 1
        if times > MAX_INVALIDATIONS:
            self.not_entrant[key] = (float("inf"), times)
            wait = "never entered again"
        else:
            iterations = BACKOFF << (times - 1)
            self.not_entrant[key] = (stats.back_edges + iterations, times)
            wait = f"not entered for {iterations:,} loop iterations"
        note = (f"{compiled.name}: left {compiled.exits[pc]} times at offset {pc} "
                f"({reason}); {wait}")
        stats.invalidated.append(note)
        if self.log:
            self._say(f"INVALIDATE {note}")

    def traceback(self, error, trace: list) -> list:
        """The toy frames of an error: native frames replace or follow the
        interpreter's innermost one."""
        if self.compiler is None:
            return trace
        from jit.runtime import NativeError
        if not isinstance(error, NativeError):
            return trace
        return (trace[:-1] if error.replaces_current else trace) + error.frames

    # --- compile jobs ---
    @property
    def compile_ms(self) -> float:
        """Milliseconds spent compiling in this run, entry wrappers included."""
        return self.compiler.compile_ms if self.compiler else 0.0

    def _tier(self, func: int) -> int:
        """The tier to compile `func` for now."""
        return self.last_tier if self.stats[func].hot else self.first_tier

    def _call_name(self, key) -> str:
        func, types = key
        return f"{self.program.functions[func].name}({', '.join(types)})"

    def _make_call(self, key):
        tier = self._tier(key[0])
        return lambda compiler: compiler.function(key, tier)

    def _upgrade(self, table: dict, key, compiled) -> None:
        """Have optimized code made for what `compiled` (baseline code) runs:
        first for the baseline code it calls through call slots (jit.lower),
        which it runs as soon as that is made (n-body's `advance`, ~60 ms,
        before `bench`'s loop with `advance` inlined, ~90 ms)."""
        compiled.upgrading = True
        for callee in compiled.slotted:
            code = self.calls.get(callee)
            if code is not None and code.tier < self.last_tier and not code.upgrading:
                self._upgrade(self.calls, callee, code)
        self._request(Job(table, key, lambda c: c.compile(compiled.spec, self.last_tier),
                          compiled.name, self.last_tier, compiled,
                          f"hot: {OPTIMIZE_COUNT:,} calls and loop iterations in baseline code"))

    def _why(self, stats: FunctionStats) -> str:
        """Why a function's first native code is asked for now."""
        if stats.counter <= self.threshold:
            return "compiled in an earlier run (the program's profile)"
        return f"past the threshold ({self.threshold:,} calls and loop iterations)"

    def _request(self, job: Job) -> None:
        """Compile now, or queue the job for the compiler thread (until it is
        done, `job.table` has the code it replaces). Only a tier-up, or a
        call of a function whose loops have native code, goes to the thread:
        other code still interpreted waits for its first native code (see
        FIRST_TIER_WAITS)."""
        job.table[job.key] = job.old
        if not self.background or (job.old is None and FIRST_TIER_WAITS and job.waits):
            with self._compiling:
                self._run(job)
            if self._interrupted:  # (Ctrl-C or --timeout came meanwhile)
                raise interrupts.Interrupted()
            self._finish(job, queued=False)
            return
        if self._thread is None:
            import queue
            import threading
            self._queue = queue.SimpleQueue()
            self._thread = threading.Thread(target=self._compile_jobs, name="vmlab-compiler",
                                            daemon=True)
            self._thread.start()
        if self.log:
            self._say(f"QUEUE  {job.name} ({NAMES[job.tier]})")
        self._queue.put(job)

    def hints(self):
        """What earlier runs compiled (`profiled`), once this run has made
        READ_PROFILE_AFTER calls and loop iterations; before, nothing: a
        program that does little never pays for reading it (~15 ms of
        imports and the program's digest)."""
        if self.profile is None:
            self._events += 1
            if self._events < READ_PROFILE_AFTER:
                return _NO_HINTS
            with self._compiling:  # (imports: Ctrl-C must not stop one halfway)
                self.profiled()
            if self._interrupted:
                raise interrupts.Interrupted()
        return self.profile

    def profiled(self):
        """The program's jit.codecache.Profile: what earlier runs compiled,
        compiled here at once (empty without a code cache)."""
        if self.profile is None:
            if self.cache:
                from jit import codecache
                directory = (codecache.default_directory() if self.cache is True
                             else self.cache)
                self.profile = codecache.Profile(directory, codecache.program_digest(
                    self.program))
            else:
                self.profile = _NO_HINTS  # (nothing to remember it in)
        return self.profile

    def get_compiler(self):
        """The run's jit.compiler.Compiler, made (llvmlite loaded) on first use."""
        if self.compiler is None:
            from jit.compiler import Compiler
            self.compiler = Compiler(self.program, self.output, self.max_depth,
                                     self.tier_choice, self.stats, self.memcheck,
                                     self.stack_bytes, self.cache, self.profiled(), self.dump)
            self.compiler.cancelled = self._closed  # (if the run ended meanwhile)
            self.runtime = self.compiler.runtime
        return self.compiler

    def _run(self, job: Job) -> None:
        """Do a job's compile, on either thread, one at a time: the compiler
        (its inference, lowering and records) is not made for two threads
        at once. (A compile on the interpreter's thread may wait for the
        compiler thread's job under way.)"""
        start = time.perf_counter()  # (the wait, and loading the compiler, included)
        on_compiler_thread = self._thread is not None and _thread.get_ident() == self._thread.ident
        lent = self._lent
        if not on_compiler_thread:
            self._waiting = True
        with self._one_compile:
            self._waiting = False
            if self.compiler is None:
                _start_loading_llvm()
            from jit.compiler import Cancelled
            try:
                compiler = self.get_compiler()
                compiler.reason = job.reason
                compiler.pause = self._let_in if on_compiler_thread else None
                job.result = job.make(compiler)
            except Cancelled:
                pass
            except BaseException as e:  # a bug: raised on the interpreter's thread
                job.error = e
            job.seconds = time.perf_counter() - start - (self._lent - lent)  # (not the pauses)
            if self.compiler is not None:
                job.notes, self.compiler.notes = self.compiler.notes, []

    def _let_in(self) -> None:
        """Between LLVM's steps of a compile on the compiler thread: if the
        interpreter's thread waits to compile (its first-tier code, which
        it waits for), let it, and go on once it is done. llvmlite makes
        one call into LLVM at a time in the whole process, so without this
        it would wait for the whole optimizing compile (Towers: 110 ms);
        now for one step at most. The job in the pause sees the compiler
        between two of this job's modules' steps: its own lowering is done
        and its Compiled is made from what it lowered (Compiler.lowered)."""
        if not self._waiting:
            return
        compiler = self.compiler
        notes, compiler.notes = compiler.notes, []
        reason, began = compiler.reason, time.perf_counter()
        self._one_compile.release()
        while self._waiting:  # (until the other thread has the lock: it clears it)
            time.sleep(0.0001)
        self._one_compile.acquire()  # (once its compile is done)
        compiler.notes, compiler.reason, compiler.pause = notes, reason, self._let_in
        self._lent += time.perf_counter() - began

    def _compile_jobs(self) -> None:
        """The compiler thread: jobs in the order they were asked for."""
        while True:
            job = self._queue.get()
            if job is None:
                return
            if self._closed:
                continue  # (the run is over)
            interval = sys.getswitchinterval()
            sys.setswitchinterval(SWITCH_INTERVAL)
            try:
                self._run(job)
            finally:
                sys.setswitchinterval(interval)
            self._ready.append(job)

    def _install(self) -> None:
        """Switch to the code of the jobs the compiler thread has finished."""
        while self._ready:
            self._finish(self._ready.pop(0))

    def _finish(self, job: Job, queued: bool = True) -> None:
        self.compile_seconds[queued] += job.seconds
        if job.error is not None:
            raise job.error
        for note in job.notes:
            self._say(note)
        if job.result is not None:
            job.table[job.key] = job.result
            self.profiled().add(_call_line(job.key) if job.table is self.calls else
                                f"loop {job.key[0]} {job.key[1]}")
            if self.log and queued:
                self._say(f"INSTALL {job.result.name} ({NAMES[job.result.tier]}), "
                          f"{(time.perf_counter() - job.queued) * 1e3:.1f} ms after it was "
                          "queued")
        elif job.old is not None:
            job.old.upgrading = False  # (declined at the higher tier: keep what it has)

    def interrupt(self, ident: int) -> None:
        """Stop the run on thread `ident` (the interpreter's): raise
        Interrupted in it, or, while it compiles, when the compile is done."""
        if self._compiling.acquire(blocking=False):
            try:
                interrupts.raise_in(ident)
            finally:
                self._compiling.release()
        else:
            self._interrupted = True

    def close(self) -> None:
        """The run is over: no more compiles. A job under way stops before
        its LLVM part, and the compiler thread ends (LLVM must not be busy
        in it when the process exits)."""
        if self._thread is None or self._closed:
            return
        self._closed = True
        if self.compiler is not None:
            self.compiler.cancelled = True
        self._queue.put(None)
        self._thread.join()
        # (A run that goes on with this JIT, as a benchmark's warm runs do,
        # starts a new thread.)
        self._thread, self._closed = None, False
        if self.compiler is not None:
            self.compiler.cancelled = False

    def _say(self, text: str) -> None:
        if not self.log:
            return
        self.output.flush()  # the log interleaves with the program's output
        print(f"jit: {text}", file=self.log, flush=True)



def _start_loading_llvm() -> None:
    """Have a thread of its own map LLVM's shared library (llvmlite's, 180 MB)
    while this one imports the compiler's Python modules: the dynamic
    linker's ~30 ms need no GIL, the imports' ~40 ms do. llvmlite's own
    dlopen of the file then finds it loaded. (A failure here is left for
    llvmlite to report.)"""
    import ctypes
    import importlib.util

    spec = importlib.util.find_spec("llvmlite")
    if spec is None or not spec.submodule_search_locations:
        return
    from llvmlite.utils import get_library_name
    path = os.path.join(spec.submodule_search_locations[0], "binding", get_library_name())

    def load():
        try:
            ctypes.CDLL(path)
        except OSError:
            pass
    _thread.start_new_thread(load, ())


def _call_line(key) -> str:
    """A call's line in a profile: function key[0] was compiled for key[1]."""
    return f"call {key[0]} {','.join(key[1])}"


class _NoHints:
    """A profile not read yet, or none (no code cache): nothing compiled,
    nothing remembered."""

    calls = frozenset()

    def __contains__(self, line: str) -> bool:
        return False

    def add(self, line: str) -> None:
        pass


_NO_HINTS = _NoHints()
