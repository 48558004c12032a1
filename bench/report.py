"""What `vmlab bench` shows and keeps: a table of medians and one of ratios
to the suite's unit (C for the standard suite, the interpreter for the
polymorphic one) with their geometric means, the suite's goal if it has one,
a JSON file with every sample (and the machine and versions behind them),
and a PNG chart."""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
from importlib import metadata
from pathlib import Path

from bench.harness import Results
from bench.suite import SUITES

UNIT_NAMES = {"c": "the C program", "interp": "the interpreter"}
STARTUP = "startup"  # bench/programs/startup.toy: a hello world


def unit(results: Results) -> str | None:
    """The runner the ratios divide by, if it ran."""
    u = results.unit or SUITES[results.suite].unit
    return u if u in results.runners else None


def ratio(results: Results, bench: str, runner: str) -> float | None:
    u = unit(results)
    return None if u is None else results.median(bench, runner) / results.median(bench, u)


def work(results: Results) -> list[str]:
    """The benchmarks that measure work: all but `startup`, whose time is a
    tier's fixed cost and which the geometric means leave out."""
    return [b for b in results.sizes if b != STARTUP] or list(results.sizes)


def geomean_ratios(results: Results) -> dict[str, float]:
    if unit(results) is None:
        return {}
    return {r: statistics.geometric_mean([ratio(results, b, r) for b in work(results)])
            for r in results.runners}


def goal(results: Results) -> dict | None:
    """The suite's goal against this run's ratios (worst program, geometric
    mean, met or not), or None if it has none or its runners did not run."""
    g = SUITES[results.suite].goal if results.suite in SUITES else None
    if g is None or unit(results) is None or g.runner not in results.runners:
        return None
    ratios = {b: ratio(results, b, g.runner) for b in work(results)}
    worst = max(ratios, key=ratios.get)
    mean = statistics.geometric_mean(ratios.values())
    return {"runner": g.runner, "each": g.each, "geomean": g.geomean,
            "worst_program": worst, "worst_ratio": ratios[worst], "measured_geomean": mean,
            "met": ratios[worst] <= g.each and mean <= g.geomean}


def goal_line(results: Results) -> str | None:
    g = goal(results)
    if g is None:
        return None
    verdict = "[bold green]goal met[/]" if g["met"] else "[bold red]goal not met[/]"
    return (f"{verdict}: {g['runner']} at most {g['each']:g}x "
            f"{UNIT_NAMES.get(unit(results), unit(results))} on every program (worst: "
            f"{g['worst_ratio']:.3g}x, {g['worst_program']}) and {g['geomean']:g}x in "
            f"geometric mean ({g['measured_geomean']:.3g}x)")


def tables(results: Results) -> list:
    """Rich tables: median seconds per benchmark and runner; then the same as
    multiples of the unit's time, with their geometric means; then the goal."""
    from rich.table import Table

    def new(title: str) -> Table:
        t = Table(title=title)
        t.add_column("program")
        t.add_column("n", justify="right")
        for r in results.runners:
            t.add_column(r, justify="right")
        return t

    seconds = new(f"median seconds, whole process ({results.size} sizes)")
    for bench, n in results.sizes.items():
        seconds.add_row(bench, f"{n:,}", *[f"{results.median(bench, r):.3f}"
                                           for r in results.runners])
    u = unit(results)
    if u is None:
        return [seconds]
    ratios = new(f"times {UNIT_NAMES.get(u, u)} (lower is faster)")
    for bench, n in results.sizes.items():
        ratios.add_row(bench, f"{n:,}", *[f"{ratio(results, bench, r):.3g}"
                                          for r in results.runners])
    means = geomean_ratios(results)
    ratios.add_row("geomean", "", *[f"{means[r]:.3g}" for r in results.runners], style="bold")
    line = goal_line(results)
    return [seconds, ratios] + ([line] if line else [])


def _first_line(command: list[str]) -> str | None:
    """The first line a tool prints about itself (`cc --version`), if it exists."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else None


def machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"system": platform.platform(), "cpu": cpu, "cpus": os.cpu_count(),
            "python": platform.python_version()}


def versions() -> dict:
    found = {}
    for package in ("vmlab", "llvmlite", "numba", "lark", "numpy"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    found["cc"] = _first_line(["cc", "--version"])
    found["lua5.4"] = _first_line(["lua5.4", "-v"])
    found["luajit"] = _first_line(["luajit", "-v"])
    return found


def to_json(results: Results, command: str) -> dict:
    u = results.unit or SUITES[results.suite].unit
    return {
        "command": command,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(), "versions": versions(),
        "suite": results.suite,
        "size": results.size, "sizes": results.sizes,
        "runners": dict(results.labels),
        "skipped": results.skipped,
        "unit": "seconds, whole process",
        "samples": results.samples,
        "medians": {b: {r: results.median(b, r) for r in results.runners} for b in results.sizes},
        "ratios_to": u,  # the key below: ratios_to_c or ratios_to_interp
        f"ratios_to_{u}": {b: {r: ratio(results, b, r) for r in results.runners}
                           for b in results.sizes} if unit(results) else None,
        "goal": goal(results),
    }


def write_json(data: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")


def plot(results: Results, path: Path) -> None:
    """Grouped horizontal bars: each runner's median, relative to the unit when it ran."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    benches, runners = list(results.sizes), results.runners
    u = unit(results)
    relative = u is not None
    fig, ax = plt.subplots(figsize=(12, 0.55 * len(benches) * max(3, len(runners)) / 3 + 1.5))
    height = 0.8 / len(runners)
    colors = plt.get_cmap("tab10").colors
    for k, r in enumerate(runners):
        values = [ratio(results, b, r) if relative else results.median(b, r)
                  for b in benches]
        ys = [i + k * height for i in range(len(benches))]
        ax.barh(ys, values, height=height, label=results.labels.get(r, r), color=colors[k % 10])
        for y, value in zip(ys, values):
            ax.annotate(f"{value:.3g}" + ("x" if relative else " s"), (value, y),
                        xytext=(3, 0), textcoords="offset points", va="center",
                        fontsize="x-small")
    ax.set_xscale("log")
    ax.set_yticks([i + 0.4 - height / 2 for i in range(len(benches))],
                  [f"{b} ({results.sizes[b]:,})" for b in benches])
    ax.invert_yaxis()
    if relative:
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_xlabel(f"whole-process time as a multiple of {UNIT_NAMES.get(u, u)}'s "
                      "(log scale; shorter is faster)")
    else:
        ax.set_xlabel("whole-process seconds (log scale)")
    ax.set_title(f"vmlab bench, {results.suite} suite, {results.size} sizes: "
                 "medians of interleaved runs")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(data: dict) -> str:
    """The two tables of a `vmlab bench` JSON file in Markdown (docs/results.md)."""
    runners, sizes = list(data["runners"]), data["sizes"]
    u = data.get("ratios_to", "c")  # (files from before the polymorphic suite: C)
    to_unit = data[f"ratios_to_{u}"]
    head = ("| program | n | " + " | ".join(runners) + " |\n"
            + "|---|--:|" + "--:|" * len(runners) + "\n")
    seconds = head + "".join(
        f"| {b} | {n:,} | " + " | ".join(f"{data['medians'][b][r]:.3f}" for r in runners)
        + " |\n" for b, n in sizes.items())
    if not to_unit:
        return seconds
    ratios = head + "".join(
        f"| {b} | {n:,} | " + " | ".join(f"{to_unit[b][r]:.3g}" for r in runners)
        + " |\n" for b, n in sizes.items())
    means = {r: statistics.geometric_mean([to_unit[b][r] for b in sizes]) for r in runners}
    ratios += "| **geomean** | | " + " | ".join(f"**{means[r]:.3g}**" for r in runners) + " |\n"
    return (f"Median seconds, whole process:\n\n{seconds}\n"
            f"Times {UNIT_NAMES.get(u, u)}:\n\n{ratios}")


if __name__ == "__main__":
    import sys
    print(markdown(json.loads(Path(sys.argv[1]).read_text())))
