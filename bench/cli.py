"""`vmlab bench`: a suite (bench/suite.py, run by bench/harness.py) or the
trade-off experiment (bench/tradeoff.py), with a progress bar, a table, JSON
and PNG files. vmlab/cli.py parses the arguments; this module checks the
names in them (so that `vmlab run` never imports the suite) and runs them."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench import harness, report, runners, suite


class UsageError(Exception):
    pass


def choose(names: list[str] | None, known: dict, what: str) -> list:
    if not names:
        return list(known.values())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"unknown {what} {', '.join(map(repr, unknown))} "
                         f"(there is: {', '.join(known)})")
    return [known[n] for n in dict.fromkeys(names)]


def split(values: list[str] | None) -> list[str] | None:
    """`--tiers jit,c --tiers lua` -> ['jit', 'c', 'lua']."""
    if values is None:
        return None
    return [v for value in values for v in value.split(",") if v]


def progress(total: int):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )
    bar = Progress(TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), transient=True)
    return bar, bar.add_task("", total=total)


def run(args, command: str) -> int:
    """Run `vmlab bench`; its exit status."""
    from rich.console import Console

    console = Console() if sys.stdout.isatty() else Console(width=160)
    [chosen_suite] = choose([args.suite], suite.SUITES, "suite")
    size = "quick" if args.quick else args.size
    programs = chosen_suite.benchmarks
    if args.spectrum and chosen_suite.name == "standard":
        from bench import spectrum
        programs = spectrum.benchmarks(size)
    benchmarks = choose(args.only, {b.name: b for b in programs}, "benchmark")
    if args.tradeoff is not None:
        if chosen_suite.name != "standard":
            raise UsageError("--tradeoff sweeps the standard suite's programs only")
        from bench import tradeoff
        return tradeoff.run(args, console, command)
    if args.spectrum:
        if chosen_suite.name != "standard":
            raise UsageError("--spectrum runs the standard suite's programs only")
        tiers = spectrum.BY_NAME
    else:
        tiers = runners.BY_NAME if chosen_suite.runners is None else \
            {name: runners.BY_NAME[name] for name in chosen_suite.runners}
    wanted = choose(split(args.tiers), tiers, "tier")
    skipped = {r.name: why for r in wanted if (why := r.missing())}
    if args.spectrum and size == "full" and args.tiers is None:
        skipped["interp"] = spectrum.INTERP_AT_FULL
    chosen = [r for r in wanted if r.name not in skipped]
    for name, why in skipped.items():
        console.print(f"[yellow]skipping {name}: {why}[/]")
    repeat = args.repeat or (3 if size != "full" else 5)
    total = harness.warmups(benchmarks, chosen) + repeat * len(benchmarks) * len(chosen)
    bar, task = progress(total)
    with tempfile.TemporaryDirectory(prefix="vmlab-bench-") as work:
        try:
            with bar:
                results = harness.measure(
                    benchmarks, chosen, size, repeat, skipped,
                    lambda label: bar.update(task, advance=1, description=label),
                    "spectrum" if args.spectrum else chosen_suite.name,
                    chosen_suite.unit, Path(work))
        except harness.WrongOutput as e:
            console.print(f"[bold red]vmlab bench: wrong output[/] {e}")
            return 1
        data = report.to_json(results, command)
        if args.spectrum:
            data["artefacts"] = spectrum.artefacts(results, benchmarks, Path(work))
    for t in (spectrum.tables(results, data["artefacts"]) if args.spectrum else
              report.tables(results)):
        console.print(t)
    report.write_json(data, Path(args.json))
    report.plot(results, Path(args.plot))
    console.print(f"samples: {args.json}   chart: {args.plot}")
    return 0

