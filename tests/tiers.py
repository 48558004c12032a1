"""The execution tiers every conformance program runs in.

Each tier is the extra `vmlab run` arguments that select it. A tier added by a
later issue (the JIT, the native interpreter) joins here and the whole suite
runs in it; `pytest --tier NAME` picks tiers.
"""

TIERS: dict[str, list[str]] = {
    "interp": [],
    "jit": ["--jit"],                               # compiles what gets hot
    "jit0": ["--jit", "--jit-threshold", "0"],      # compiles everything it can at once
    "jit0opt": ["--jit", "--jit-threshold", "0", "--jit-tiers", "optimized"],  # ... optimized
    "native": ["--interp", "native"],               # the loop compiled by numba
}

# Tiers whose conformance runs call the CLI in the test process: numba's
# start-up (~0.7 s) paid by each of ~320 processes would double the suite.
IN_PROCESS = {"native"}
