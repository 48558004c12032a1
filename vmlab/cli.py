"""The `vmlab` command line.

Exit status: 0 for a normal run, 1 for a compile or runtime error in the toy
program or a run stopped by Ctrl-C, --timeout or --max-steps (as Lua does), 2
for a usage error (bad arguments, unreadable file), 70 for a bug in vmlab
itself (reported in one line; VMLAB_DEBUG=1 shows the traceback). Modules are
imported inside the commands that need them: `vmlab run` must start fast and
must never load llvmlite or numba.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys

from vmlab import __version__

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 70
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells and CPython give for Ctrl-C
MAX_DEPTH_LIMIT = (1 << 31) - 1  # (--max-depth: see _depth)


class Failure(Exception):
    """Ends the command: `text` goes to stderr, `status` is the exit status."""

    def __init__(self, text: str, status: int):
        super().__init__(text)
        self.text, self.status = text, status


def usage_error(message: str) -> Failure:
    return Failure(f"vmlab: error: {message}\n", EXIT_USAGE)


def read_source(path: str) -> tuple[bytes, str]:
    """The bytes of a program file (`-` is stdin) and the name errors use."""
    if path == "-":
        return sys.stdin.buffer.read(), "<stdin>"
    try:
        with open(path, "rb") as f:
            return f.read(), path
    except OSError as e:
        raise usage_error(f"cannot read '{path}': {e.strerror or e}") from None


def load_program(path: str):
    """Compile a source file or load a .toyc file, or fail with the error."""
    data, name = read_source(path)
    if data.startswith(b"TOYC"):  # vmlab.toyc.MAGIC, seen without importing it (start-up)
        from vmlab.toyc import BytecodeError, loads
        try:
            return loads(data)
        except BytecodeError as e:
            raise Failure(f"error: invalid bytecode: {e}\n", EXIT_ERROR) from None

    from lang import compile_source, decode_source
    from vmlab.errors import CompileError
    source = data.decode("utf-8", "replace")
    try:
        source = decode_source(data)
        return compile_source(source, name)
    except CompileError as e:
        raise Failure(e.render(name, source), EXIT_ERROR) from None


def check_function(program, name: str | None) -> None:
    if name is not None and program.function(name) is None:
        names = ", ".join(["<main>"] + [f.name for f in program.functions])
        raise usage_error(f"no function '{name}' in {program.source_name} "
                          f"(there is: {names})")


def execute(program, args, make_observer=None, stats=None) -> int:
    """Run a program with stdout as its output; fail with a runtime error.

    `make_observer(output)`, if given, returns the interpreter observer;
    `stats`, if given, counts the run (and sees the JIT's work)."""
    from vmlab.errors import ToyRuntimeError
    from vmlab.interrupts import CTRL_C, Interrupted, Watch, step_limiter
    from vmlab.output import Output

    output = Output(sys.stdout.buffer, line_buffered=sys.stdout.isatty())
    if getattr(args, "interp", "python") == "native":
        from vmlab.native.host import loop
        from vmlab.native.host import run as native_run
        loop()  # (built or loaded before the run: --timeout times the program)

        def runner():
            native_run(program, output, args.max_depth, stats, args.max_steps)
    else:
        from vmlab.interp import run
        observer = make_observer(output) if make_observer else None
        jit = None
        if getattr(args, "jit", False):
            from jit.tiering import DEFAULT_THRESHOLD, Tiering, run_program
            threshold = DEFAULT_THRESHOLD if args.jit_threshold is None else args.jit_threshold
            jit = _tiering(Tiering, program, output, args.max_depth, threshold,
                           sys.stderr if args.jit_log else None, args.jit_tiers or "both",
                           background=args.jit_background != "off",
                           cache=True if args.jit_cache is None else
                           None if args.jit_cache == "off" else args.jit_cache,
                           dump=args.jit_dump)
            run = run_program  # noqa: F811 (the interpreter, on a stack native code fits)
        if stats is not None:
            stats.jit, observer = jit, stats.observer()
        if args.max_steps is not None:
            observer = step_limiter(args.max_steps, observer)

        def runner():
            run(program, output, args.max_depth, observer, jit)
    try:
        with Watch(args.timeout):
            if stats is None:
                runner()
            else:
                with stats.timing():
                    runner()
    except ToyRuntimeError as e:
        raise Failure(e.render(), EXIT_ERROR) from None
    except Interrupted as e:  # Ctrl-C (130), --timeout, --max-steps (1: limits it was given)
        raise Failure(f"error: {e.reason}\n",
                      EXIT_INTERRUPTED if e.reason == CTRL_C else EXIT_ERROR) from None
    finally:
        output.flush()  # all output printed before an error comes first
    return EXIT_OK


JIT_OPTIONS = ("jit_threshold", "jit_tiers", "jit_background", "jit_cache", "jit_dump",
               "jit_log")


def _tiering(make, *args, **options):
    """The run's Tiering; a --jit-dump directory it cannot make is a usage error."""
    try:
        return make(*args, **options)
    except OSError as e:
        raise usage_error(f"cannot write to --jit-dump {options['dump']}: "
                          f"{e.strerror or e}") from None


def cmd_run(args) -> int:
    if args.jit and args.max_steps is not None:
        raise usage_error("--max-steps counts instructions as an interpreter runs them; "
                          "the JIT's native code does not (use it without --jit)")
    if args.jit and args.interp == "native":
        raise usage_error("--jit works with the Python interpreter only: it tiers up from "
                          "that loop's counters (use --interp native or --jit, not both)")
    given = [f"--{name.replace('_', '-')}" for name in JIT_OPTIONS
             if getattr(args, name) not in (None, False)]
    if given and not args.jit:
        raise usage_error(f"{given[0]} is an option of the JIT: add --jit (or drop it)")
    import time

    from vmlab import STARTED
    front_end = time.perf_counter()
    program = load_program(args.file)
    if not (args.stats or args.stats_json):
        return execute(program, args)

    from vmlab.stats import Stats
    stats = Stats(program, "jit" if args.jit else "native" if args.interp == "native"
                  else "interp")
    stats.startup, stats.front_end = front_end - STARTED, time.perf_counter() - front_end
    try:
        return execute(program, args, stats=stats)
    finally:
        report_stats(stats, args)


def report_stats(stats, args) -> None:
    if args.stats:
        sys.stderr.write(stats.render())
    if args.stats_json:
        import json
        try:
            with open(args.stats_json, "w") as f:
                json.dump(stats.to_json(), f, indent=2)
                f.write("\n")
        except OSError as e:
            raise usage_error(f"cannot write '{args.stats_json}': {e.strerror or e}") from None


def cmd_trace(args) -> int:
    from vmlab.trace import Tracer

    program = load_program(args.file)
    check_function(program, args.fn)
    return execute(program, args,
                   lambda output: Tracer(program, output, args.limit, args.fn).observer())


def cmd_dis(args) -> int:
    from vmlab.disasm import disassemble

    program = load_program(args.file)
    check_function(program, args.fn)
    sys.stdout.write(disassemble(program, args.fn))
    return EXIT_OK


def cmd_explore(args) -> int:
    import os

    from lang import decode_source
    from vmlab import explore
    from vmlab.errors import CompileError

    data, name = read_source(args.file)
    if data.startswith(b"TOYC"):
        raise usage_error("explore shows a program's source: give the .toy file")
    name = os.path.basename(name) if name != "<stdin>" else "program.toy"
    try:
        source = decode_source(data)
    except CompileError as e:
        raise Failure(e.render(name, data.decode("utf-8", "replace")), EXIT_ERROR) from None
    if args.export:
        try:
            with open(args.export, "w") as f:
                f.write(explore.export(source, name))
        except OSError as e:
            raise usage_error(f"cannot write '{args.export}': {e.strerror or e}") from None
        print(f"wrote {args.export}: the views of {name}, no server needed")
        return EXIT_OK
    try:
        server = explore.Server(source, name, args.port)
    except OSError as e:
        raise usage_error(f"cannot listen on 127.0.0.1:{args.port}: {e.strerror or e}") from None
    print(f"vmlab explore: {server.url}  (Ctrl-C stops it)", flush=True)
    if not args.no_browser:
        import webbrowser
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return EXIT_OK


def cmd_cache(args) -> int:
    from pathlib import Path

    from jit import codecache
    directory = Path(args.dir) if args.dir else codecache.default_directory()
    if args.action == "clear":
        print(f"removed {codecache.clear(directory)} file(s) from {directory}")
        return EXIT_OK
    found = codecache.info(directory)
    print(f"{found['directory']}: {found['entries']} entries, {found['bytes']:,} bytes")
    for host, n in sorted(found["hosts"].items()):
        print(f"  {n:>6}  {host[:150]}")
    return EXIT_OK


def cmd_compile(args) -> int:
    from vmlab.toyc import BytecodeError, dumps
    from vmlab.verify import verify

    program = load_program(args.file)
    out = args.output or (os.path.splitext(args.file)[0] + ".toyc"
                          if args.file != "-" else "stdin.toyc")
    try:
        verify(program)  # never write a file that would not load
        data = dumps(program)
    except BytecodeError as e:
        raise Failure(f"error: the program does not fit the .toyc format: {e}\n",
                      EXIT_ERROR) from None
    try:
        with open(out, "wb") as f:
            f.write(data)
    except OSError as e:
        raise usage_error(f"cannot write '{out}': {e.strerror or e}") from None
    return EXIT_OK


def cmd_build(args) -> int:
    from pathlib import Path

    from jit.build import HOST, TARGETS, BuildError, build

    program = load_program(args.file)
    name = args.target or HOST
    target = TARGETS.get(name)
    if target is None:
        raise usage_error(f"unknown target '{name}' (targets: {', '.join(TARGETS)})")
    stem = os.path.splitext(os.path.basename(args.file))[0] if args.file != "-" else "stdin"
    suffix = target.suffix if args.emit == "exe" else "." + {"obj": "o", "asm": "s",
                                                             "llvm": "ll"}[args.emit]
    out = args.output or stem + suffix
    try:
        build(program, Path(out), target, args.emit, args.max_depth)
    except BuildError as e:
        raise Failure(f"error: {e}\n", EXIT_ERROR) from None
    except OSError as e:
        raise usage_error(f"cannot write '{out}': {e.strerror or e}") from None
    return EXIT_OK


def _inspected(args, comment: str):
    """(program, function name, argument types, a header) for `ir` and
    `asm`: the header's lines, starting with `comment`, say where the types
    came from and which tier it is."""
    program = load_program(args.file)
    check_function(program, args.fn)
    code = program.function(args.fn)
    if args.args:
        types, source = tuple(t.strip() for t in args.args.split(",") if t.strip()), None
    elif args.profile and code.arity:
        from jit.inspect import PROFILE_SECONDS, observed_types
        seen = observed_types(program, args.fn)
        if seen is None:
            raise Failure(f"error: {args.fn} was not called in a run of the program (at most "
                          f"{PROFILE_SECONDS:g} s): give its types with --args\n", EXIT_ERROR)
        types, source = seen[0], f"as in a run of the program ({seen[1]:,} calls had them)"
    else:
        types = ("int",) * code.arity
        source = "guessed: all int (--args TYPES, or --profile to take them from a run)"
    allowed = {"int", "float", "bool", "nil", "array<int>", "array<float>", "array<bool>"}
    bad = [t for t in types if t not in allowed]
    if bad:
        raise usage_error(f"unknown type '{bad[0]}' in --args (types: "
                          f"{', '.join(sorted(allowed))})")
    if len(types) != code.arity:
        raise usage_error(f"{args.fn} takes {code.arity} argument(s), --args gave {len(types)}")
    default = " (the default; --tier baseline: the first tier)" if args.tier == "optimized" \
        else ""
    header = f"{comment} {args.fn}({', '.join(types)}), {args.tier} tier{default}\n"
    if source and code.arity:
        header += f"{comment} argument types {source}\n"
    return program, args.fn, types, header


def cmd_ir(args) -> int:
    from jit import inspect
    from jit.infer import Decline

    program, name, types, header = _inspected(args, ";")
    try:
        sys.stdout.write(header + inspect.ir(program, name, types, args.opt,
                                             not args.unoptimized, args.tier))
    except Decline as e:
        raise Failure(f"error: {e}\n", EXIT_ERROR) from None
    return EXIT_OK


def cmd_asm(args) -> int:
    from jit import inspect
    from jit.infer import Decline

    names = ", ".join([*inspect.TARGETS, inspect.HOST, "all"])
    if "list" in (args.target or []):
        for name, triple in inspect.TARGETS.items():
            print(f"{name:<10}{triple}")
        print(f"{inspect.HOST:<10}this machine (the default)\n{'all':<10}the four above\n"
              "Or any LLVM triple arch-vendor-os[-env] of an architecture llvmlite's LLVM "
              "has (e.g. armv7-unknown-linux-gnueabihf); several: comma-separated or "
              "--target again.")
        return EXIT_OK
    if args.file is None or args.fn is None:
        raise usage_error("asm needs FILE and --fn NAME (or --target list)")
    try:
        chosen = inspect.targets(args.target or [inspect.HOST])
    except ValueError as e:
        raise usage_error(f"unknown --target '{e}' (targets: {names}; or an LLVM triple "
                          "arch-vendor-os: vmlab asm --target list)") from None
    program, name, types, header = _inspected(args, "#")
    try:
        if len(chosen) == 1:
            text = inspect.asm(program, name, types, args.opt, chosen[0][1], args.tier)
        else:
            text = inspect.cross(program, name, types, args.opt, chosen, args.tier)
    except Decline as e:
        raise Failure(f"error: {e}\n", EXIT_ERROR) from None
    sys.stdout.write(header + text)
    return EXIT_OK


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'")
    return value


def _depth(text: str) -> int:
    """--max-depth: compiled code keeps a call's depth in 32 bits
    (jit.lower.pack_depth_site)."""
    value = _positive(text)
    if value > MAX_DEPTH_LIMIT:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_DEPTH_LIMIT:,}, got '{text}'")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < 1e9:  # (also not NaN)
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got '{text}'")
    return value


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter without its `import shutil`, which with the
    compression modules it pulls in costs ~3 ms of every start-up."""

    def __init__(self, prog):
        try:
            width = int(os.environ.get("COLUMNS") or os.get_terminal_size().columns)
        except (OSError, ValueError):
            width = 80
        super().__init__(prog, width=width - 2)


# vmlab speaks English; argparse's gettext lookups of its own phrases cost a
# few file-system probes each, ~3 ms of every start-up.
argparse._ = argparse.ngettext = lambda *words: words[0] if len(words) < 3 or words[2] == 1 \
    else words[1]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vmlab", formatter_class=_HelpFormatter,
        description="A lab for bytecode virtual machines: compile toy programs to "
                    "bytecode, run them, and look inside.")
    parser.add_argument("--version", action="version", version=f"vmlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def command(name, handler, help, description, file="a .toy program or a .toyc "
                "bytecode file (- reads stdin)", optional=False):
        p = sub.add_parser(name, help=help, description=description,
                           formatter_class=_HelpFormatter)
        p.add_argument("file", metavar="FILE", help=file, nargs="?" if optional else None)
        p.set_defaults(handler=handler)
        return p

    def limits(p):
        p.add_argument("--max-depth", type=_depth, default=10_000, metavar="N",
                       help="the most active calls before 'stack overflow' (default 10000)")
        p.add_argument("--timeout", type=_seconds, metavar="SECONDS",
                       help="stop the run after this long (an error, exit status 1)")
        p.add_argument("--max-steps", type=_positive, metavar="N",
                       help="stop the run after N executed instructions (the interpreters "
                            "only: not with --jit)")

    run = command("run", cmd_run, "run a program", "Compile a .toy program (or load a "
                  ".toyc file) and run it.")
    limits(run)
    run.add_argument("--interp", choices=["python", "native"], default="python",
                     help="the interpreter loop: vmlab's Python one (default) or the same "
                          "loop compiled by numba")
    run.add_argument("--jit", action="store_true",
                     help="compile hot functions and loops to native code (llvmlite)")
    # (JIT options default to None, "not given": without --jit they are refused.)
    run.add_argument("--jit-threshold", type=_count, metavar="N",
                     help="calls plus loop iterations before a function is compiled "
                          "(default 1000; 0 compiles every function before its first call)")
    run.add_argument("--jit-tiers", choices=["both", "baseline", "optimized"],
                     help="compile quickly to baseline code, then optimize what stays hot "
                          "(both, the default), or use one tier alone")
    run.add_argument("--jit-background", choices=["on", "off"],
                     help="compile on a compiler thread while the program runs on (on, "
                          "the default), or at once, the same way in every run (off)")
    run.add_argument("--jit-cache", metavar="DIR|off",
                     help="keep compiled machine code in DIR and reuse it in later runs "
                          "(default: jit in $VMLAB_CACHE_DIR, else in the user cache "
                          "directory; off: none)")
    run.add_argument("--jit-dump", metavar="DIR",
                     help="write what each compile made to DIR: bytecode, LLVM IR before "
                          "and after optimization, host assembly with source lines and "
                          "bytecode offsets, and index.json of the compiles")
    run.add_argument("--jit-log", action="store_true",
                     help="print each compile, on-stack replacement and decline on stderr")
    run.add_argument("--stats", action="store_true",
                     help="after the run, print instruction and call counts on stderr")
    run.add_argument("--stats-json", metavar="PATH",
                     help="after the run, write the statistics as JSON to PATH")

    trace = command("trace", cmd_trace, "run a program, printing each instruction",
                    "Run a program and print each instruction before it executes, "
                    "with the operand stack.")
    limits(trace)
    trace.add_argument("--limit", type=_positive, default=1000, metavar="N",
                       help="stop tracing after N instructions (default 1000)")
    trace.add_argument("--fn", metavar="NAME", help="trace only this function")

    dis = command("dis", cmd_dis, "print the bytecode of a program",
                  "Print the bytecode listing of every function.")
    dis.add_argument("--fn", metavar="NAME", help="only this function (<main> for "
                     "the top-level code)")

    def inspected(p, required=True):
        p.add_argument("--fn", metavar="NAME", required=required,
                       help="the function (<main> for the top-level code)")
        p.add_argument("--args", metavar="TYPES",
                       help="its argument types, comma-separated: int, float, bool, nil, "
                            "array<int>, array<float>, array<bool> (default: all int)")
        p.add_argument("--profile", action="store_true",
                       help="without --args: run the program first (at most 10 s, its output "
                            "not shown) and take the types the function was called with "
                            "most")
        p.add_argument("--tier", choices=["baseline", "optimized"], default="optimized",
                       help="the JIT tier whose code to show (default: optimized)")
        p.add_argument("--opt", type=int, choices=range(4), default=2, metavar="0..3",
                       help="the optimizing tier's LLVM optimization level (default 2, as "
                            "the JIT uses)")

    ir_ = command("ir", cmd_ir, "print the LLVM IR the JIT makes of a function",
                  "Print the LLVM IR of one function specialized for argument types, "
                  "with the functions it calls.")
    inspected(ir_)
    ir_.add_argument("--unoptimized", action="store_true",
                     help="the IR as translated from the bytecode, before optimization")
    asm = command("asm", cmd_asm, "print the assembly a function becomes",
                  "Print the machine code of one function, for this machine or others; "
                  "for several targets, with a table of code sizes beside the bytecode's.",
                  "a .toy program or a .toyc bytecode file (- reads stdin; not needed "
                  "for --target list)", optional=True)
    inspected(asm, required=False)
    asm.add_argument("--target", metavar="TARGET", action="append",
                     help="x86-64, aarch64, riscv64, wasm32, host (the default), all, or "
                          "an LLVM triple such as armv7-unknown-linux-gnueabihf; several "
                          "comma-separated or repeated; list: what there is")

    compile_ = command("compile", cmd_compile, "compile to a portable .toyc file",
                       "Compile a .toy program to a portable bytecode file.")
    compile_.add_argument("-o", "--output", metavar="OUT",
                          help="the output file (default: FILE with the suffix .toyc)")

    build = command("build", cmd_build, "compile a whole program ahead of time to an executable",
                    "Compile a whole program ahead of time, with the JIT's lowering, to a "
                    "standalone executable for a Linux machine, or to a WebAssembly module "
                    "(WASI) that `python -m vmlab.wasi` runs. Same output, errors and exit "
                    "status as `vmlab run`.")
    build.add_argument("-o", "--output", metavar="OUT",
                       help="the output file (default: FILE's name without its suffix, "
                            "+ .wasm for wasm32, .o/.s/.ll with --emit)")
    build.add_argument("--target", default=None, metavar="NAME",
                       help="x86-64, aarch64, riscv64 or wasm32 (default: this machine's)")
    build.add_argument("--emit", choices=["exe", "obj", "asm", "llvm"], default="exe",
                       help="what to write: the executable (default), the program's object "
                            "file, its assembly, or its optimized LLVM IR")
    build.add_argument("--max-depth", type=_depth, default=10_000, metavar="N",
                       help="the most active calls before 'stack overflow' (default 10000)")

    explore_ = command("explore", cmd_explore, "see a program's every stage in the browser",
                       "A local web page: the source (editable), its bytecode, the IR and "
                       "assembly of what a --jit run compiled, another CPU's assembly, the "
                       "output; hovering a line highlights the matching ones. It listens on "
                       "127.0.0.1 only, with a token in its URL.", "a .toy program")
    explore_.add_argument("--port", type=int, default=0, metavar="N",
                          help="the port (default: a free one)")
    explore_.add_argument("--no-browser", action="store_true",
                          help="print the URL only; do not open a browser")
    explore_.add_argument("--export", metavar="PAGE",
                          help="write the views as one self-contained HTML file instead "
                               "(no server, no network)")

    cache = sub.add_parser(
        "cache", help="show or clear the JIT's code cache", formatter_class=_HelpFormatter,
        description="The machine code `vmlab run --jit` keeps between runs (docs/jit.md): "
                    "`info` shows its entries, size and the hosts they are for, `clear` "
                    "removes them.")
    cache.set_defaults(handler=cmd_cache)
    cache.add_argument("action", choices=["info", "clear"])
    cache.add_argument("--dir", metavar="DIR",
                       help="the cache directory (default: jit in $VMLAB_CACHE_DIR, else in "
                            "the user cache directory)")

    bench = sub.add_parser(
        "bench", help="benchmark the tiers against C, Python, numba and Lua",
        formatter_class=_HelpFormatter,
        description="Run every benchmark (bench/programs) in every tier and peer, "
                    "interleaved, check every output, and print a table of medians and "
                    "ratios to C; write every sample as JSON and a chart as PNG. With "
                    "--suite polymorphic: programs whose values change type, in vmlab's "
                    "tiers, with ratios to the interpreter and the JIT's goal. With "
                    "--tradeoff: time against problem size for the interpreter and the "
                    "JIT (compile time included), the break-even size, and warm-up curves.")
    bench.set_defaults(handler=cmd_bench)
    bench.add_argument("--suite", default="standard", metavar="NAME",
                       help="standard (the default: numeric kernels, against C and the "
                            "peers) or polymorphic (ordinary code whose values change "
                            "type: interp, native and jit, against the interpreter)")
    bench.add_argument("--quick", action="store_true",
                       help="quick sizes (~0.25 s each in the Python interpreter; "
                            "about 1.5 minutes in all)")
    bench.add_argument("--size", choices=["small", "quick", "full"], default="full",
                       help="problem sizes (default full: ~3 s each in the Python "
                            "interpreter, ~1 s in the polymorphic suite)")
    bench.add_argument("--only", nargs="+", metavar="NAME", help="only these benchmarks")
    bench.add_argument("--tiers", action="append", metavar="LIST",
                       help="comma-separated tiers and peers (default all the suite's): "
                            "interp, native, jit, c, python, numba, lua, luajit")
    bench.add_argument("--repeat", type=_positive, metavar="N",
                       help="rounds (default 3; 5 at full size)")
    bench.add_argument("--json", metavar="PATH", help="where the samples go "
                       "(default vmlab-bench.json, or vmlab-tradeoff.json)")
    bench.add_argument("--plot", metavar="PATH", help="where the chart goes "
                       "(default vmlab-bench.png, or vmlab-tradeoff.png)")
    bench.add_argument("--spectrum", action="store_true",
                       help="every way vmlab can run each program, from the most portable "
                            "to the least: the .toyc in each tier, the wasm module, the "
                            "executables of vmlab build (here, in a container, under qemu), "
                            "and C; with artefact sizes and where each runs")
    bench.add_argument("--tradeoff", nargs="?", const="", metavar="NAME",
                       help="the trade-off experiment, for one program or all that have "
                            "a size sweep")
    return parser


def cmd_bench(args) -> int:
    from bench.cli import UsageError, run

    stem = ("vmlab-tradeoff" if args.tradeoff is not None else
            "vmlab-spectrum" if args.spectrum else "vmlab-bench")
    args.json, args.plot = args.json or f"{stem}.json", args.plot or f"{stem}.png"
    try:
        return run(args, "vmlab " + " ".join(args.argv))
    except UsageError as e:
        raise usage_error(str(e)) from None


def console() -> int:
    """The `vmlab` command: `main`, then an end without Python's last
    garbage collection. Every object is still alive at exit; collecting them
    all (the JIT's IR objects included) took 15 ms of a 30 ms exit
    (docs/jit.md, "The end of a process")."""
    status = main()
    gc.freeze()
    return status


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else argv
    try:
        return args.handler(args)
    except Failure as e:
        sys.stderr.write(e.text)
        return e.status
    except KeyboardInterrupt:  # outside a run (a run's Ctrl-C is vmlab.interrupts')
        sys.stderr.write("error: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`vmlab run x | head`): stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except MemoryError:
        sys.stderr.write("error: out of memory\n")
        return EXIT_ERROR
    except Exception as e:  # a bug in vmlab itself: say so, without a traceback
        if os.environ.get("VMLAB_DEBUG"):
            raise
        sys.stderr.write(f"vmlab: internal error: {type(e).__name__}: {e}\n"
                         "This is a bug in vmlab; VMLAB_DEBUG=1 shows the Python traceback.\n")
        return EXIT_INTERNAL
