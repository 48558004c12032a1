"""vmlab: a lab for bytecode virtual machines and JIT compilation.

This package holds the bytecode format (opcode table, code objects), the
runtime (values, errors, output), the reference interpreter and the CLI.
"""

__version__ = "0.1.0"
