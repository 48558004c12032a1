"""The reference interpreter: a loop that fetches, decodes and executes.

Read this file top to bottom to see a stack VM at work. Each frame has its own
operand stack and locals; calls push the caller's state on an explicit frame
stack instead of recursing in Python, so the toy call-depth limit, not
Python's, decides when recursion is too deep. What each opcode computes
(types, wrapping, errors) lives in `vmlab.values`; this loop only moves values
between the stack, the locals and those functions.

The order of the `if` chain is the order of frequency in typical programs:
CPython compares the opcode against each case in turn.

Tracing and statistics watch every instruction, yet cost nothing when they are
off: like clox's `#ifdef DEBUG_TRACE_EXECUTION`, they run a second build of
this same loop in which each block under `if False:  # OBSERVE` runs (the
plain build's compiler drops those blocks: only a NOP is left of each).
The JIT tier's build runs the `# JIT` blocks: its hooks count calls
and loop back-edges and enter native code (jit/tiering.py).
"""

from __future__ import annotations

import functools
import operator

from vmlab import values as v
from vmlab.code import Program
from vmlab.errors import ToyRuntimeError
from vmlab.opcodes import (
    ADD, ARRAY, ARRAY_FILL, CALL, EQ, FOR_ITER, FOR_PREP, GE, GT, INDEX, JUMP,
    JUMP_IF_FALSE, JUMP_IF_TRUE, LE, LOAD_CONST, LOAD_LOCAL, LT, NE, POP, PRINT,
    RETURN, STORE_INDEX, STORE_LOCAL, SUB,
)
from vmlab.output import Output

DEFAULT_MAX_DEPTH = 10_000  # active calls, not counting the main code

# What each opcode computes (vmlab.values): "pop b, a; push f(a, b)",
# "replace the top with f(top)". (ADD and SUB are also inline, for speed.)
BINARY, UNARY, COMPARISONS = v.BINARY, v.UNARY, v.COMPARISONS
# On two ints (the common case) a comparison needs no type check.
INT_COMPARISONS = {EQ: operator.eq, NE: operator.ne, LT: operator.lt, LE: operator.le,
                   GT: operator.gt, GE: operator.ge}

# Every opcode the loop below implements; a test checks it against the table.
HANDLED = {LOAD_CONST, LOAD_LOCAL, STORE_LOCAL, POP, JUMP, JUMP_IF_FALSE,
           JUMP_IF_TRUE, FOR_PREP, FOR_ITER, CALL, RETURN, PRINT, ARRAY,
           ARRAY_FILL, INDEX, STORE_INDEX} | BINARY.keys() | COMPARISONS.keys() | UNARY.keys()

INT_MIN, INT_MAX = v.INT_MIN, v.INT_MAX


def run(program: Program, output: Output, max_depth: int = DEFAULT_MAX_DEPTH,
        observer=None, jit=None) -> None:
    """Run a program's main code to its end.

    `observer(code, pc, stack, depth)`, if given, is called before each
    instruction is executed (the trace and the statistics are observers).
    `jit`, a jit.tiering.Tiering, runs hot code natively.
    Raises ToyRuntimeError, carrying the toy traceback, if the program fails.
    """
    features = tuple(name for name, on in (("OBSERVE", observer), ("JIT", jit)) if on)
    loop = _build(features) if features else _loop
    loop(program, output, max_depth, observer, jit)


@functools.cache
def _build(features: tuple[str, ...]):
    """`_loop` compiled again from this file with the `if False:  # OBSERVE`
    and `# JIT` blocks of `features` made `if True:`, and the others taken
    out. (The plain loop is `_loop` as Python compiles it: each dead block
    leaves a NOP, within the noise of the loop's time.)"""
    with open(__file__, encoding="utf-8") as f:
        lines = f.read().split("\n")
    dead = None  # the indentation of the block being taken out
    for i, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        if dead is not None and (indent > dead or not line.strip()):
            lines[i] = ""  # (blank: line numbers stay the file's)
            continue
        dead = None
        header = line.strip()
        if header.startswith("if False:  # ") and header.split()[3] in ("OBSERVE", "JIT"):
            if header.split()[3] in features:
                lines[i] = line.replace("if False:", "if True: ", 1)
            else:
                lines[i], dead = "", indent
    source = "\n".join(lines)
    name = "+".join(features)
    namespace = {"__name__": f"{__name__}[{name}]"}
    exec(_compiled(source, name), namespace)
    return namespace["_loop"]


def _compiled(source: str, name: str):
    """`source` compiled, or its code object as a file in __pycache__ keeps
    it, as Python keeps a module's (compiling takes ~2.5 ms of `vmlab run
    --jit`'s ~30): kept with the bytecode's version and the whole source,
    which must match. (No hashlib, importlib.util: ~5 ms each to import.)"""
    import marshal
    import os
    import sys
    from _frozen_importlib_external import MAGIC_NUMBER

    key = MAGIC_NUMBER + source.encode()
    path = os.path.join(os.path.dirname(__file__), "__pycache__",
                        f"interp.{sys.implementation.cache_tag}.{name}.pyc")
    try:
        with open(path, "rb") as f:
            data = f.read()
        if data.startswith(key):
            return marshal.loads(data[len(key):])
    except (OSError, ValueError, EOFError, TypeError):
        pass  # none yet, or not readable: compile
    code = compile(source, __file__, "exec")
    if not sys.dont_write_bytecode:
        try:  # (atomically: another process may be reading it)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            temporary = f"{path}.{os.getpid()}.tmp"
            with open(temporary, "wb") as f:
                f.write(key + marshal.dumps(code))
            os.replace(temporary, path)
        except OSError:
            pass  # a read-only installation: compile each time
    return code


def _loop(program: Program, output: Output, max_depth: int, observer, jit) -> None:
    if False:  # JIT (its build: True)
        INTERPRET = jit.INTERPRET  # (`call`'s "no native code": vmlab imports no jit)
    # Per function: what a call needs, unpacked in one step.
    calls = [(f, f.instrs, f.consts, f.arity, [None] * (f.nlocals - f.arity))
             for f in program.functions]
    code = program.main
    instrs, consts = code.instrs, code.consts
    local = [None] * code.nlocals  # this frame's variables, by slot
    stack: list = []               # this frame's operand stack
    frames: list = []  # the callers: (code, instrs, consts, pc, local, stack)
    pc = 0
    try:
        while True:
            op, arg = instrs[pc]   # fetch and decode
            if False:  # OBSERVE (its build: True)
                observer(code, pc, stack, len(frames))
            pc += 1
            if op == LOAD_LOCAL:
                stack.append(local[arg])
            elif op == LOAD_CONST:
                stack.append(consts[arg])
            elif op == STORE_LOCAL:
                local[arg] = stack.pop()
            elif op == CALL:
                if False:  # JIT (its build: True)
                    result = jit.call(arg, stack, len(frames))
                    if result is not INTERPRET:
                        stack.append(result)
                        continue
                if len(frames) == max_depth:
                    raise v.stack_overflow()
                frames.append((code, instrs, consts, pc, local, stack))
                code, instrs, consts, n, extra = calls[arg]
                if n:
                    local = stack[-n:]  # the arguments become locals 0..n-1
                    del stack[-n:]
                else:
                    local = []
                if extra:
                    local += extra
                stack = []
                pc = 0
            elif op == RETURN:
                if not frames:
                    return
                result = stack[-1]
                code, instrs, consts, pc, local, stack = frames.pop()
                stack.append(result)
            elif op == JUMP_IF_FALSE:
                cond = stack.pop()
                if cond is False:
                    pc = arg
                elif cond is not True:
                    raise v.condition_error(cond)
            elif op == ADD:
                b = stack.pop()
                a = stack[-1]
                if type(a) is int and type(b) is int:
                    r = a + b
                    stack[-1] = r if INT_MIN <= r <= INT_MAX else v.wrap(r)
                else:
                    stack[-1] = v.add(a, b)
            elif op == SUB:
                b = stack.pop()
                a = stack[-1]
                if type(a) is int and type(b) is int:
                    r = a - b
                    stack[-1] = r if INT_MIN <= r <= INT_MAX else v.wrap(r)
                else:
                    stack[-1] = v.sub(a, b)
            elif op in COMPARISONS:  # == != < <= > >=
                b = stack.pop()
                a = stack[-1]
                if type(a) is int and type(b) is int:
                    result = INT_COMPARISONS[op](a, b)
                else:
                    result = COMPARISONS[op](a, b)
                # A comparison is nearly always followed by JUMP_IF_FALSE: doing
                # that jump here saves a trip round the loop (CPython's
                # interpreter once did the same with its PREDICT macro).
                next_op, target = instrs[pc]
                if False:  # OBSERVE (its build: True)
                    next_op = None  # observers see the jump run on its own
                if next_op == JUMP_IF_FALSE:
                    stack.pop()
                    pc = pc + 1 if result else target
                else:
                    stack[-1] = result
            elif op == FOR_ITER:
                i = stack[-2]
                if i < stack[-1]:  # i, hi: both ints since FOR_PREP
                    stack[-2] = i + 1
                    stack.append(i)
                else:
                    del stack[-2:]
                    pc = arg
            elif op == JUMP:
                if False:  # JIT (its build: True)
                    if arg < pc:  # a loop's back-edge
                        native = jit.loop(code, arg, local, stack, len(frames))
                        if native is not None and native[0] == "exit":
                            pc = native[1]  # native code gave the frame back here
                            continue
                        if native is not None:  # native code ran the frame to its RETURN
                            if not frames:
                                return
                            code, instrs, consts, pc, local, stack = frames.pop()
                            stack.append(native[1])
                            continue
                pc = arg
            elif op in BINARY:
                b = stack.pop()
                stack[-1] = BINARY[op](stack[-1], b)
            elif op in UNARY:
                stack[-1] = UNARY[op](stack[-1])
            elif op == INDEX:
                i = stack.pop()
                stack[-1] = v.index(stack[-1], i)
            elif op == STORE_INDEX:
                item = stack.pop()
                i = stack.pop()
                v.store_index(stack.pop(), i, item)
            elif op == JUMP_IF_TRUE:
                cond = stack.pop()
                if cond is True:
                    pc = arg
                elif cond is not False:
                    raise v.condition_error(cond)
            elif op == POP:
                stack.pop()
            elif op == PRINT:
                items = stack[len(stack) - arg:]
                del stack[len(stack) - arg:]
                output.line(" ".join(map(v.format_value, items)))
            elif op == FOR_PREP:
                v.check_range(stack[-2], stack[-1])
            elif op == ARRAY:
                items = stack[len(stack) - arg:]
                del stack[len(stack) - arg:]
                stack.append(v.array_literal(items))
            elif op == ARRAY_FILL:
                fill = stack.pop()
                stack[-1] = v.array_fill(stack[-1], fill)
            else:
                raise AssertionError(f"unknown opcode {op}")  # the verifier prevents this
    except v.ToyError as error:
        trace = [(c.name, c.lines[p - 1]) for c, _, _, p, _, _ in frames]
        trace.append((code.name, code.lines[pc - 1]))
        if False:  # JIT (its build: True)
            trace = jit.traceback(error, trace)
        raise ToyRuntimeError(str(error), trace, program.source_name) from None
