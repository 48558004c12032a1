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
    # ... with neither the compiler thread nor the code cache
    "jit0sync": ["--jit", "--jit-threshold", "0", "--jit-background", "off", "--jit-cache", "off"],
    "jitup": ["--jit", "--jit-threshold", "0"],     # ... and tiers up at once (TIER_ENV)
    "native": ["--interp", "native"],               # the loop compiled by numba
}

# The environment a tier runs in, beyond the JIT's memory check. (The JIT
# tiers' code cache is the test session's: conftest.py.)
TIER_ENV: dict[str, dict[str, str]] = {
    # Optimized code is compiled on the compiler thread after 3 calls and
    # loop iterations in baseline code, so that the switch happens mid-run.
    "jitup": {"VMLAB_JIT_OPTIMIZE_AFTER": "3"},
}

# Tiers whose conformance runs call the CLI in the test process: numba's
# start-up (~0.7 s) paid by each of ~320 processes would double the suite.
IN_PROCESS = {"native"}
