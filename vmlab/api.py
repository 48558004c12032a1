"""The Python API, for notebooks and scripts (tutorial: docs/tutorial.md).

    import vmlab
    prog = vmlab.compile("fn sq(x) { return x * x; }\\nprint(sq(7));")
    prog.dis()                  # the listing; in Jupyter, a table per function
    result = prog.run(stats=True)
    result.stdout               # '49\\n'
    result.stats.per_opcode()   # [('LOAD_LOCAL', 2), ...]
    prog.run(jit=True), prog.run(interp="native")   # the other tiers, same output
    print(prog.trace(limit=10))  # in Jupyter, shown as HTML
    print(prog.ir("sq", ["int"]), prog.asm("sq", target="all"))
    prog.save("sq.toyc"); vmlab.load("sq.toyc")

Everything here is a thin layer over the modules the CLI uses, so a notebook
sees exactly what `vmlab run`, `dis`, `trace`, `ir` and `asm` print. Like the
CLI, it sits on top of everything (it imports lang and jit, when asked).
"""

from __future__ import annotations

import contextlib
import html
import io
from pathlib import Path

from vmlab import disasm
from vmlab.code import Program, jump_sources
from vmlab.errors import CompileError, ToyRuntimeError
from vmlab.interp import DEFAULT_MAX_DEPTH, run
from vmlab.opcodes import OPCODES, Operand
from vmlab.output import Output
from vmlab.stats import Stats
from vmlab.trace import DEFAULT_LIMIT, Tracer


def compile(source: str, name: str = "<string>") -> ToyProgram:  # noqa: A001 (the natural name)
    """Compile toy source text. A CompileError carries the rendered message
    (file:line:col, the source line and a caret) as a note."""
    from lang import compile_source

    try:
        return ToyProgram(compile_source(source, name))
    except CompileError as e:
        e.add_note(e.render(name, source).rstrip("\n"))
        raise


def load(path: str | Path) -> ToyProgram:
    """Load a .toy source file or a .toyc bytecode file."""
    from lang import decode_source
    from vmlab.toyc import is_toyc, loads

    data = Path(path).read_bytes()
    if is_toyc(data):
        return ToyProgram(loads(data))
    return compile(decode_source(data), str(path))


class Listing(str):
    """A disassembly: prints as `vmlab dis` does, shows as tables in Jupyter."""

    def __new__(cls, program: Program, only: str | None = None):
        listing = super().__new__(cls, disasm.disassemble(program, only))
        listing.program, listing.only = program, only
        return listing

    def _repr_html_(self) -> str:
        return "".join(_code_table(code, self.program)
                       for code in disasm.codes(self.program, self.only))


def _code_table(code, program: Program) -> str:
    targets = jump_sources(code)
    rows = []
    for offset, ((opcode, arg), line) in enumerate(zip(code.instrs, code.lines, strict=True)):
        info = OPCODES[opcode]
        has_arg = info.operand != Operand.NONE
        cells = [(">> " if offset in targets else "") + str(offset), str(line), info.name,
                 str(arg) if has_arg else "",
                 disasm.meaning(code, program, opcode, arg) if has_arg else ""]
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("offset", "line", "opcode", "arg", "meaning"))
    return (f"<table><caption style='text-align:left'><b>"
            f"{html.escape(disasm.header(code, program))}</b></caption>"
            f"<tr>{head}</tr>{''.join(rows)}</table>")


class Result:
    """What a run produced: its output, its runtime error if any, its stats."""

    def __init__(self, stdout: str, error: ToyRuntimeError | None, stats: Stats | None,
                 jit_log: str | None = None):
        self.stdout, self.error, self.stats = stdout, error, stats
        self.jit_log = jit_log  # what `--jit-log` prints, with jit_log=True

    @property
    def status(self) -> int:
        """The exit status `vmlab run` would give: 0, or 1 after an error."""
        return 0 if self.error is None else 1

    @property
    def stderr(self) -> str:
        return "" if self.error is None else self.error.render()

    def __repr__(self):
        return f"<Result status={self.status} stdout={self.stdout!r}>"

    def _repr_html_(self) -> str:
        parts = [f"<pre>{html.escape(self.stdout)}</pre>"]
        if self.error is not None:
            parts.append(f"<pre style='color:#b00'>{html.escape(self.stderr)}</pre>")
        if self.stats is not None:
            parts.append(_stats_table(self.stats))
        return "".join(parts)


def _stats_table(stats: Stats) -> str:
    total = stats.instructions or 1
    rows = "".join(f"<tr><td>{name}</td><td>{n:,}</td><td>{n / total:.1%}</td></tr>"
                   for name, n in stats.per_opcode())
    calls = "".join(f"<tr><td>{html.escape(name)}</td><td>{n:,}</td></tr>"
                    for name, n in stats.per_function())
    return (f"<p>{stats.instructions:,} instructions in {stats.seconds:.3f} s</p>"
            f"<table><tr><th>opcode</th><th>executed</th><th>share</th></tr>{rows}</table>"
            f"<table><tr><th>function</th><th>calls</th></tr>{calls}</table>")


class Trace(str):
    """A trace: prints as `vmlab trace` does; in Jupyter, HTML."""

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self)}</pre>"


class ToyProgram:
    """A compiled program and what you can do with it."""

    def __init__(self, program: Program):
        self.program = program

    @property
    def functions(self) -> list[str]:
        return [f.name for f in self.program.functions]

    def _function(self, fn: str | None) -> str | None:
        """`fn`, if the program has it (or it is None); else ValueError."""
        if fn is not None and self.program.function(fn) is None:
            names = ", ".join(["<main>"] + self.functions)
            raise ValueError(f"no function '{fn}' in {self.program.source_name} "
                             f"(there is: {names})")
        return fn

    def dis(self, fn: str | None = None) -> Listing:
        """The bytecode listing (of one function, or `<main>`, if `fn` is given)."""
        return Listing(self.program, self._function(fn))

    def run(self, stats: bool = False, max_depth: int = DEFAULT_MAX_DEPTH, jit: bool = False,
            interp: str = "python", jit_cache=None, jit_log: bool = False) -> Result:
        """Run with captured output; a runtime error is returned, not raised.
        `jit=True`: with the JIT (`jit_cache`: a code cache directory, or
        None for none; `jit_log`: keep what --jit-log prints in the result's
        `jit_log`); `interp="native"`: the native interpreter (numba's loop).
        Every tier prints the same."""
        if interp not in ("python", "native"):
            raise ValueError(f"interp is 'python' or 'native', not {interp!r}")
        if jit and (stats or interp == "native"):
            raise ValueError("jit=True tiers up from the Python interpreter, without stats")
        output, log = Output(), io.StringIO() if jit and jit_log else None
        counts = Stats(self.program, "native" if interp == "native" else "interp") \
            if stats else None
        try:
            with counts.timing() if counts else contextlib.nullcontext():
                if interp == "native":
                    from vmlab.native.host import run as native_run
                    native_run(self.program, output, max_depth, counts)
                elif jit:
                    from jit.tiering import Tiering, run_program
                    tiering = Tiering(self.program, output, max_depth, log=log,
                                      cache=jit_cache)
                    run_program(self.program, output, max_depth, None, tiering)
                else:
                    run(self.program, output, max_depth, counts.observer() if counts else None)
        except ToyRuntimeError as e:
            return Result(output.getvalue(), e, counts, log and log.getvalue())
        return Result(output.getvalue(), None, counts, log and log.getvalue())

    def trace(self, limit: int = DEFAULT_LIMIT, fn: str | None = None,
              max_depth: int = DEFAULT_MAX_DEPTH) -> Trace:
        """The trace `vmlab trace` prints, with the program's output in place,
        and the runtime error at the end if there is one."""
        output = Output()
        tracer = Tracer(self.program, output, limit, self._function(fn))
        try:
            run(self.program, output, max_depth, tracer.observer())
        except ToyRuntimeError as e:
            return Trace(output.getvalue() + e.render())
        return Trace(output.getvalue())

    def ir(self, fn: str, args=None, tier: str = "optimized", optimized: bool = True,
           opt: int = 2) -> str:
        """The LLVM IR the JIT makes of `fn` for argument types `args` (a list
        such as ["int", "array<float>"]; default: all int), as `vmlab ir`."""
        from jit import inspect
        return inspect.ir(self.program, self._function(fn), self._types(fn, args), opt,
                          optimized, tier)

    def asm(self, fn: str, args=None, target: str | None = None, tier: str = "optimized",
            opt: int = 2) -> str:
        """The assembly `fn` becomes, as `vmlab asm`: for this machine, or a
        target (x86-64, aarch64, riscv64, wasm32, an LLVM triple), or several
        (comma-separated, or "all": with the table of sizes)."""
        from jit import inspect
        types = self._types(fn, args)
        chosen = inspect.targets([target or inspect.HOST])  # (ValueError: not a target)
        if len(chosen) == 1:
            return inspect.asm(self.program, fn, types, opt, chosen[0][1], tier)
        return inspect.cross(self.program, fn, types, opt, chosen, tier)

    def _types(self, fn: str, args) -> tuple[str, ...]:
        code = self.program.function(self._function(fn))
        return tuple(args) if args is not None else ("int",) * code.arity

    def to_bytes(self) -> bytes:
        """The program as a portable .toyc file."""
        from vmlab.toyc import dumps
        return dumps(self.program)

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.to_bytes())

    def __repr__(self):
        return (f"<ToyProgram {self.program.source_name}: "
                f"{len(self.program.functions)} functions>")

    def _repr_html_(self) -> str:
        return self.dis()._repr_html_()
