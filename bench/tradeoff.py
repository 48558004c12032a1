"""`vmlab bench --tradeoff`: when does compiling pay for itself?

For each program, time against problem size for the Python interpreter, for
the JIT at its default threshold *including its compile time* (a fresh JIT
per run), and for the native interpreter; the break-even size is where the
JIT's curve crosses the interpreter's. A warm-up curve runs the same small
program again and again in one JIT and shows each run's time: interpreted
runs, the run that compiles, then native ones.

Everything is timed in this process, after the modules are imported and
numba's cache is loaded: start-up is the suite's business (`vmlab bench`),
this experiment isolates interpretation against compile plus native code.
Every run's output is checked against the C program's at the same size.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import native, report, suite

# Sizes to sweep (from "over before anything compiles" to "the JIT wins
# clearly"), and the size for the warm-up curve, per program.
LADDERS = {
    "fib": [6, 8, 10, 12, 14, 16, 18, 20, 22],
    "loop": [100, 300, 1000, 2000, 5000, 10_000, 30_000, 100_000],
    "mandel": [2, 3, 4, 6, 8, 12, 16, 24],
    "calls": [100, 300, 1000, 2000, 5000, 10_000, 30_000],
    "brief": [300, 1000, 1200, 2000, 4000, 8000, 16_000, 32_000],
}
WARMUP = {"fib": 12, "loop": 300, "mandel": 3, "calls": 200, "brief": 300}
WARMUP_RUNS = 30
TIERS = ("interp", "jit", "native")


@dataclass
class Curve:
    name: str
    sizes: list[int]
    seconds: dict[str, list[float]] = field(default_factory=dict)  # tier -> median per size
    compile_ms: list[float] = field(default_factory=list)          # JIT, per size
    break_even: float | None = None
    warmup: dict[str, list[float]] = field(default_factory=dict)   # tier -> seconds per run


class Timer:
    """Runs a program in one tier, in process, checking its output."""

    def __init__(self):
        from jit.tiering import DEFAULT_THRESHOLD, Tiering, run_program
        from vmlab.interp import run
        from vmlab.native.host import run as native_run
        from vmlab.output import Output
        self.Output, self.Tiering, self.threshold = Output, Tiering, DEFAULT_THRESHOLD
        self.run_interp, self.run_jit, self.run_native = run, run_program, native_run

    def once(self, tier: str, program, want: str, tiering=None) -> tuple[float, float]:
        """(seconds, compile ms) of one run; a fresh JIT unless `tiering` is given."""
        out = self.Output() if tiering is None else tiering.output
        before = len(out.getvalue())
        start = time.perf_counter()
        if tier == "interp":
            self.run_interp(program, out, 10_000)
        elif tier == "native":
            self.run_native(program, out, 10_000)
        else:
            tiering = tiering or self.Tiering(program, out, 10_000, self.threshold)
            compiled = tiering.compile_ms
            self.run_jit(program, out, 10_000, None, tiering)
        seconds = time.perf_counter() - start
        got = out.getvalue()[before:]
        if got != want:
            raise ValueError(f"{tier} printed {got!r}, expected {want!r}")
        ms = tiering.compile_ms - compiled if tier == "jit" else 0.0
        return seconds, ms


def crossing(sizes: list[int], slow: list[float], fast: list[float]) -> float | None:
    """The size where `fast` first becomes faster than `slow` for good
    (interpolated on log-log axes), or None if it never does or always is."""
    wins = [f < s for s, f in zip(slow, fast)]
    if all(wins) or not wins[-1]:
        return None
    i = max(k for k, w in enumerate(wins) if not w)  # the last size it loses
    x0, x1 = math.log(sizes[i]), math.log(sizes[i + 1])
    d0 = math.log(fast[i]) - math.log(slow[i])
    d1 = math.log(fast[i + 1]) - math.log(slow[i + 1])
    return math.exp(x0 + (x1 - x0) * d0 / (d0 - d1))


def measure(b: suite.Benchmark, timer: Timer, repeat: int, advance) -> Curve:
    from lang import compile_source

    curve = Curve(b.name, LADDERS[b.name])
    samples = {t: [[] for _ in curve.sizes] for t in TIERS}
    compiles = [[] for _ in curve.sizes]
    programs = [compile_source(b.source(n), f"{b.name}.toy") for n in curve.sizes]
    wants = [native.expected(b.name, n) for n in curve.sizes]
    timer.once("native", programs[0], wants[0])  # loads numba's cache
    timer.once("jit", programs[-1], wants[-1])     # initializes LLVM
    for _ in range(repeat):
        for k, (program, want) in enumerate(zip(programs, wants)):
            for tier in TIERS:
                advance(f"{b.name}({curve.sizes[k]}) {tier}")
                seconds, ms = timer.once(tier, program, want)
                samples[tier][k].append(seconds)
                if tier == "jit":
                    compiles[k].append(ms)
    curve.seconds = {t: [statistics.median(s) for s in samples[t]] for t in TIERS}
    curve.compile_ms = [statistics.median(c) for c in compiles]
    curve.break_even = crossing(curve.sizes, curve.seconds["interp"], curve.seconds["jit"])
    # The warm-up curve: one JIT, the same run again and again.
    n = WARMUP[b.name]
    program, want = compile_source(b.source(n), f"{b.name}.toy"), native.expected(b.name, n)
    tiering = timer.Tiering(program, timer.Output(), 10_000, timer.threshold)
    advance(f"{b.name} warm-up")
    curve.warmup["jit"] = [timer.once("jit", program, want, tiering)[0]
                           for _ in range(WARMUP_RUNS)]
    curve.warmup["interp"] = [timer.once("interp", program, want)[0]
                              for _ in range(WARMUP_RUNS)]
    return curve


def plot(curves: list[Curve], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(curves), 2, figsize=(11, 3.6 * len(curves)), squeeze=False)
    labels = {"interp": "Python interpreter", "jit": "JIT, compile time included",
              "native": "native interpreter (numba)"}
    colors = {"interp": "tab:blue", "jit": "tab:red", "native": "tab:green"}
    for (left, right), c in zip(axes, curves):
        for tier in TIERS:
            left.plot(c.sizes, c.seconds[tier], marker="o", label=labels[tier],
                      color=colors[tier])
        if c.break_even:
            left.axvline(c.break_even, color="black", linestyle="--", linewidth=1)
            left.annotate(f"break-even n = {c.break_even:,.0f}", (c.break_even, 0.05),
                          xycoords=("data", "axes fraction"), xytext=(4, 0),
                          textcoords="offset points", fontsize="small")
        left.set_xscale("log")
        left.set_yscale("log")
        left.set_xticks(c.sizes, [f"{n:,}" for n in c.sizes], rotation=45, fontsize="small")
        left.minorticks_off()
        left.set_xlabel(f"{c.name}: n")
        left.set_ylabel("seconds per run")
        left.set_title(f"{c.name}: time against size")
        left.grid(which="both", alpha=0.3)
        left.legend(fontsize="small")
        runs = range(1, WARMUP_RUNS + 1)
        right.plot(runs, [s * 1e3 for s in c.warmup["interp"]], marker=".",
                   label="interpreter", color=colors["interp"])
        right.plot(runs, [s * 1e3 for s in c.warmup["jit"]], marker=".",
                   label="JIT (tiers up)", color=colors["jit"])
        right.set_yscale("log")
        right.set_xlabel(f"run of {c.name}({WARMUP[c.name]}) in one process")
        right.set_ylabel("milliseconds")
        right.set_title(f"{c.name}: warm-up across the tier-up")
        right.grid(which="both", alpha=0.3)
        right.legend(fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def to_json(curves: list[Curve], repeat: int, command: str) -> dict:
    return {"command": command, "machine": report.machine(), "versions": report.versions(),
            "repeat": repeat, "unit": "seconds per run, in process (medians)",
            "threshold": "default",
            "programs": {c.name: {"sizes": c.sizes, "seconds": c.seconds,
                                  "jit_compile_ms": c.compile_ms, "break_even": c.break_even,
                                  "warmup_size": WARMUP[c.name], "warmup_seconds": c.warmup}
                         for c in curves}}


def run(args, console, command: str) -> int:
    from rich.table import Table

    from bench.cli import UsageError, progress

    names = [args.tradeoff] if args.tradeoff else list(LADDERS)
    unknown = [n for n in names if n not in LADDERS]
    if unknown:
        raise UsageError(f"no trade-off sweep for {unknown[0]!r} (there is: {', '.join(LADDERS)})")
    repeat = args.repeat or 3
    total = sum(len(LADDERS[n]) * len(TIERS) * repeat + 1 for n in names)
    bar, task = progress(total)
    timer = Timer()
    with bar:
        curves = [measure(suite.BY_NAME[n], timer, repeat,
                          lambda label: bar.update(task, advance=1, description=label))
                  for n in names]
    t = Table(title="break-even: the size from which the JIT (compile included) beats "
                    "the interpreter")
    for column in ("program", "break-even n", "sizes", "interp s at largest",
                   "JIT s at largest", "JIT compile ms"):
        t.add_column(column, justify="right")
    for c in curves:
        t.add_row(c.name, "none" if c.break_even is None else f"{c.break_even:,.0f}",
                  f"{c.sizes[0]:,}..{c.sizes[-1]:,}", f"{c.seconds['interp'][-1]:.4f}",
                  f"{c.seconds['jit'][-1]:.4f}", f"{c.compile_ms[-1]:.1f}")
    console.print(t)
    report.write_json(to_json(curves, repeat, command), Path(args.json))
    plot(curves, Path(args.plot))
    console.print(f"data: {args.json}   plots: {args.plot}")
    return 0
