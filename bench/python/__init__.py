"""The benchmarks in plain Python: run by CPython, or with every function
compiled by numba's @njit (the same source, so both columns run the same
algorithm as the toy program).

    python -m bench.python.fib 30 [--numba]
"""

from __future__ import annotations

import inspect
import sys


def main(namespace: dict) -> None:
    """Print bench(n) for `python -m bench.python.NAME N [--numba]`."""
    if "--numba" in sys.argv:
        from numba import njit
        cache = namespace.get("NUMBA_CACHE", True)  # (a twin may say it cannot be cached)
        for name, value in list(namespace.items()):
            if inspect.isfunction(value) and value.__module__ == namespace["__name__"]:
                namespace[name] = njit(cache=cache)(value)
    print(namespace["bench"](int(sys.argv[1])))
