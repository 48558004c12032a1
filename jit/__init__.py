"""jit: bytecode to host machine code with llvmlite (the JIT tier).

`vmlab run` without `--jit` never imports this package. See docs/jit.md.
"""
