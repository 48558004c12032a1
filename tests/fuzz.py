"""Fuzzing campaigns, run by hand (`make fuzz`) or bounded in CI (test_fuzz.py).

    python tests/fuzz.py programs N [--seed S]   generated programs, every tier
    python tests/fuzz.py sources N [--seed S]    mutated example sources, every tier
    python tests/fuzz.py toyc N [--seed S]       mutated .toyc files

programs: tests/program_gen.py writes terminating programs (every operator,
the edge values, arrays, calls, recursion up to the call limit, values whose
type changes, runtime errors); each runs in the interpreter, the JIT at
thresholds 0 (both tiers; the optimizing tier alone, with a code cache) and
2 (with the compiler thread; and tiering up inside loops after 3
iterations, on the compiler thread), the native interpreter and the
executable `vmlab build` makes, and stdout, the error and the exit status
must agree. A mismatch is shrunk on
the generator's choices and saved as a conformance program,
tests/conformance/regressions/fuzz_SEED_I.toy, with the interpreter's output:
from then on the whole suite checks it in every tier.

sources and toyc: mutants of the examples and benchmarks (byte edits, token
edits) or of their bytecode files go through the CLI's code path in every
tier, under --max-steps or --timeout: each must end in output, a one-line
error, or a stop. An internal error, a traceback, a crash (a dead worker
process) or a hang fails the campaign.

Work is spread over worker processes (one per core) that are replaced every
few hundred items: each JIT compile stays in its process's memory.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import functools
import io
import os
import random
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
sys.path[:0] = [str(TESTS), str(ROOT)]

REGRESSIONS = TESTS / "conformance" / "regressions"
CHUNK = 25          # items per task
TASKS_PER_WORKER = 8


# --- generated programs, every tier -------------------------------------------

class Choices:
    """The generator's choices: drawn from a seed and recorded, or replayed."""

    def __init__(self, rng: random.Random | None = None, replay: list[int] | None = None):
        self.rng, self.replay, self.made = rng, replay, []

    def __call__(self, n: int) -> int:
        if self.replay is not None:
            i = len(self.made)
            value = self.replay[i] % n if i < len(self.replay) else 0
        else:
            value = self.rng.randrange(n)
        self.made.append(value)
        return value


def generate(choices: Choices) -> str:
    from program_gen import Generator
    return Generator(choices).program()


_SCRATCH: str | None = None  # the campaign's directory, which it removes at the end


@functools.cache
def _scratch() -> str:
    """This process's scratch directory: in the campaign's (forked workers
    end without running atexit), or, called outside one, removed at exit."""
    import tempfile
    if _SCRATCH is not None:
        return tempfile.mkdtemp(prefix=f"worker-{os.getpid()}-", dir=_SCRATCH)
    import atexit
    import shutil
    path = tempfile.mkdtemp(prefix="vmlab-fuzz-")
    atexit.register(shutil.rmtree, path, True)
    return path


def _cache() -> str:
    """This worker's JIT code cache (the jit0opt tier runs with one)."""
    return os.path.join(_scratch(), "cache")


def outcome(source: str, tier: str) -> tuple[str, str | None]:
    """stdout and the rendered error (or None) of one run in one tier."""
    from unittest import mock

    from jit import tiering
    from lang import compile_source
    from vmlab.errors import ToyRuntimeError
    from vmlab.interp import run
    from vmlab.interrupts import Interrupted, Watch
    from vmlab.native.host import run as native_run
    from vmlab.output import Output

    program = compile_source(source, "gen.toy")
    if tier == "aot":
        return _built_outcome(program)
    out = Output()
    try:
        with Watch(PROGRAM_TIMEOUT):
            if tier == "native":
                native_run(program, out, 10_000)
            else:
                jit = None if tier == "interp" else tiering.Tiering(
                    program, out, 10_000, int(tier[3:].rstrip("optup")),
                    tiers="optimized" if tier.endswith("opt") else "both",
                    background=tier.startswith("jit2"), memcheck=True,
                    cache=_cache() if tier == "jit0opt" else None)
                # "up": from baseline to optimized code after a few iterations
                count = 3 if tier.endswith("up") else tiering.OPTIMIZE_COUNT
                with mock.patch.object(tiering, "OPTIMIZE_COUNT", count):
                    if jit is None:
                        run(program, out, 10_000)
                    else:  # (on the native stack the CLI gives it; with the memory check)
                        tiering.run_program(program, out, 10_000, None, jit)
    except ToyRuntimeError as e:
        return out.getvalue(), e.render()
    except Interrupted as e:  # a hang: a finding if not every tier hangs
        return out.getvalue(), e.reason
    return out.getvalue(), None


def _built_outcome(program) -> tuple[str, str | None]:
    """outcome() of the executable `vmlab build` makes for this machine."""
    import subprocess

    from jit.build import HOST, TARGETS, build
    path = os.path.join(_scratch(), "gen")
    build(program, Path(path), TARGETS[HOST])
    try:
        done = subprocess.run([path], capture_output=True, timeout=PROGRAM_TIMEOUT)
    except subprocess.TimeoutExpired:
        return "", "time limit"
    finally:
        os.unlink(path)
    if done.returncode not in (0, 1) or (done.returncode == 1) != bool(done.stderr):
        return done.stdout.decode(), f"exit status {done.returncode}: {done.stderr!r}"
    return done.stdout.decode("utf-8", "replace"), done.stderr.decode() or None


PROGRAM_TIERS = ["interp", "jit0", "jit0opt", "jit2", "jit2up", "native", "aot"]
PROGRAM_TIMEOUT = 60  # seconds: generated programs end in a few at most


def mismatch(source: str) -> str | None:
    """Where the tiers disagree, or None (also for a program that does not
    end in the interpreter: no verdict; shrinking can make such programs)."""
    expected = outcome(source, "interp")
    if expected[1] is not None and "time limit" in expected[1]:
        return None
    for tier in PROGRAM_TIERS[1:]:
        try:
            got = outcome(source, tier)
        except Exception as e:  # vmlab's own failure: a finding, shrunk and kept as any
            got = ("", f"internal error: {type(e).__name__}: {e}")
        if got != expected:
            return f"{tier}: {got!r}\ninterp: {expected!r}"
    return None


def shrink(replay: list[int], budget: int = 400) -> list[int]:
    """A shorter, simpler choice list whose program still shows a mismatch."""
    def fails(candidate):
        return mismatch(generate(Choices(replay=candidate))) is not None
    best, tries, step = list(replay), 0, len(replay) // 2
    while step >= 1 and tries < budget:
        i, improved = 0, False
        while i < len(best) and tries < budget:
            for candidate in (best[:i] + best[i + step:],
                              best[:i] + [0] * step + best[i + step:]):
                tries += 1
                if candidate != best and fails(candidate):
                    best, improved = candidate, True
                    break
            else:
                i += step
        if not improved:
            step //= 2
    return best


def save_regression(source: str, name: str) -> Path:
    out, error = outcome(source, "interp")
    REGRESSIONS.mkdir(exist_ok=True)
    path = REGRESSIONS / f"{name}.toy"
    path.write_text(source)
    path.with_suffix(".out").write_text(out)
    if error is not None:
        path.with_suffix(".err").write_text(error)
    return path


def programs_task(seed: int, start: int, count: int) -> dict:
    from vmlab.errors import CompileError

    counts = {"programs": 0, "errors": 0, "mismatches": []}
    for i in range(start, start + count):
        choices = Choices(random.Random(f"{seed}:{i}"))
        source = generate(choices)
        counts["programs"] += 1
        try:
            error = outcome(source, "interp")[1]
        except CompileError as e:  # the generator's fault, reported as such
            counts["mismatches"].append(f"seed {seed}:{i}: does not compile: {e}\n{source}")
            continue
        counts["errors"] += error is not None
        if error is not None and "time limit" in error:  # the generator's fault
            counts["mismatches"].append(f"seed {seed}:{i}: did not end\n{source}")
            continue
        found = mismatch(source)
        if found is not None:
            # (A tier that hangs would make every shrinking step take the time limit.)
            small = choices.made if "time limit" in found else shrink(choices.made)
            path = save_regression(generate(Choices(replay=small)), f"fuzz_{seed}_{i}")
            counts["mismatches"].append(f"{path}\n{mismatch(path.read_text())}")
    return counts


# --- mutated sources and .toyc files, every tier through the CLI --------------

VOCABULARY = ["fn", "let", "if", "else", "while", "for", "in", "return", "print", "true",
              "false", "nil", "and", "or", "not", "array", "len", "int", "float", "sqrt",
              "abs", "(", ")", "{", "}", "[", "]", ";", ",", "..", "=", "==", "!=", "<",
              "<=", ">", ">=", "+", "-", "*", "/", "%", "&", "|", "^", "~", "<<", ">>",
              "0", "1", "-1", "9223372036854775807", "9223372036854775808", "1e308",
              "0.0", "\"s\"", "x", "n", "fib", "\n", " ", "#", "\"", "\\", "\xff", "\0"]
# Every tier; the JIT at its default threshold (at threshold 0 it would
# spend most of the campaign compiling mutants that end at once). The native
# tier twice: counting steps (its plain encoding) and not (its register code).
CLI_TIERS = {"interp": ["--max-steps", "20000"], "native": ["--interp", "native",
             "--max-steps", "20000"], "jit": ["--jit", "--timeout", "2"],
             "native fused": ["--interp", "native", "--timeout", "2"]}


def seeds() -> list[Path]:
    return sorted((ROOT / "examples").glob("*.toy")) + sorted((ROOT / "bench" / "programs")
                                                              .glob("*.toy"))


def mutate_source(data: bytes, rng: random.Random) -> bytes:
    for _ in range(rng.choice([1, 1, 2, 3, 8])):
        i = rng.randrange(len(data) + 1)
        j = min(len(data), i + rng.choice([1, 1, 2, 5, 20, 200]))
        kind = rng.randrange(5)
        if kind == 0:    # delete a span
            data = data[:i] + data[j:]
        elif kind == 1:  # insert a token
            data = data[:i] + rng.choice(VOCABULARY).encode("utf-8", "surrogateescape") + data[i:]
        elif kind == 2:  # replace a span with a token
            data = data[:i] + rng.choice(VOCABULARY).encode() + data[j:]
        elif kind == 3:  # duplicate a span
            data = data[:j] + data[i:j] + data[j:]
        else:            # change one byte
            if data:
                k = rng.randrange(len(data))
                data = data[:k] + bytes([rng.randrange(256)]) + data[k + 1:]
    return data


def run_cli(path: Path, extra: list[str]) -> tuple[int, str]:
    """main() of `vmlab run` in this process: (status, stderr)."""
    from vmlab.cli import main
    err = io.StringIO()
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(err):
        status = main(["run", str(path), *extra])
    return status, err.getvalue()


def judge(path: Path, label: str) -> tuple[str, str | None]:
    """('ok' or 'stopped', None), or ('failure', what went wrong). A mutant
    the interpreter stops at its step limit would only spin in the JIT until
    its timeout: the JIT runs the ones that end."""
    verdict = "ok"
    for tier, extra in CLI_TIERS.items():
        if tier in ("jit", "native fused") and verdict == "stopped":
            continue
        status, err = run_cli(path, extra)
        clean = status in (0, 1) and "Traceback" not in err and "internal error" not in err
        if not clean:
            return "failure", f"{label} in {tier}: status {status}\n{err[-2000:]}"
        if "limit exceeded" in err:
            verdict = "stopped"
    return verdict, None


def mutants_task(kind: str, seed: int, start: int, count: int) -> dict:
    from lang import compile_source, decode_source
    from vmlab.toyc import dumps

    counts = {"ok": 0, "stopped": 0, "failures": []}
    work = Path(_scratch())
    originals, compiled = seeds(), {}
    for i in range(start, start + count):
        rng = random.Random(f"{kind}:{seed}:{i}")
        original = rng.choice(originals)
        if kind == "sources":
            data = mutate_source(original.read_bytes(), rng)
        else:
            from test_toyc import mutate_bytes, mutate_program
            if original not in compiled:
                compiled[original] = compile_source(decode_source(original.read_bytes()),
                                                    original.name)
            program = compiled[original]
            data = (mutate_bytes(dumps(program), rng) if rng.random() < 0.5
                    else mutate_program(program, rng))
        path = work / (f"m{i}.toy" if kind == "sources" else f"m{i}.toyc")
        path.write_bytes(data)
        verdict, failure = judge(path, f"{kind} {seed}:{i} (from {original.name})")
        if failure:
            saved = TESTS / "fuzz-failures"
            saved.mkdir(exist_ok=True)
            (saved / path.name).write_bytes(data)
            counts["failures"].append(failure)
        else:
            counts[verdict] += 1
        path.unlink()
    return counts


# --- the campaign ---------------------------------------------------------------

def campaign(kind: str, total: int, seed: int, workers: int | None = None,
             progress: bool = False) -> dict:
    """Run `total` items of `kind` over worker processes; the merged counts."""
    import multiprocessing
    import tempfile
    global _SCRATCH
    with tempfile.TemporaryDirectory(prefix="vmlab-fuzz-") as _SCRATCH:
        try:
            return _campaign(kind, total, seed, workers or os.cpu_count() or 1, progress,
                             multiprocessing.get_context("fork"))
        finally:
            _SCRATCH = None


def _campaign(kind, total, seed, workers, progress, context) -> dict:
    starts = range(0, total, CHUNK)
    merged: dict = {}
    pending, done = list(starts), 0
    while pending:  # fresh workers every TASKS_PER_WORKER chunks each (memory)
        batch, pending = pending[:workers * TASKS_PER_WORKER], pending[workers * TASKS_PER_WORKER:]
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = {pool.submit(_task, kind, seed, s, min(CHUNK, total - s)): s
                       for s in batch}
            broken, named = [], False
            for future in concurrent.futures.as_completed(futures):
                try:
                    counts = future.result()
                except concurrent.futures.process.BrokenProcessPool:
                    # (a worker died: every chunk not yet done fails with it)
                    s = futures[future]
                    counts = _alone(kind, seed, s, min(CHUNK, total - s), context)
                    broken.append(s)
                    named = named or any(DIED in f for f in counts.get("failures", ()))
                done += 1
                if progress:
                    print(f"\r{kind}: {min(done * CHUNK, total)}/{total}", end="",
                          file=sys.stderr, flush=True)
                _merge(merged, counts)
            if broken and not named:
                _merge(merged, {"failures": [
                    f"a worker died while {kind} {seed}:{min(broken)}-"
                    f"{min(max(broken) + CHUNK, total) - 1} were under way, and none of them "
                    "dies run again alone (a crash that depends on what ran before it?)"]})
    return merged


DIED = "the process running it died"


def _task(kind: str, seed: int, start: int, count: int) -> dict:
    if kind == "programs":
        return programs_task(seed, start, count)
    return mutants_task(kind, seed, start, count)


def _alone(kind: str, seed: int, start: int, count: int, context) -> dict:
    """A chunk that was under way when a worker died, again in a process of
    its own; if that dies too, each item in one, so that the report names
    the item that crashed (and, for a program, shows it)."""
    try:
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
            return pool.submit(_task, kind, seed, start, count).result()
    except concurrent.futures.process.BrokenProcessPool:
        if count > 1:
            merged: dict = {}
            for i in range(start, start + count):
                _merge(merged, _alone(kind, seed, i, 1, context))
            return merged
        shown = (f"\n{generate(Choices(random.Random(f'{seed}:{start}'))).rstrip()}"
                 if kind == "programs" else "")
        return {"failures": [f"{kind} {seed}:{start}: {DIED} (a crash in native code?){shown}"]}


def _merge(merged: dict, counts: dict) -> None:
    for key, value in counts.items():
        merged[key] = merged.get(key, 0 if isinstance(value, int) else []) + value


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tests/fuzz.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=["programs", "sources", "toyc"])
    parser.add_argument("count", type=int, nargs="?", default=1000)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--workers", type=int)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    counts = campaign(args.kind, args.count, args.seed, args.workers, progress=True)
    print(file=sys.stderr)
    seconds = time.perf_counter() - start
    problems = counts.pop("mismatches", []) + counts.pop("failures", [])
    summary = ", ".join(f"{value} {key}" for key, value in counts.items())
    print(f"{args.kind}, seed {args.seed}: {summary}; {len(problems)} problems; {seconds:.0f} s")
    for problem in problems[:10]:
        print(f"\n{problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
