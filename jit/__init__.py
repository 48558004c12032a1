"""jit: bytecode to host machine code with llvmlite (the JIT tier).

Nothing here yet: the JIT tier is the issue "JIT tier". `vmlab run` without
`--jit` never imports this package.
"""
