"""What the native loop and its host share: the loop's registers, why it
returns, its error kinds, and the layout of its tables (no numba here: the
host may run the loop without importing it, vmlab/native/aot.py)."""

# Registers: the loop's state between calls.
# R_STOP: set from outside (vmlab.interrupts) to stop the run; R_STEPS: the
# instructions it may still execute (counted only in runs that count).
R_PC, R_FP, R_FUNC, R_DEPTH, R_HEAP, R_ARRAYS, R_FREE, R_ERR, R_E1, R_E2, R_E3, \
    R_NEED, R_STOP, R_STEPS = range(14)
REGISTERS = 14
# Why the loop returned.
DONE, PRINTING, ERROR, NEED_STACK, NEED_HEAP, STOPPED = range(6)
# What went wrong (R_ERR); R_E1.. hold the operands' tags (10 + the element
# tag for an array) or values.
TYPE_ERROR, DIVISION_BY_ZERO, INDEX_ERROR, NEGATIVE_LENGTH, TOO_LONG, STACK_OVERFLOW = \
    range(1, 7)
# The function table: four int64 per function; the array table: three per array.
F_START, F_ARITY, F_NLOCALS, F_FRAME = range(4)
A_KIND, A_OFF, A_LEN = range(3)
# The loop's arguments: nine flat int64 arrays, then the call-depth limit.
ARRAYS = 9
