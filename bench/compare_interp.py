"""Is the interpreter loop faster or slower than at an earlier commit?

    python -m bench.compare_interp REV [--rounds N]

Loads `vmlab/interp.py` as it was at git revision REV next to the current
one, runs the same programs with both, alternating round by round, and
prints the medians and their ratio (current / REV). The two loops share the
current runtime (values, code objects), so the ratio isolates the loop.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lang import compile_source
from vmlab import interp
from vmlab.output import Output

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = {
    "fib(22)": "fn fib(n) { if n < 2 { return n; } return fib(n - 1) + fib(n - 2); }\n"
               "print(fib(22));",
    "loops": "let s = 0; for i in 0..300000 { if i % 3 == 0 { s = s + i; } }\n"
             "let a = array(1000, 0); for k in 0..100 { for j in 0..1000 { a[j] = a[j] + k; } }\n"
             "print(s, a[999]);",
}


def load_interp_at(rev: str):
    source = subprocess.run(["git", "show", f"{rev}:vmlab/interp.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "interp.py"  # __file__ for its own observed build
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"interp_at_{rev}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare_interp")
    parser.add_argument("rev", help="the git revision to compare with")
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args(argv)
    old = load_interp_at(args.rev)
    for name, source in PROGRAMS.items():
        program = compile_source(source, name)
        times = {"current": [], args.rev: []}
        for _ in range(args.rounds):
            for label, module in (("current", interp), (args.rev, old)):
                out = Output()
                start = time.perf_counter()
                module.run(program, out)
                times[label].append(time.perf_counter() - start)
        now, then = (statistics.median(times[k]) for k in ("current", args.rev))
        print(f"{name:>8}: current {now * 1e3:7.1f} ms, {args.rev} {then * 1e3:7.1f} ms, "
              f"ratio {now / then:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
