"""The native interpreter: the same dispatch loop, compiled by numba.

It runs the bytecode of vmlab/native/encode.py over flat arrays: a value
stack of 64-bit payloads with a parallel array of type tags (frames keep
their locals at the bottom of their part of it, clox style), a frame stack,
an array heap and its table. It stops and returns a status whenever it needs
the host: to print a line (float formatting is Python's repr), to report an
error, or for more stack or heap; the host does that and calls it again,
and it continues where it stopped. Everything it does to values is the SPEC,
the same as vmlab.values, written for machine integers and floats.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vmlab.opcodes import (
    ABS, ADD, ARRAY, ARRAY_FILL, BIT_AND, BIT_NOT, BIT_OR, BIT_XOR, CALL, DIV, EQ,
    FOR_ITER, FOR_PREP, GE, GT, INDEX, JUMP, JUMP_IF_FALSE, JUMP_IF_TRUE, LE, LEN,
    LOAD_CONST, LOAD_LOCAL, LT, MOD, MUL, NE, NEG, NOT, POP, PRINT, RETURN, SHL, SHR,
    SQRT, STORE_INDEX, STORE_LOCAL, SUB, TO_FLOAT, TO_INT,
)
from vmlab.native.encode import ARRAY as T_ARRAY
from vmlab.native.encode import (
    BOOL, ELEM_BOOL, ELEM_FLOAT, ELEM_INT, FLOAT, FOR_STORE, FUSED_CONST, FUSED_LOCAL,
    INDEX_LL, INT, JUMP_FOR, LOCAL_LEFT, NIL, STORE_INDEX_LLK, STORE_INDEX_LLL, STORE_RESULT,
    THEN_BRANCH,
)
from vmlab.values import MAX_ARRAY_LENGTH

# Registers: the loop's state between calls.
# R_STOP: set from outside (vmlab.interrupts) to stop the run; R_STEPS: the
# instructions it may still execute (counted only when `counting`).
R_PC, R_SP, R_FP, R_FUNC, R_DEPTH, R_HEAP, R_ARRAYS, R_FREE, R_ERR, R_E1, R_E2, R_E3, \
    R_OP, R_NEED, R_STOP, R_STEPS = range(16)
REGISTERS = 16
# Why the loop returned.
DONE, PRINTING, ERROR, NEED_STACK, NEED_HEAP, STOPPED = range(6)
# What went wrong (R_ERR); R_E1.. hold the operands' tags or values.
TYPE_ERROR, DIVISION_BY_ZERO, INDEX_ERROR, NEGATIVE_LENGTH, TOO_LONG, STACK_OVERFLOW = \
    range(1, 7)

_TWO_63 = 9.223372036854775807e18


@njit(inline="always")
def _u(i):
    """An index as unsigned, for which numba emits no negative-index fix-up:
    every index here is nonnegative (the verifier checks the stack depth and
    the operands of every code object), so the fix-up (a shift, a mask and
    an add on every access, and the registers they hold) was dead weight,
    ~1.5x of the loop's time. Bounds, as in all numba code, are not checked."""
    return np.uint64(i)


@njit(inline="always")
def _allocate(heap, arr_kind, arr_off, arr_len, free_ids, regs, kind, n):
    """A new array's id, or -1 if the host must make room first."""
    top = regs[R_HEAP]
    if top + n > heap.shape[0]:
        return -1
    if regs[R_FREE] > 0:
        regs[R_FREE] -= 1
        ident = free_ids[regs[R_FREE]]
    elif regs[R_ARRAYS] < arr_kind.shape[0]:
        ident = regs[R_ARRAYS]
        regs[R_ARRAYS] += 1
    else:
        return -1
    arr_kind[ident] = kind
    arr_off[ident] = top
    arr_len[ident] = n
    regs[R_HEAP] = top + n
    return ident


@njit(cache=True, error_model="numpy", nogil=True)  # nogil: vmlab.interrupts' thread
def run(code, const_tag, const_val, fn_start, fn_arity, fn_nlocals, fn_frame,
        stack, tags, frames, heap, arr_kind, arr_off, arr_len, free_ids, regs,
        counts, calls, counting, max_depth):
    """Run from the registers' state until the host is needed; the status."""
    fstack = stack.view(np.float64)
    fheap = heap.view(np.float64)
    fconst = const_val.view(np.float64)
    pc, sp, fp = regs[R_PC], regs[R_SP], regs[R_FP]
    status = DONE
    while True:
        op = code[_u(2 * pc)]
        arg = code[_u(2 * pc + 1)]
        pc += 1
        if counting:
            counts[_u(op)] += 1
            regs[R_STEPS] -= 1
            if regs[R_STEPS] < 0:
                counts[_u(op)] -= 1
                pc -= 1
                status = STOPPED
                break
        if op <= GE and op >= ADD or op >= FUSED_CONST:  # the binary operators
            # a at `top`, b above it; or, fused (encode.py), b is the constant
            # or local this slot loaded and the operator is in the next slot.
            # With THEN_BRANCH, a comparison also runs the conditional jump after it.
            # With LOCAL_LEFT, this slot loads a from a local first; with
            # STORE_RESULT, the result goes to a local (the STORE_LOCAL after).
            # The flags are bits above the operator (encode.py): tested
            # independently, not peeled off one after another.
            branch = (op & THEN_BRANCH) != 0
            store = (op & STORE_RESULT) != 0
            if op & (FUSED_CONST | FUSED_LOCAL) == 0:  # both operands on the stack
                top = sp - 2
                tb, b, y = tags[_u(sp - 1)], stack[_u(sp - 1)], fstack[_u(sp - 1)]
            else:
                if op & LOCAL_LEFT:
                    left = fp + ((arg >> 32) & 0xFFFF)
                    tags[_u(sp)] = tags[_u(left)]
                    stack[_u(sp)] = stack[_u(left)]
                    sp += 1
                    pc += 1
                top = sp - 1
                right = arg & 0xFFFFFFFF
                if op & FUSED_LOCAL:
                    right += fp
                    tb, b, y = tags[_u(right)], stack[_u(right)], fstack[_u(right)]
                else:
                    tb, b, y = const_tag[_u(right)], const_val[_u(right)], fconst[_u(right)]
                pc += 1
            op &= FUSED_CONST - 1
            ta = tags[_u(top)]
            if ta == INT and tb == INT:
                a = stack[_u(top)]
                if op == ADD:
                    stack[_u(top)] = a + b
                elif op == SUB:
                    stack[_u(top)] = a - b
                elif op == LT:
                    tags[_u(top)] = BOOL
                    stack[_u(top)] = a < b
                elif op == MUL:
                    stack[_u(top)] = a * b
                elif op == DIV or op == MOD:
                    if b == 0:
                        regs[R_ERR] = DIVISION_BY_ZERO
                        status = ERROR
                        break
                    if b == -1:
                        stack[_u(top)] = -a if op == DIV else 0
                    elif op == DIV:
                        q = a // b  # floor; the SPEC truncates toward zero
                        if q < 0 and q * b != a:
                            q += 1
                        stack[_u(top)] = q
                    else:
                        r = a % b  # the sign of b; the SPEC wants a's
                        if r != 0 and (r < 0) != (a < 0):
                            r -= b
                        stack[_u(top)] = r
                elif op == SHL:
                    stack[_u(top)] = a << (b & 63)
                elif op == SHR:
                    stack[_u(top)] = a >> (b & 63)
                elif op == BIT_AND:
                    stack[_u(top)] = a & b
                elif op == BIT_OR:
                    stack[_u(top)] = a | b
                elif op == BIT_XOR:
                    stack[_u(top)] = a ^ b
                else:
                    tags[_u(top)] = BOOL
                    if op == EQ:
                        stack[_u(top)] = a == b
                    elif op == NE:
                        stack[_u(top)] = a != b
                    elif op == LE:
                        stack[_u(top)] = a <= b
                    elif op == GT:
                        stack[_u(top)] = a > b
                    else:
                        stack[_u(top)] = a >= b
            elif ta == FLOAT and tb == FLOAT and op <= MOD:
                x = fstack[_u(top)]
                if op == ADD:
                    fstack[_u(top)] = x + y
                elif op == SUB:
                    fstack[_u(top)] = x - y
                elif op == MUL:
                    fstack[_u(top)] = x * y
                elif op == DIV:
                    fstack[_u(top)] = x / y
                else:
                    fstack[_u(top)] = np.fmod(x, y)
            elif ta == FLOAT and tb == FLOAT and op >= EQ:
                x = fstack[_u(top)]
                tags[_u(top)] = BOOL
                if op == EQ:
                    stack[_u(top)] = x == y
                elif op == NE:
                    stack[_u(top)] = x != y
                elif op == LT:
                    stack[_u(top)] = x < y
                elif op == LE:
                    stack[_u(top)] = x <= y
                elif op == GT:
                    stack[_u(top)] = x > y
                else:
                    stack[_u(top)] = x >= y
            elif ta == tb and ta != FLOAT and ta != INT and (op == EQ or op == NE):
                same = ta == NIL or stack[_u(top)] == b  # bools, arrays by id
                tags[_u(top)] = BOOL
                stack[_u(top)] = same if op == EQ else not same
            else:
                regs[R_ERR] = TYPE_ERROR
                regs[R_E1] = ta
                regs[R_E2] = tb
                status = ERROR
                break
            sp = top + 1
            if branch:  # the JUMP_IF_FALSE or JUMP_IF_TRUE in the next slot
                sp = top
                if (stack[_u(top)] != 0) == (code[_u(2 * pc)] == JUMP_IF_TRUE):
                    pc = code[_u(2 * pc + 1)]
                else:
                    pc += 1
            elif store:  # the STORE_LOCAL in the next slot
                sp = top
                tags[_u(fp + (arg >> 48))] = tags[_u(top)]
                stack[_u(fp + (arg >> 48))] = stack[_u(top)]
                pc += 1
        elif op == LOAD_LOCAL:
            tags[_u(sp)] = tags[_u(fp + arg)]
            stack[_u(sp)] = stack[_u(fp + arg)]
            sp += 1
        elif op == LOAD_CONST:
            tags[_u(sp)] = const_tag[_u(arg)]
            stack[_u(sp)] = const_val[_u(arg)]
            sp += 1
        elif op == STORE_LOCAL:
            sp -= 1
            tags[_u(fp + arg)] = tags[_u(sp)]
            stack[_u(fp + arg)] = stack[_u(sp)]
        elif op == JUMP_IF_FALSE or op == JUMP_IF_TRUE:
            sp -= 1
            if tags[_u(sp)] != BOOL:
                regs[R_ERR] = TYPE_ERROR
                regs[R_E1] = tags[_u(sp)]
                sp += 1
                status = ERROR
                break
            if (stack[_u(sp)] != 0) == (op == JUMP_IF_TRUE):
                pc = arg
        elif op == JUMP:
            if arg < pc and regs[R_STOP] != 0:  # a loop's back-edge: stop if asked
                pc -= 1
                status = STOPPED
                break
            pc = arg
        elif op == FOR_ITER:
            i = stack[_u(sp - 2)]
            if i < stack[_u(sp - 1)]:
                stack[_u(sp - 2)] = i + 1
                tags[_u(sp)] = INT
                stack[_u(sp)] = i
                sp += 1
            else:
                sp -= 2
                pc = arg
        elif op == JUMP_FOR:  # a loop's JUMP back to a FOR_STORE, and that FOR_STORE
            if regs[R_STOP] != 0:
                pc -= 1
                status = STOPPED
                break
            i = stack[_u(sp - 2)]
            for_arg = code[_u(2 * arg + 1)]
            if i < stack[_u(sp - 1)]:
                stack[_u(sp - 2)] = i + 1
                tags[_u(fp + (for_arg >> 32))] = INT
                stack[_u(fp + (for_arg >> 32))] = i
                pc = arg + 2  # the loop body, after the FOR_STORE's two slots
            else:
                sp -= 2
                pc = for_arg & 0xFFFFFFFF
        elif op == FOR_STORE:  # FOR_ITER, and the STORE_LOCAL of the counter
            i = stack[_u(sp - 2)]
            if i < stack[_u(sp - 1)]:
                stack[_u(sp - 2)] = i + 1
                tags[_u(fp + (arg >> 32))] = INT
                stack[_u(fp + (arg >> 32))] = i
                pc += 1
            else:
                sp -= 2
                pc = arg & 0xFFFFFFFF
        elif op == CALL:
            if regs[R_STOP] != 0:  # (recursion without loops must stop too)
                pc -= 1
                if counting:
                    counts[_u(op)] -= 1
                status = STOPPED
                break
            if counting:  # (as the interpreter's counts: the call that overflows counts)
                calls[_u(arg)] += 1
            if regs[R_DEPTH] == max_depth:
                regs[R_ERR] = STACK_OVERFLOW
                status = ERROR
                break
            base = sp - fn_arity[_u(arg)]
            if base + fn_frame[_u(arg)] + 1 > stack.shape[0]:
                regs[R_NEED] = base + fn_frame[_u(arg)] + 1
                pc -= 1  # to run the CALL again once there is room
                if counting:
                    counts[_u(op)] -= 1
                    calls[_u(arg)] -= 1
                status = NEED_STACK
                break
            d = regs[R_DEPTH]
            frames[_u(3 * d)] = regs[R_FUNC]
            frames[_u(3 * d + 1)] = pc
            frames[_u(3 * d + 2)] = fp
            regs[R_DEPTH] = d + 1
            fp = base
            sp = base + fn_nlocals[_u(arg)]
            for k in range(base + fn_arity[_u(arg)], sp):
                tags[_u(k)] = NIL
            regs[R_FUNC] = arg
            pc = fn_start[_u(arg)]
        elif op == RETURN:
            d = regs[R_DEPTH]
            if d == 0:
                break  # the main code is done
            d -= 1
            tags[_u(fp)] = tags[_u(sp - 1)]
            stack[_u(fp)] = stack[_u(sp - 1)]
            sp = fp + 1
            regs[R_FUNC] = frames[_u(3 * d)]
            pc = frames[_u(3 * d + 1)]
            fp = frames[_u(3 * d + 2)]
            regs[R_DEPTH] = d
        elif op == INDEX or op == STORE_INDEX or op >= STORE_INDEX_LLK and op <= INDEX_LL:
            if op >= STORE_INDEX_LLK:  # fused (encode.py): the loads first
                left, right = fp + (arg & 0xFFFF), fp + ((arg >> 16) & 0xFFFF)
                tags[_u(sp)], stack[_u(sp)] = tags[_u(left)], stack[_u(left)]
                tags[_u(sp + 1)], stack[_u(sp + 1)] = tags[_u(right)], stack[_u(right)]
                if op == INDEX_LL:
                    op = INDEX
                    sp += 2
                    pc += 2
                else:
                    value = arg >> 32
                    if op == STORE_INDEX_LLL:
                        tags[_u(sp + 2)] = tags[_u(fp + value)]
                        stack[_u(sp + 2)] = stack[_u(fp + value)]
                    else:
                        tags[_u(sp + 2)] = const_tag[_u(value)]
                        stack[_u(sp + 2)] = const_val[_u(value)]
                    op = STORE_INDEX
                    sp += 3
                    pc += 3
            top = sp - 1 if op == INDEX else sp - 2
            ta, ti = tags[_u(top - 1)], tags[_u(top)]
            ident, i = stack[_u(top - 1)], stack[_u(top)]
            if ta != T_ARRAY or ti != INT:
                regs[R_ERR] = TYPE_ERROR
                regs[R_E1] = ta if ta != T_ARRAY else 10 + arr_kind[_u(ident)]
                regs[R_E2] = ti
                regs[R_E3] = tags[_u(sp - 1)]
                status = ERROR
                break
            n = arr_len[_u(ident)]
            if i < 0 or i >= n:
                regs[R_ERR] = INDEX_ERROR
                regs[R_E1] = i
                regs[R_E2] = n
                status = ERROR
                break
            kind = arr_kind[_u(ident)]
            at = arr_off[_u(ident)] + i
            if op == INDEX:
                if kind == ELEM_FLOAT:
                    tags[_u(sp - 2)] = FLOAT
                    fstack[_u(sp - 2)] = fheap[_u(at)]
                else:
                    tags[_u(sp - 2)] = INT if kind == ELEM_INT else BOOL
                    stack[_u(sp - 2)] = heap[_u(at)]
                sp -= 1
            else:
                tv = tags[_u(sp - 1)]
                want = INT if kind == ELEM_INT else FLOAT if kind == ELEM_FLOAT else BOOL
                if tv != want:
                    regs[R_ERR] = TYPE_ERROR
                    regs[R_E1] = 10 + kind
                    regs[R_E2] = INT
                    regs[R_E3] = tv
                    status = ERROR
                    break
                heap[_u(at)] = stack[_u(sp - 1)]
                sp -= 3
        elif op == POP:
            sp -= 1
        elif op >= NEG and op <= NOT or op >= LEN:  # one operand, one result
            t = tags[_u(sp - 1)]
            if op == NEG and t == INT:
                stack[_u(sp - 1)] = -stack[_u(sp - 1)]
            elif op == NEG and t == FLOAT:
                fstack[_u(sp - 1)] = -fstack[_u(sp - 1)]
            elif op == BIT_NOT and t == INT:
                stack[_u(sp - 1)] = ~stack[_u(sp - 1)]
            elif op == NOT and t == BOOL:
                stack[_u(sp - 1)] = 1 - stack[_u(sp - 1)]
            elif op == LEN and t == T_ARRAY:
                tags[_u(sp - 1)] = INT
                stack[_u(sp - 1)] = arr_len[_u(stack[sp - 1])]
            elif op == TO_FLOAT and (t == INT or t == FLOAT):
                if t == INT:
                    tags[_u(sp - 1)] = FLOAT
                    fstack[_u(sp - 1)] = float(stack[_u(sp - 1)])
            elif op == TO_INT and (t == INT or t == FLOAT):
                if t == FLOAT:
                    x = fstack[_u(sp - 1)]
                    tags[_u(sp - 1)] = INT
                    if x != x:
                        stack[_u(sp - 1)] = 0
                    elif x >= _TWO_63:
                        stack[_u(sp - 1)] = 9223372036854775807
                    elif x <= -_TWO_63:
                        stack[_u(sp - 1)] = -9223372036854775807 - 1
                    else:
                        stack[_u(sp - 1)] = int(x)
            elif op == SQRT and t == FLOAT:
                fstack[_u(sp - 1)] = np.sqrt(fstack[_u(sp - 1)])
            elif op == ABS and t == INT:
                if stack[_u(sp - 1)] < 0:
                    stack[_u(sp - 1)] = -stack[_u(sp - 1)]
            elif op == ABS and t == FLOAT:
                fstack[_u(sp - 1)] = abs(fstack[_u(sp - 1)])
            else:
                regs[R_ERR] = TYPE_ERROR
                regs[R_E1] = t if t != T_ARRAY else 10 + arr_kind[_u(stack[sp - 1])]
                status = ERROR
                break
        elif op == PRINT:
            status = PRINTING
            break
        elif op == FOR_PREP:
            if tags[_u(sp - 2)] != INT or tags[_u(sp - 1)] != INT:
                regs[R_ERR] = TYPE_ERROR
                regs[R_E1] = tags[_u(sp - 2)]
                regs[R_E2] = tags[_u(sp - 1)]
                status = ERROR
                break
        elif op == ARRAY_FILL or op == ARRAY:
            count = arg if op == ARRAY else 0
            tn = tags[_u(sp - 2)] if op == ARRAY_FILL else INT
            tv = tags[_u(sp - 1)]
            kind = ELEM_INT if tv == INT else ELEM_FLOAT if tv == FLOAT else ELEM_BOOL
            ok = tn == INT and (tv == INT or tv == FLOAT or tv == BOOL)
            if op == ARRAY:
                tv = tags[_u(sp - count)]
                kind = ELEM_INT if tv == INT else ELEM_FLOAT if tv == FLOAT else ELEM_BOOL
                ok = tv == INT or tv == FLOAT or tv == BOOL
                for k in range(sp - count, sp):
                    if tags[_u(k)] != tv:
                        ok = False
            if not ok:
                regs[R_ERR] = TYPE_ERROR
                regs[R_E1] = tn if op == ARRAY_FILL else tv
                regs[R_E2] = tv
                if op == ARRAY:  # the first element whose type differs
                    for k in range(sp - count, sp):
                        if tags[_u(k)] != tv:
                            regs[R_E2] = tags[_u(k)]
                            break
                status = ERROR
                break
            n = stack[_u(sp - 2)] if op == ARRAY_FILL else count
            if n < 0:
                regs[R_ERR] = NEGATIVE_LENGTH
                regs[R_E1] = n
                status = ERROR
                break
            if n > MAX_ARRAY_LENGTH:
                regs[R_ERR] = TOO_LONG
                regs[R_E1] = n
                status = ERROR
                break
            ident = _allocate(heap, arr_kind, arr_off, arr_len, free_ids, regs, kind, n)
            if ident < 0:
                regs[R_NEED] = n
                pc -= 1  # to run it again once there is room
                if counting:
                    counts[_u(op)] -= 1
                status = NEED_HEAP
                break
            at = arr_off[_u(ident)]
            if op == ARRAY_FILL:
                fill = stack[_u(sp - 1)]
                for k in range(n):
                    heap[_u(at + k)] = fill
                sp -= 1
            else:
                for k in range(n):
                    heap[_u(at + k)] = stack[_u(sp - count + k)]
                sp -= count - 1
            tags[_u(sp - 1)] = T_ARRAY
            stack[_u(sp - 1)] = ident
    regs[R_PC], regs[R_SP], regs[R_FP], regs[R_OP] = pc, sp, fp, code[_u(2 * max(pc - 1, 0))]
    return status


def _load_without_refresh(dispatcher) -> None:
    """Load the cached loop without refreshing numba's registries first.

    numba's cache loader refreshes all its typing and lowering registries
    before loading (~250 of them: 0.3 s of a 0.8 s start-up here), though
    cached machine code needs only numba's runtime (NRT). Compiling, on a
    cache miss, refreshes them itself. With numba internals other than
    those of the supported versions, numba's own loader stays."""
    try:
        from numba.core.runtime import rtsys
        cache = dispatcher._cache
        load, guard = cache._load_overload, cache._guard_against_spurious_io_errors
    except (ImportError, AttributeError):
        return

    def load_overload(sig, target_context):
        rtsys.initialize(target_context)
        with guard():
            return load(sig, target_context)
        return None  # (the guard swallowed an error: compile)
    cache.load_overload = load_overload


_load_without_refresh(run)
