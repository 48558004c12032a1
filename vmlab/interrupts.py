"""Stopping a run from outside, in every tier: Ctrl-C and `--timeout`.

Python runs signal handlers only in the main thread, between bytecodes: a
run inside native code (JIT-compiled code, the numba loop) would not notice
them until it returned, which may be never. So native code polls a flag at
every loop back-edge and recursive call, and a watcher thread sets that flag
the moment a signal arrives: `signal.set_wakeup_fd` makes the C-level handler
write the signal's number into a pipe the thread is reading. In Python code
(the interpreter loop, the host's side of native tiers) the handler raises
`Interrupted` at once; inside a finalizer (`__del__`: llvmlite's objects
have them), where Python would only report it and the run would go on, the
handler asks for a SIGALRM 1 ms later and raises it then. `--timeout` is a
SIGALRM from `setitimer`, so both stops take the same path.
"""

from __future__ import annotations

import _thread  # (not threading: ~2 ms of every start-up)
import os
import _signal as signal  # (not signal: its enums cost ~1 ms of every start-up)


CTRL_C = "interrupted"  # the reason of a stop by SIGINT (the CLI exits 130 for it)


class Interrupted(BaseException):
    """The run was stopped from outside. (Not an Exception: nothing on the
    way up may mistake it for an error of the program or of vmlab.)"""

    def __init__(self, reason: str | None = None):
        reason = reason or (current and current.reason) or CTRL_C
        super().__init__(reason)
        self.reason = reason


def _in_finalizer(frame) -> bool:
    while frame is not None:
        if frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False


def step_limit(n: int) -> str:
    return f"step limit exceeded (--max-steps {n})"


def step_limiter(n: int, then=None):
    """An interpreter observer that stops the run after `n` instructions
    (and shows each to the observer `then`, if any)."""
    left = n

    def observe(code, pc, stack, depth):
        nonlocal left
        left -= 1
        if left < 0:
            raise Interrupted(step_limit(n))
        if then is not None:
            then(code, pc, stack, depth)
    return observe


class passed_on:
    """While a run goes on in another thread, a stop is passed on to it by
    `stop()` instead of raised in this one (the thread signals come to),
    which only waits for the run to end."""

    def __init__(self, stop):
        self.stop, self.watch = stop, current

    def __enter__(self) -> None:
        if self.watch is not None:
            self.watch.pass_on = self.stop

    def __exit__(self, *exc) -> None:
        if self.watch is not None:
            self.watch.pass_on = None


def raise_in(ident: int) -> None:
    """Raise Interrupted in another thread (by its ident) running Python code
    (its native code, if any, stops at its next poll: the flags are up
    already)."""
    import ctypes
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident),
                                               ctypes.py_object(Interrupted))


current: Watch | None = None  # the run being watched, for the native tiers


class Watch:
    """While active, Ctrl-C or the end of `timeout` seconds stops the run."""

    def __init__(self, timeout: float | None = None):
        self.timeout = timeout
        self.reason: str | None = None
        self.native = 0           # > 0 while native code runs (it polls the flags)
        self._flags: list = []    # functions that raise the native tiers' flags
        self.pass_on = None       # stops the run on another thread (passed_on)
        self._saved: list = []

    # --- for the tiers ---
    def add_flag(self, raise_flag) -> None:
        """Call `raise_flag()` when the run must stop (now, if it must already)."""
        self._flags.append(raise_flag)
        if self.reason:
            raise_flag()

    def check(self) -> None:
        """Raise Interrupted if a stop came while native code was running."""
        if self.reason:
            raise Interrupted(self.reason)

    # --- the mechanism ---
    def _stop(self, signum: int) -> None:
        if self.reason is None:
            self.reason = (CTRL_C if signum == signal.SIGINT else
                           f"time limit exceeded (--timeout {self.timeout:g})")
        for raise_flag in self._flags:
            raise_flag()

    def _handler(self, signum, frame) -> None:
        self._stop(signum)
        # Native code running (this is one of its callbacks) stops at its next
        # poll, and the tier raises Interrupted then; a run on another thread
        # is told (passed_on). In a finalizer, Python would only report it:
        # this handler runs again in 1 ms instead.
        if self.native:
            return
        if self.pass_on is not None:
            self.pass_on()
            return
        if _in_finalizer(frame):
            signal.setitimer(signal.ITIMER_REAL, 0.001)
            return
        raise Interrupted(self.reason)

    def _watch(self, read_end: int) -> None:
        try:
            while True:
                data = os.read(read_end, 1)
                if not data or data[0] == 0:  # closed, or __exit__'s wake-up
                    return
                self._stop(data[0])
        finally:
            self._done.release()

    def __enter__(self) -> Watch:
        global current
        current = self
        read_end, write_end = os.pipe()
        try:
            saved = [signal.signal(signal.SIGINT, self._handler)]
        except ValueError:  # not the main thread: signals are not ours to handle
            os.close(read_end)
            os.close(write_end)
            return self
        os.set_blocking(write_end, False)
        self._pipe = (read_end, write_end)
        self._saved = saved + [signal.signal(signal.SIGALRM, self._handler),
                               signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)]
        self._done = _thread.allocate_lock()
        self._done.acquire()
        _thread.start_new_thread(self._watch, (read_end,))
        if self.timeout:
            signal.setitimer(signal.ITIMER_REAL, self.timeout)
        current = self
        return self

    def __exit__(self, *exc) -> None:
        global current
        current = None
        if not self._saved:
            return
        signal.setitimer(signal.ITIMER_REAL, 0)
        sigint, sigalrm, wakeup = self._saved
        signal.set_wakeup_fd(wakeup)
        signal.signal(signal.SIGINT, sigint)
        signal.signal(signal.SIGALRM, sigalrm)
        read_end, write_end = self._pipe
        os.set_blocking(write_end, True)
        os.write(write_end, b"\0")
        self._done.acquire()  # the watcher has ended
        os.close(read_end)
        os.close(write_end)
