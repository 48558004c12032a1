"""The native interpreter tier: vmlab's interpreter loop compiled by numba.

`run(program, output, max_depth, stats)` is vmlab.interp.run for this tier.
The loop (vmlab/native/loop.py) runs until it needs the host; the host here
prints, reports errors with the toy traceback, and grows the stack or the
array heap (collecting dead arrays first), then lets the loop go on.

numba compiles the loop once and caches the machine code on disk: in
$NUMBA_CACHE_DIR if set, else in ~/.cache/vmlab/numba (the package directory
may be read-only when vmlab is installed).
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "vmlab", "numba"))
