"""The two tiers of machine code, as numbers and names (no llvmlite here:
the interpreter's JIT hooks need them before anything is compiled).

BASELINE compiles quickly: the IR's allocas become SSA values, calls to the
inline helpers are inlined, the rest is LLVM's -O0 code generator (fast
instruction selection and register allocation). OPTIMIZED is the standard
-O2 pipeline and code generator (jit.engine).
"""

BASELINE, OPTIMIZED = 1, 2
NAMES = {BASELINE: "baseline", OPTIMIZED: "optimized"}
# --jit-tiers: both, or one alone (to see what each gives)
CHOICES = {"both": (BASELINE, OPTIMIZED), "baseline": (BASELINE,), "optimized": (OPTIMIZED,)}
