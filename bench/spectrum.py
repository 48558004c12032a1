"""`vmlab bench --spectrum`: every way vmlab can run a program, from the most
portable to the least, timed as whole processes in the same interleaved
rounds (bench/harness.py), with the size of what each runs and where that
artefact can run, read from its format.

The rows: the .toyc file in the Python interpreter, in the native
interpreter and under the JIT (machine code made at run time, no code
cache); the wasm module under wasmtime; the host executable of `vmlab
build`, alone and in a container (Linux namespaces: no instruction is
converted); the aarch64 and riscv64 executables under qemu-user (every
instruction translated at run time); C -O2 as the limit. A row that cannot
run here is skipped with the reason.
"""

from __future__ import annotations

import dataclasses
import functools
import shutil
import subprocess
import sys
from pathlib import Path

from bench import suite
from bench.native import c_binary
from bench.runners import Runner, needs
from bench.suite import Benchmark

UNSHARE = ["unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount-proc",
           "--net", "--uts"]
_ELF_MACHINES = {62: "x86-64", 183: "aarch64", 243: "riscv64", 3: "x86", 40: "arm"}


# At full size the compiled rows run for a while (C: 0.25-0.6 s, the sizes of
# `python -m bench.native`), so that their speed shows, not their start-up;
# the Python interpreter would take minutes per program there, so it runs
# only when asked for (--tiers). At the quick sizes everything runs, and
# start-up dominates the compiled rows.
INTERP_AT_FULL = ("left out at full size, where it runs about 500x C (minutes per program): "
                  "--quick has it, or ask for it with --tiers")


def benchmarks(size: str) -> list[Benchmark]:
    """The programs bench.native compares with C, and the hello world; at
    full size, bench.native's sizes, whose expected output is the C twin's."""
    from bench.native import FULL, NAMES, expected
    chosen = [suite.BY_NAME[name] for name in NAMES] + [suite.BY_NAME["startup"]]
    if size != "full":
        return chosen
    return [b if b.name not in FULL else dataclasses.replace(
        b, sizes=(*b.sizes[:2], FULL[b.name]),
        expected={**b.expected, FULL[b.name]: expected(b.name, FULL[b.name]).strip()})
        for b in chosen]


def toyc(b: Benchmark, n: int, work: Path) -> Path:
    """The benchmark compiled to a .toyc file, once."""
    path = work / f"{b.name}-{n}.toyc"
    if not path.exists():
        from vmlab.toyc import dumps

        from lang import compile_source
        path.write_bytes(dumps(compile_source(b.source(n), f"{b.name}.toy")))
    return path


def built(target: str):
    """A command maker for the benchmark built for `target` (once)."""
    def artefact(b: Benchmark, n: int, work: Path) -> Path:
        from jit.build import TARGETS, build
        from vmlab.toyc import loads
        out = work / f"{b.name}-{n}-{target}{TARGETS[target].suffix}"
        if not out.exists():
            build(loads(toyc(b, n, work).read_bytes()), out, TARGETS[target])
        return out
    return artefact


def _target_missing(target: str, *tools: str):
    def why() -> str | None:
        from jit.build import TARGETS, BuildError
        try:
            TARGETS[target].compiler()
        except BuildError as e:
            return str(e)
        return next((f"{t} is not installed" for t in tools if not shutil.which(t)), None)
    return why


@functools.cache
def _container_missing() -> str | None:
    if not shutil.which("unshare"):
        return "unshare is not installed (Debian: util-linux)"
    done = subprocess.run(UNSHARE + ["true"], capture_output=True, text=True)
    if done.returncode != 0:
        return f"no user namespaces here: {done.stderr.strip()[:200]}"
    return _target_missing("x86-64")()


def _wasm_missing() -> str | None:
    try:
        import wasmtime  # noqa: F401
    except ImportError:
        return "wasmtime is not installed (pip install wasmtime)"
    return _target_missing("wasm32")()


def _vmlab(*flags: str):
    return lambda b, n, work: [sys.executable, "-m", "vmlab", "run", *flags,
                               str(toyc(b, n, work))]


HOST = "x86-64"
wasm, exe = built("wasm32"), built(HOST)
aarch64, riscv64 = built("aarch64"), built("riscv64")
RUNNERS = [
    Runner("interp", "Python interpreter (.toyc)", _vmlab()),
    Runner("native", "native interpreter (.toyc)", _vmlab("--interp", "native"), cached=True),
    Runner("wasm", "wasm module under wasmtime", lambda b, n, w: [
        sys.executable, "-m", "vmlab.wasi", str(wasm(b, n, w))], _wasm_missing, cached=True),
    Runner("jit", "vmlab run --jit (.toyc, no code cache)",
           _vmlab("--jit", "--jit-cache", "off")),
    # (Artefacts are built when a row's command is made, before its timing.)
    Runner("exe", "host executable (vmlab build)", lambda b, n, w: [str(exe(b, n, w))],
           _target_missing(HOST)),
    Runner("container", "host executable in a container", lambda b, n, w: [
        *UNSHARE, str(exe(b, n, w))], _container_missing),
    Runner("aarch64", "aarch64 executable under qemu", lambda b, n, w: [
        "qemu-aarch64", str(aarch64(b, n, w))], _target_missing("aarch64", "qemu-aarch64")),
    Runner("riscv64", "riscv64 executable under qemu", lambda b, n, w: [
        "qemu-riscv64", str(riscv64(b, n, w))], _target_missing("riscv64", "qemu-riscv64")),
    Runner("c", "C (cc -O2)", lambda b, n, w: [str(c_binary(b.name, shared=False)), str(n)],
           needs("cc"), cached=True),
]
BY_NAME = {r.name: r for r in RUNNERS}


def artefact(runner: str, b: Benchmark, n: int, work: Path) -> Path:
    """The file a row runs (made by then: each runner ran once)."""
    from bench.native import _build_dir
    makers = {"wasm": wasm, "exe": exe, "container": exe, "aarch64": aarch64,
              "riscv64": riscv64}
    if runner == "c":
        return _build_dir() / b.name
    return makers[runner](b, n, work) if runner in makers else toyc(b, n, work)


def artefacts(results, benchmarks: list[Benchmark], work: Path) -> dict:
    """Per benchmark and row: the artefact's size in bytes and where it runs."""
    found = {}
    for b in benchmarks:
        n = results.sizes[b.name]
        for runner in results.runners:
            path = artefact(runner, b, n, work)
            found.setdefault(b.name, {})[runner] = {
                "file": path.name, "bytes": path.stat().st_size, "runs_on": runs_on(path, runner)}
    return found


def tables(results, found: dict) -> list:
    """One rich table: for each program, each row's median time, its ratio
    to C, the artefact's size and where it runs; then the geometric means."""
    from rich.table import Table

    from bench import report
    t = Table(title=f"every way to run a program, most portable first ({results.size} sizes, "
                    "whole process, medians)")
    for column, justify in (("program", "left"), ("way", "left"), ("seconds", "right"),
                            ("x C", "right"), ("bytes", "right"), ("runs on", "left")):
        t.add_column(column, justify=justify)
    for b in results.sizes:
        for k, runner in enumerate(results.runners):
            ratio = report.ratio(results, b, runner)
            t.add_row(b if k == 0 else "", results.labels[runner],
                      f"{results.median(b, runner):.3f}",
                      "" if ratio is None else f"{ratio:.3g}",
                      f"{found[b][runner]['bytes']:,}", found[b][runner]["runs_on"],
                      end_section=k == len(results.runners) - 1)
    means = report.geomean_ratios(results)
    for runner in results.runners if means else ():
        t.add_row("geomean" if runner == results.runners[0] else "", results.labels[runner],
                  "", f"{means[runner]:.3g}", "", "", style="bold",
                  end_section=runner == results.runners[-1])
    for k, (runner, why) in enumerate(results.skipped.items()):
        t.add_row("skipped" if k == 0 else "", BY_NAME[runner].label, "", "", "", why)
    return [t]


def runs_on(path: Path, runner: str) -> str:
    """Where the artefact can run, from its format alone (the row says which
    vmlab tier reads a .toyc file)."""
    head = path.read_bytes()[:20]
    if head.startswith(b"TOYC"):
        needs_ = {"interp": "Python", "native": "numba", "jit": "llvmlite"}[runner]
        return f"any machine with vmlab ({needs_})"
    if head.startswith(b"\0asm"):
        return "any WebAssembly runtime with WASI"
    if head.startswith(b"\x7fELF"):
        machine = int.from_bytes(head[18:20], "little")
        return f"{_ELF_MACHINES.get(machine, f'ELF machine {machine}')} Linux only"
    return "unknown"
