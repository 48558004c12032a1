"""The native interpreter: the same interpreter, its loop compiled by numba.

It runs the register code of vmlab/native/encode.py over flat int64 arrays:
the value stack, one (payload, tag) pair per slot as Lua's TValues are (the
program's constants at its bottom, then the frames, each its locals and
then its stack entries, clox style), a frame stack, an array heap and its
table. It stops and returns a status whenever it needs the host: to print a
line (float formatting is Python's repr), to report an error, or for more
stack or heap; the host does that and calls it again, and it continues
where it stopped. Everything it does to values is the SPEC, the same as
vmlab.values, written for machine integers and floats.

Every register opcode has its own branch of one `if op == ...` chain, and
the 64 branches cover every value of the opcode's 6 bits: LLVM compiles
the chain to one jump table with no range test and copies the fetch, the
decode and the jump into the end of every branch, as computed goto does in
C (see _THREADING below). No second dispatch on operand kinds or flags.
Each operator tests its operands' tags for the common case (two ints, two
floats) first, as Lua's do. Few arrays, so that the pointers the loop keeps
fit in the CPU's registers.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from vmlab import opcodes as bytecode
from vmlab.native.encode import ARRAY, BOOL, FLOAT, INT, LOOP, NIL
from vmlab.native.layout import (  # noqa: F401 (the host's names, also here)
    A_KIND, A_LEN, A_OFF, ARRAYS, DIVISION_BY_ZERO, DONE, ERROR, F_ARITY, F_FRAME, F_NLOCALS,
    F_START, INDEX_ERROR, NEED_HEAP, NEED_STACK, NEGATIVE_LENGTH, PRINTING, R_ARRAYS, R_DEPTH,
    R_E1, R_E2, R_E3, R_ERR, R_FP, R_FREE, R_FUNC, R_HEAP, R_NEED, R_PC, R_STEPS, R_STOP,
    REGISTERS, STACK_OVERFLOW, STOPPED, TOO_LONG, TYPE_ERROR,
)
from vmlab.values import MAX_ARRAY_LENGTH

_TWO_63 = 9.223372036854775807e18


# Every index is an unsigned U(...): numba emits no negative-index fix-up for
# those. Every index here is nonnegative (the verifier checks the stack depth
# and the operands of every code object), so the fix-up (a shift, a mask and
# an add on every access, and the registers they hold) was dead weight, ~1.5x
# of the loop's time. Bounds, as in all numba code, are not checked. Slot s's
# payload is at 2 * s, its tag at 2 * s + 1; the frame pointer and the slot
# operands are kept doubled (encode.py), so an operand is its payload's
# index as it stands, and the tag's is one more. (A cast, not an
# inlined helper: numba inlines at the level of its own IR, at a cost in
# compile time for each of the hundreds of uses.)
U = np.uint64


@intrinsic
def _float(typingctx, bits):
    """The float64 whose bits a payload holds."""
    return types.float64(types.int64), \
        lambda context, builder, sig, args: builder.bitcast(args[0], context.get_value_type(types.float64))


@intrinsic
def _bits(typingctx, x):
    """A float64's bits, as a payload."""
    return types.int64(types.float64), \
        lambda context, builder, sig, args: builder.bitcast(args[0], context.get_value_type(types.int64))


def _float_pointer(context, builder, sig, args):
    """The address of int64 array args[0]'s item args[1], as a float64's."""
    array = context.make_array(sig.args[0])(context, builder, args[0])
    return builder.bitcast(builder.gep(array.data, [args[1]]),
                           context.get_value_type(types.float64).as_pointer())


@intrinsic
def _float_at(typingctx, array, i):
    """array[i]'s bits as a float64, loaded as one: straight into a float
    register, with no move from an integer one."""
    return types.float64(array, types.uint64), \
        lambda context, builder, sig, args: builder.load(_float_pointer(context, builder, sig, args))


@intrinsic
def _set_float(typingctx, array, i, x):
    """array[i] = the bits of float64 x, stored from its float register."""
    def codegen(context, builder, sig, args):
        builder.store(args[2], _float_pointer(context, builder, sig, args))
        return context.get_dummy_value()
    return types.none(array, types.uint64, types.float64), codegen


@intrinsic
def _truncating_div(typingctx, p, q):
    """p / q rounded toward zero, as the SPEC wants: the machine's division
    (LLVM's sdiv; Python's // rounds down). q is neither 0 nor -1."""
    return types.int64(types.int64, types.int64), \
        lambda context, builder, sig, args: builder.sdiv(*args)


@intrinsic
def _truncating_rem(typingctx, p, q):
    """p % q with the sign of p, as the SPEC wants (LLVM's srem)."""
    return types.int64(types.int64, types.int64), \
        lambda context, builder, sig, args: builder.srem(*args)


# The operators: (tag, payload) of b <op> c from the operands' tags and
# payloads, or a negative tag: -TYPE_ERROR, -DIVISION_BY_ZERO. Small, one per
# operator, so that each branch of the loop holds only its own.

@njit(inline="always")
def _div(tb, tc, p, q):
    if tb == INT and tc == INT:
        if q == 0:
            return -DIVISION_BY_ZERO, 0
        return INT, -p if q == -1 else _truncating_div(p, q)  # (MIN / -1 traps)
    if tb == FLOAT and tc == FLOAT:
        return FLOAT, _bits(_float(p) / _float(q))
    return -TYPE_ERROR, 0


@njit(inline="always")
def _mod(tb, tc, p, q):
    if tb == INT and tc == INT:
        if q == 0:
            return -DIVISION_BY_ZERO, 0
        return INT, 0 if q == -1 else _truncating_rem(p, q)
    if tb == FLOAT and tc == FLOAT:
        return FLOAT, _bits(np.fmod(_float(p), _float(q)))
    return -TYPE_ERROR, 0


@njit(inline="always")
def _shl(tb, tc, p, q):
    return (INT, p << (q & 63)) if tb == INT and tc == INT else (-TYPE_ERROR, 0)


@njit(inline="always")
def _shr(tb, tc, p, q):
    return (INT, p >> (q & 63)) if tb == INT and tc == INT else (-TYPE_ERROR, 0)


@njit(inline="always")
def _bit_and(tb, tc, p, q):
    return (INT, p & q) if tb == INT and tc == INT else (-TYPE_ERROR, 0)


@njit(inline="always")
def _bit_or(tb, tc, p, q):
    return (INT, p | q) if tb == INT and tc == INT else (-TYPE_ERROR, 0)


@njit(inline="always")
def _bit_xor(tb, tc, p, q):
    return (INT, p ^ q) if tb == INT and tc == INT else (-TYPE_ERROR, 0)


@njit(inline="always")
def _eq(tb, tc, p, q):
    if tb == FLOAT and tc == FLOAT:
        return BOOL, 1 if _float(p) == _float(q) else 0
    if tb == tc:  # ints, nil, bools, arrays by id
        return BOOL, 1 if tb == NIL or p == q else 0
    return -TYPE_ERROR, 0


@njit(inline="always")
def _ne(tb, tc, p, q):
    if tb == FLOAT and tc == FLOAT:
        return BOOL, 1 if _float(p) != _float(q) else 0
    if tb == tc:
        return BOOL, 0 if tb == NIL or p == q else 1
    return -TYPE_ERROR, 0


@njit(inline="always")
def _lt(tb, tc, p, q):
    if tb == INT and tc == INT:
        return BOOL, 1 if p < q else 0
    if tb == FLOAT and tc == FLOAT:
        return BOOL, 1 if _float(p) < _float(q) else 0
    return -TYPE_ERROR, 0


@njit(inline="always")
def _le(tb, tc, p, q):
    if tb == INT and tc == INT:
        return BOOL, 1 if p <= q else 0
    if tb == FLOAT and tc == FLOAT:
        return BOOL, 1 if _float(p) <= _float(q) else 0
    return -TYPE_ERROR, 0


@njit(inline="always")
def _gt(tb, tc, p, q):
    if tb == INT and tc == INT:
        return BOOL, 1 if p > q else 0
    if tb == FLOAT and tc == FLOAT:
        return BOOL, 1 if _float(p) > _float(q) else 0
    return -TYPE_ERROR, 0


@njit(inline="always")
def _ge(tb, tc, p, q):
    if tb == INT and tc == INT:
        return BOOL, 1 if p >= q else 0
    if tb == FLOAT and tc == FLOAT:
        return BOOL, 1 if _float(p) >= _float(q) else 0
    return -TYPE_ERROR, 0


@njit
def _rare(kind, t, p, tc, q):
    """(tag, payload) of <kind> b, or <kind>(b, c) for two operands: kind
    is a bytecode opcode, NEG or one that RARE runs (encode.py); the tag is
    -TYPE_ERROR if the operands' types do not allow it."""
    if kind == bytecode.NEG and t == INT:
        return INT, -p
    if kind == bytecode.NEG and t == FLOAT:
        return FLOAT, _bits(-_float(p))
    if kind == bytecode.BIT_NOT and t == INT:
        return INT, ~p
    if kind == bytecode.TO_FLOAT and t == INT:
        return FLOAT, _bits(float(p))
    if kind == bytecode.TO_FLOAT and t == FLOAT:
        return FLOAT, p
    if kind == bytecode.TO_INT and t == INT:
        return INT, p
    if kind == bytecode.TO_INT and t == FLOAT:
        y = _float(p)
        if y != y:
            return INT, 0
        if y >= _TWO_63:
            return INT, 9223372036854775807
        if y <= -_TWO_63:
            return INT, -9223372036854775807 - 1
        return INT, int(y)
    if kind == bytecode.SQRT and t == FLOAT:
        return FLOAT, _bits(np.sqrt(_float(p)))
    if kind == bytecode.ABS and t == INT:
        return INT, -p if p < 0 else p
    if kind == bytecode.ABS and t == FLOAT:
        return FLOAT, _bits(abs(_float(p)))
    if (kind == bytecode.MIN or kind == bytecode.MAX) and t == INT and tc == INT:
        return INT, p if (p <= q if kind == bytecode.MIN else p >= q) else q
    if (kind == bytecode.MIN or kind == bytecode.MAX) and t == FLOAT and tc == FLOAT:
        x, y = _float(p), _float(q)
        if x < y:
            return FLOAT, p if kind == bytecode.MIN else q
        if y < x:
            return FLOAT, q if kind == bytecode.MIN else p
        if x == y:  # 0.0 and -0.0: min has the sign bit of either, max of both
            return FLOAT, p | q if kind == bytecode.MIN else p & q
        return FLOAT, _bits(x + y)  # nan
    return -TYPE_ERROR, 0


@njit
def _fail(regs, kind, e1, e2, e3):
    """Report an error to the host: the ERROR status."""
    regs[R_ERR], regs[R_E1], regs[R_E2], regs[R_E3] = kind, e1, e2, e3
    return ERROR


@njit(inline="always")
def _tag(vals, table, s):
    """Slot s's tag, or 10 + the element tag if it holds an array (for
    messages that name the array's type)."""
    t = vals[U(s + 1)]
    return 10 + table[U(3 * vals[U(s)] + A_KIND)] if t == ARRAY else t


@njit
def _run_rare(vals, table, regs, a, b, c, kind):
    """a = <kind> b or <kind>(b, c) (see _rare): DONE, or ERROR."""
    t, r = _rare(kind, vals[U(b + 1)], vals[U(b)], vals[U(c + 1)], vals[U(c)])
    if t < 0:
        return _fail(regs, TYPE_ERROR, _tag(vals, table, b), _tag(vals, table, c), 0)
    vals[U(a)] = r
    vals[U(a + 1)] = t
    return DONE


@njit(inline="always")
def _allocate(heap, table, free_ids, regs, kind, n):
    """A new array's id, or -1 if the host must make room first."""
    top = regs[R_HEAP]
    if top + n > heap.shape[0]:
        return -1
    if regs[R_FREE] > 0:
        regs[R_FREE] -= 1
        ident = free_ids[regs[R_FREE]]
    elif 3 * regs[R_ARRAYS] < table.shape[0]:
        ident = regs[R_ARRAYS]
        regs[R_ARRAYS] += 1
    else:
        return -1
    table[U(3 * ident + A_KIND)] = kind
    table[U(3 * ident + A_OFF)] = top
    table[U(3 * ident + A_LEN)] = n
    regs[R_HEAP] = top + n
    return ident


@njit(inline="always")
def _store_index(vals, heap, table, regs, a, b, v):
    """a[b] = the value in slot v: DONE, or ERROR."""
    ta, ti, tv = vals[U(a + 1)], vals[U(b + 1)], vals[U(v + 1)]
    ident, i = vals[U(a)], vals[U(b)]
    if ta != ARRAY or ti != INT:
        return _fail(regs, TYPE_ERROR, ta if ta != ARRAY else
                     10 + table[U(3 * ident + A_KIND)], ti, tv)
    n = table[U(3 * ident + A_LEN)]
    if U(i) >= U(n):
        return _fail(regs, INDEX_ERROR, i, n, 0)
    if tv != table[U(3 * ident + A_KIND)]:
        return _fail(regs, TYPE_ERROR, 10 + table[U(3 * ident + A_KIND)], INT, tv)
    heap[U(table[U(3 * ident + A_OFF)] + i)] = vals[U(v)]
    return DONE


@njit
def _new_array(vals, heap, table, free_ids, regs, a, b, c, k, fill):
    """a = array(b, c) if `fill`, else [b, ..., b + k - 1]: DONE, or the
    status to stop with (ERROR, NEED_HEAP)."""
    if fill:
        tn, kind, n = vals[U(b + 1)], vals[U(c + 1)], vals[U(b)]
        ok = tn == INT and (kind == INT or kind == FLOAT or kind == BOOL)
        e2 = kind
    else:
        tn, kind, n = vals[U(b + 1)], vals[U(b + 1)], k
        ok = kind == INT or kind == FLOAT or kind == BOOL
        e2 = kind
        for s in range(b, b + 2 * k, 2):  # the first element whose type differs
            if vals[U(s + 1)] != kind:
                ok, e2 = False, vals[U(s + 1)]
                break
    if not ok:
        return _fail(regs, TYPE_ERROR, tn, e2, 0)
    if n < 0:
        return _fail(regs, NEGATIVE_LENGTH, n, 0, 0)
    if n > MAX_ARRAY_LENGTH:
        return _fail(regs, TOO_LONG, n, 0, 0)
    ident = _allocate(heap, table, free_ids, regs, kind, n)
    if ident < 0:
        regs[R_NEED] = n
        return NEED_HEAP
    at = table[U(3 * ident + A_OFF)]
    if fill:
        value = vals[U(c)]
        for s in range(n):
            heap[U(at + s)] = value
    else:
        for s in range(n):
            heap[U(at + s)] = vals[U(b + 2 * s)]
    vals[U(a)] = ident
    vals[U(a + 1)] = ARRAY
    return DONE


# The register opcodes, by the loop's numbers (encode.LOOP); the
# operators' own are in the branches _operator_branches writes.
MOVE, LOADK, NEG, NOT, RARE, JUMP, JUMP_IF_FALSE, JUMP_FOR, FOR_PREP, FOR_ITER, CALL, RETURN, \
    PRINT, MAKE_ARRAY, ARRAY_FILL, INDEX, STORE_INDEX, STORE_INDEX_K, LEN, COUNT = (
        LOOP[name] for name in """MOVE LOADK NEG NOT RARE JUMP JUMP_IF_FALSE JUMP_FOR
        FOR_PREP FOR_ITER CALL RETURN PRINT ARRAY ARRAY_FILL INDEX STORE_INDEX
        STORE_INDEX_K LEN COUNT""".split())


def run(code, fns, vals, frames, heap, table, free_ids, regs, counts, max_depth):
    """Run from the registers' state until the host is needed; the status.
    (As written here, without the operators' branches: see below.)"""
    pc, fp, func, depth = regs[R_PC], regs[R_FP], regs[R_FUNC], regs[R_DEPTH]
    status = DONE
    while True:
        w = code[U(2 * pc)]
        x = code[U(2 * pc + 1)]
        pc += 1
        op = w & 0x3F
        # Operands (encode.py): a, b and c are frame slots; k is c as an
        # absolute number (a constant's slot, a count, a function). Slots,
        # constants' slots and fp are doubled: indices of payloads.
        a = fp + ((w >> 16) & 0xFFFFFF)
        b = fp + ((w >> 40) & 0xFFFFFF)
        k = x & 0xFFFFFFFF
        c = fp + k
        target = x >> 32
        if max_depth < 0:  # (never: see _THREADING below)
            break
        if op == MOVE:
            vals[U(a)] = vals[U(b)]
            vals[U(a + 1)] = vals[U(b + 1)]
        elif op == LOADK:
            vals[U(a)] = vals[U(k)]
            vals[U(a + 1)] = vals[U(k + 1)]
        # OPERATORS: each binary operator's branches go here (_operator_branches)
        elif op == JUMP_FOR:  # a for loop's JUMP back, and its FOR_ITER
            if regs[R_STOP] != 0:
                pc -= 1
                status = STOPPED
                break
            i = vals[U(b)]
            if i < vals[U(b + 2)]:
                vals[U(b)] = i + 1
                vals[U(a)] = i
                vals[U(a + 1)] = INT
                pc = k
            else:
                pc = target
        elif op == FOR_ITER:  # the counter at b, its limit above it
            i = vals[U(b)]
            if i < vals[U(b + 2)]:
                vals[U(b)] = i + 1
                vals[U(a)] = i
                vals[U(a + 1)] = INT
            else:
                pc = target
        elif op == JUMP:
            if target < pc and regs[R_STOP] != 0:  # a loop's back-edge: stop if asked
                pc -= 1
                status = STOPPED
                break
            pc = target
        elif op == JUMP_IF_FALSE:  # (or true: the sense, bit 10)
            if vals[U(b + 1)] != BOOL:
                status = _fail(regs, TYPE_ERROR, vals[U(b + 1)], 0, 0)
                break
            if vals[U(b)] == (w >> 10) & 1:
                pc = target
        elif op == INDEX:  # a = b[c]
            ta, ti = vals[U(b + 1)], vals[U(c + 1)]
            ident, i = vals[U(b)], vals[U(c)]
            if ta != ARRAY or ti != INT:
                status = _fail(regs, TYPE_ERROR, ta if ta != ARRAY else
                               10 + table[U(3 * ident + A_KIND)], ti, 0)
                break
            n = table[U(3 * ident + A_LEN)]
            if U(i) >= U(n):
                status = _fail(regs, INDEX_ERROR, i, n, 0)
                break
            vals[U(a)] = heap[U(table[U(3 * ident + A_OFF)] + i)]
            vals[U(a + 1)] = table[U(3 * ident + A_KIND)]
        elif op == STORE_INDEX:  # a[b] = c
            status = _store_index(vals, heap, table, regs, a, b, c)
            if status != DONE:
                break
        elif op == STORE_INDEX_K:  # a[b] = k
            status = _store_index(vals, heap, table, regs, a, b, k)
            if status != DONE:
                break
        elif op == CALL:  # function k; its arguments from a on become its first locals
            if regs[R_STOP] != 0:  # (recursion without loops must stop too)
                pc -= 1
                status = STOPPED
                break
            if depth == max_depth:
                status = _fail(regs, STACK_OVERFLOW, 0, 0, 0)
                break
            if a + 2 * (fns[U(4 * k + F_FRAME)] + 1) > vals.shape[0]:
                regs[R_NEED] = a // 2 + fns[U(4 * k + F_FRAME)] + 1  # (slots)
                pc -= 1  # to run the CALL again once there is room
                status = NEED_STACK
                break
            frames[U(3 * depth)] = func
            frames[U(3 * depth + 1)] = pc
            frames[U(3 * depth + 2)] = fp
            depth += 1
            fp = a
            for s in range(a + 2 * fns[U(4 * k + F_ARITY)], a + 2 * fns[U(4 * k + F_NLOCALS)], 2):
                vals[U(s + 1)] = NIL
            func = k
            pc = fns[U(4 * k + F_START)]
        elif op == RETURN:
            if depth == 0:
                break  # the main code is done
            depth -= 1
            vals[U(fp)] = vals[U(b)]
            vals[U(fp + 1)] = vals[U(b + 1)]
            func = frames[U(3 * depth)]
            pc = frames[U(3 * depth + 1)]
            fp = frames[U(3 * depth + 2)]
        elif op == LEN:
            if vals[U(b + 1)] != ARRAY:
                status = _fail(regs, TYPE_ERROR, vals[U(b + 1)], 0, 0)
                break
            vals[U(a)] = table[U(3 * vals[U(b)] + A_LEN)]
            vals[U(a + 1)] = INT
        elif op == NOT:  # a = not b
            if vals[U(b + 1)] != BOOL:
                status = _fail(regs, TYPE_ERROR, _tag(vals, table, b), 0, 0)
                break
            vals[U(a)] = 1 - vals[U(b)]
            vals[U(a + 1)] = BOOL
        elif op == PRINT:
            status = PRINTING
            break
        elif op == COUNT:  # (runs that count: before each instruction, encode.py)
            if regs[R_STEPS] == 0:
                pc -= 1
                status = STOPPED
                break
            regs[R_STEPS] -= 1
            counts[U(k)] += 1
        elif op == FOR_PREP:
            if vals[U(b + 1)] != INT or vals[U(c + 1)] != INT:
                status = _fail(regs, TYPE_ERROR, vals[U(b + 1)], vals[U(c + 1)], 0)
                break
        elif op == NEG:  # a = -b
            status = _run_rare(vals, table, regs, a, b, b, bytecode.NEG)
            if status != DONE:
                break
        elif op == RARE:  # a = <target>(b[, c]): the rarer operators and builtins (encode.py)
            status = _run_rare(vals, table, regs, a, b, c, target)
            if status != DONE:
                break
        elif op == ARRAY_FILL:  # a = array(b, c)
            status = _new_array(vals, heap, table, free_ids, regs, a, b, c, 0, True)
            if status != DONE:
                pc -= status == NEED_HEAP  # to run it again once there is room
                break
        elif op == MAKE_ARRAY:  # a = [b, ..., b + k - 1]
            status = _new_array(vals, heap, table, free_ids, regs, a, b, c, k, False)
            if status != DONE:
                pc -= status == NEED_HEAP
                break
    regs[R_PC], regs[R_FP], regs[R_FUNC], regs[R_DEPTH] = pc, fp, func, depth
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


# The binary operators' branches, four forms each, differ only in the
# operator (its helper, or its symbol in those written out below) and where
# c comes from: `a = b <op> c`, `a = b <op> k`
# (the _K forms, k a constant's slot) and, for comparisons, the conditional
# jumps BRANCH_<cmp> and BRANCH_<cmp>_K (encode.py). They are written out
# from these templates into `run`'s `# OPERATORS` line when this module is
# imported (as vmlab/interp.py builds its observing loop), one branch per
# register opcode as before: numba compiles the result, and caches it by
# this file, which holds all of it.
_OPERATION = """\
        elif op == {number}:  # {name}
            t, r = _{helper}(vals[U(b + 1)], vals[U({c} + 1)], vals[U(b)], vals[U({c})])
            if t < 0:
                status = _fail(regs, -t, vals[U(b + 1)], vals[U({c} + 1)], 0)
                break
"""
_STORE = """\
            vals[U(a)] = r
            vals[U(a + 1)] = t
"""
_BRANCH = """\
            if r == (w >> 10) & 1:  # (the sense: bit 10)
                pc = target
"""


# + - * and the conditional jumps of < <= > >= have both common cases
# written out in their branches: two ints, and two floats loaded into float
# registers and stored from them (_float_at, _set_float) rather than moved
# through integer ones, which lengthened every float operation's chain of
# dependent instructions (docs/native.md, "Floats as floats").
_INT_OR_FLOAT = """\
        elif op == {number}:  # {name}
            tb, tc = vals[U(b + 1)], vals[U({c} + 1)]
            if tb == INT and tc == INT:
                {int_case}
            elif tb == FLOAT and tc == FLOAT:
                {float_case}
            else:
                status = _fail(regs, TYPE_ERROR, tb, tc, 0)
                break
"""
_ARITHMETIC = {"ADD": "+", "SUB": "-", "MUL": "*"}
_ORDERING = {"LT": "<", "LE": "<=", "GT": ">", "GE": ">="}
_CASES = {"": ("vals[U(a)] = vals[U(b)] {s} vals[U({c})]\n                vals[U(a + 1)] = INT",
               "_set_float(vals, U(a), _float_at(vals, U(b)) {s} _float_at(vals, U({c})))\n"
               "                vals[U(a + 1)] = FLOAT"),
          "BRANCH_": ("r = vals[U(b)] {s} vals[U({c})]",
                      "r = _float_at(vals, U(b)) {s} _float_at(vals, U({c}))")}


def _operator_branches() -> str:
    """The branches of every operator (vmlab.opcodes.ORDER_BINARY: its
    helper is its name in lower case; + - * and the ordering jumps are
    written out, _INT_OR_FLOAT), its _K form, and the comparisons' BRANCH
    forms."""
    branches = []
    for prefix, names, then in (("", bytecode.ORDER_BINARY, _STORE),
                                ("BRANCH_", bytecode.ORDER_BINARY[-6:], _BRANCH)):
        written_out = _ARITHMETIC if prefix == "" else _ORDERING
        for name in names:
            for suffix, c in (("", "c"), ("_K", "k")):
                number, full = LOOP[prefix + name + suffix], prefix + name + suffix
                if name in written_out:
                    int_case, float_case = (case.format(s=written_out[name], c=c)
                                            for case in _CASES[prefix])
                    branches.append(_INT_OR_FLOAT.format(
                        number=number, name=full, c=c, int_case=int_case, float_case=float_case)
                        + (_BRANCH if prefix else ""))
                else:
                    branches.append(_OPERATION.format(number=number, name=full,
                                                      helper=name.lower(), c=c) + then)
    return "".join(branches)


def _with_operators(template):
    """`template` compiled again with the operators' branches in it (line
    numbers kept up to them, for numba's messages), as a numba function."""
    import inspect
    lines, first = inspect.getsourcelines(template)
    marker = next(line for line in lines if line.lstrip().startswith("# OPERATORS:"))
    source = "\n" * (first - 1) + "".join(lines).replace(marker, _operator_branches())
    namespace = {}
    exec(compile(source, __file__, "exec"), globals(), namespace)
    function = namespace[template.__name__]
    function.__doc__ = template.__doc__
    # nogil: vmlab.interrupts' thread
    return njit(cache=True, error_model="numpy", nogil=True)(function)


run = _with_operators(run)
_load_without_refresh(run)

# How the dispatch compiles. The chain of `op == ...` tests above is one
# LLVM `switch`, and its 64 cases cover every value `w & 0x3F` can take:
# no range test before the jump table. Two things LLVM needs help with:
# - SimplifyCFG folds the chain into a switch, but stops adding cases once a
#   switch's block has 128 / (cases + 1) predecessors or more. The loop's
#   header has two (the entry and the back edge): 42 cases, the others in a
#   second switch behind a range test. The test of max_depth, which never
#   holds, gives the chain a block with one predecessor; loop unswitching
#   then moves the test out of the loop.
# - Tail duplication copies the block that fetches, decodes and jumps into
#   the end of every branch: each branch then has its own indirect jump,
#   which the CPU predicts from that branch's history (threaded code, as
#   computed goto gives Lua and CPython). LLVM (22 here) duplicates no
#   block with more than 16 predecessors and 16 successors, nor one ending in
#   an indirect jump of more than 20 instructions; these options lift that
#   while the loop compiles. docs/native.md has the figures.
# - Where each branch's code starts decides how the CPU's front end and
#   branch predictors see it: with branches packed end to end, an edit of one
#   moved the others and made collatz 25% slower (0.145 s to 0.18 s in
#   process) with the same instructions. Every block reached only by a jump
#   (each branch's start) is aligned to a 64-byte cache line, so that an
#   edit of one branch moves the others by whole lines, and so is the
#   function, so that the blocks' alignment holds wherever it is loaded
#   (numba's memory or the shared library).
_THREADING = {"tail-dup-pred-size": (1000, 16), "tail-dup-succ-size": (1000, 16),
              "tail-dup-indirect-size": (60, 20),  # (the loop's, LLVM's default)
              "align-all-nofallthru-blocks": (6, 0),  # (log2: 64 bytes; LLVM's: none)
              "align-all-functions": (6, 0)}  # (64 bytes: the blocks' alignment holds)
_ARRAY = types.Array(types.int64, 1, "C")
SIGNATURE = (_ARRAY,) * ARRAYS + (types.int64,)


def compiled():
    """The loop, compiled (with the options above) or loaded from numba's
    cache once per process; it takes only SIGNATURE's types, so that no
    call compiles it again without them."""
    if not run.signatures:
        from llvmlite import binding

        def options(which: int) -> None:
            for name, values in _THREADING.items():
                binding.set_option("vmlab", f"-{name}={values[which]}")
        options(0)
        try:
            run.compile(SIGNATURE)
        finally:
            options(1)
        run.disable_compile()
    return run
