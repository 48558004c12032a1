"""vmlab: a lab for bytecode virtual machines and JIT compilation.

This package holds the bytecode format (opcode table, code objects), the
runtime (values, errors, output), the reference interpreter and the CLI.
"""

import time as _time

STARTED = _time.perf_counter()  # vmlab's first line: where `--stats` start-up begins

__version__ = "0.1.0"

__all__ = ["compile", "load", "ToyProgram", "Result", "Trace", "Listing", "CompileError",
           "ToyRuntimeError"]


def __getattr__(name):
    """The API (vmlab.api), imported on first use so that the CLI's start-up
    does not pay for it."""
    if name in __all__:
        from vmlab import api
        return getattr(api, name)
    raise AttributeError(f"module 'vmlab' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *__all__})
