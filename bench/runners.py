"""Who runs a benchmark: vmlab's tiers and the peers, each as a command.

Every runner is timed as a whole process (start-up, compiling and all): the
only measure that is fair to all of them, and the one a user feels. A peer
whose tool is not installed (lua5.4, luajit) is left out, with the reason.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.native import c_binary
from bench.suite import HERE, Benchmark

Command = Callable[[Benchmark, int, Path], list[str]]


@dataclass(frozen=True)
class Runner:
    name: str
    label: str
    command: Command             # (benchmark, size, work directory) -> argv
    missing: Callable[[], str | None] = lambda: None  # why it cannot run here
    cached: bool = False         # its first run fills a cache (or compiles C): run it untimed first


def toy_file(b: Benchmark, n: int, work: Path) -> str:
    path = work / f"{b.name}-{n}.toy"
    if not path.exists():
        path.write_text(b.source(n))
    return str(path)


def vmlab(*flags: str) -> Command:
    return lambda b, n, work: [sys.executable, "-m", "vmlab", "run", *flags,
                               toy_file(b, n, work)]


def lua_file(b: Benchmark, flavour: str) -> str:
    """LuaJIT (Lua 5.1) has no integer operators: some programs need their own."""
    own = HERE / flavour / f"{b.name}.lua"
    return str(own if own.exists() else HERE / "lua" / f"{b.name}.lua")


def needs(tool: str) -> Callable[[], str | None]:
    return lambda: None if shutil.which(tool) else f"{tool} is not installed"


RUNNERS = [
    Runner("interp", "vmlab (Python interpreter)", vmlab()),
    Runner("native", "vmlab --interp native (numba)", vmlab("--interp", "native"), cached=True),
    # The JIT with its code cache warm (a directory of the measurement's
    # own, filled by an untimed first run), and with none.
    Runner("jit", "vmlab --jit (llvmlite)", lambda b, n, work: vmlab(
        "--jit", "--jit-cache", str(work / "jit-cache"))(b, n, work), cached=True),
    Runner("jitcold", "vmlab --jit, no code cache", vmlab("--jit", "--jit-cache", "off")),
    Runner("c", "C (cc -O2)", lambda b, n, work: [str(c_binary(b.name, shared=False)), str(n)],
           cached=True),  # (its first run compiles it)
    Runner("python", "CPython", lambda b, n, work: [sys.executable, "-m",
                                                    f"bench.python.{b.name}", str(n)]),
    Runner("numba", "Python + numba @njit", lambda b, n, work: [
        sys.executable, "-m", f"bench.python.{b.name}", str(n), "--numba"], cached=True),
    Runner("lua", "Lua 5.4", lambda b, n, work: ["lua5.4", lua_file(b, "lua"), str(n)],
           needs("lua5.4")),
    Runner("luajit", "LuaJIT", lambda b, n, work: ["luajit", lua_file(b, "luajit"), str(n)],
           needs("luajit")),
]
BY_NAME = {r.name: r for r in RUNNERS}
