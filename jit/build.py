"""`vmlab build`: a whole toy program ahead of time, as one executable.

The JIT's lowering makes the code, as for the JIT: inference from `<main>`
over the whole program (unions of types are tagged values, so every
program is typed), every specialization it reaches in one module, with the
same checks and call-depth limit. What differs is the host:
instead of Python (jit.runtime), jit/standalone.c, compiled by the target's
C compiler, prints, frees, reports errors and sets up the stack; the tables
it needs (places, strings, error messages) are written into the program's
object file here, from vmlab.values and vmlab.errors. Linux executables are
linked statically: they run on any Linux of their architecture, without -L
for qemu-user. The wasm module imports WASI only.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import llvmlite.ir as ir

from jit import engine
from jit import runtime as rt
from jit.infer import Inferrer
from jit.lower import I8, I32, I64, PTR, ModuleBuilder, const
from jit.tiering import STACK_RESERVE
from jit.types import TAGS, apply
from vmlab import errors, interrupts
from vmlab import values as v
from vmlab.code import MAIN, Program

RUNTIME_C = Path(__file__).with_name("standalone.c")


class BuildError(Exception):
    """The program cannot be built for the target; str() says why."""


class Target:
    """A machine `vmlab build` makes executables for: its LLVM triple, the
    C compiler that links for it, and where the result runs."""

    def __init__(self, name, triple, cc, packages, runs_on, suffix="", cflags=()):
        self.name, self.triple, self.cc, self.packages = name, triple, cc, packages
        self.runs_on, self.suffix, self.cflags = runs_on, suffix, list(cflags)

    @property
    def wasm(self) -> bool:
        return self.triple.startswith("wasm")

    def compiler(self) -> str:
        """The C compiler's path, or BuildError naming the Debian packages."""
        found = shutil.which(self.cc)
        if found is None or (self.wasm and not Path("/usr/include/wasm32-wasi").is_dir()):
            raise BuildError(f"building for {self.name} needs {self.cc} and a C library for "
                             f"{self.triple}: install the Debian packages "
                             f"{' '.join(self.packages)}")
        return found


HOST = {"x86_64": "x86-64", "aarch64": "aarch64", "riscv64": "riscv64"}.get(
    platform.machine(), platform.machine())


def _linux(name: str, triple: str, gnu: str, debian: str) -> Target:
    native = HOST == name
    return Target(name, triple, "gcc" if native else f"{gnu}-linux-gnu-gcc",
                  ["gcc"] if native else [f"gcc-{debian}-linux-gnu"],
                  f"{name} Linux only", cflags=["-static", "-pthread"])


TARGETS = {t.name: t for t in [
    _linux("x86-64", "x86_64-unknown-linux-gnu", "x86_64", "x86-64"),
    _linux("aarch64", "aarch64-unknown-linux-gnu", "aarch64", "aarch64"),
    _linux("riscv64", "riscv64-unknown-linux-gnu", "riscv64", "riscv64"),
    Target("wasm32", "wasm32-unknown-wasi", "clang",
           ["clang", "lld", "wasi-libc", "libclang-rt-14-dev-wasm32"],
           "any WebAssembly runtime with WASI", ".wasm",
           ["--target=wasm32-wasi", "--sysroot=/usr"]),
]}
# The native stack compiled code gets, at least; more where its frames need
# it (x86-64, aarch64: measured in the object file, as the JIT does).
MIN_STACK = 64 << 20
UNMEASURED_STACK = 256 << 20  # (riscv64: jit.frames reads no riscv64 code)
WASM_STACK = 16 << 20  # linear memory: wasm frames keep their values in locals


def module(program: Program, max_depth: int, size_type=I64, triple: str | None = None
           ) -> ir.Module:
    """The program's LLVM module: `vmlab_run`, what it reaches, and the
    runtime's tables but the stack's size (compile_object adds it)."""
    spec = Inferrer(program).function(MAIN, ())
    specs = Inferrer.closure(spec)
    for s in specs:
        if s.declined:
            raise BuildError(f"{s.name()} cannot be compiled ahead of time: {s.declined}")
    symbols = rt.Symbols(program)
    builder = ModuleBuilder(program.source_name or "program", symbols, max_depth,
                            size_type=size_type, full_target=engine.is_full_target(triple))
    for s in specs:
        builder.function(s, "vmlab.main" if s is spec else None)
    for s in specs:
        builder.define(s, "vmlab.main" if s is spec else None)
    m = builder.module
    run = ir.Function(m, ir.FunctionType(ir.VoidType(), [PTR]), "vmlab_run")
    b = ir.IRBuilder(run.append_basic_block("entry"))
    b.call(builder.function(spec, "vmlab.main"), [const(I64, 0), run.args[0]])
    b.ret_void()
    _tables(m, program, symbols, max_depth)
    return m


def _tables(m: ir.Module, program: Program, symbols: rt.Symbols, max_depth: int) -> None:
    """What jit/standalone.c reads: the names of its `extern` declarations."""
    strings = {}

    def text(s: str | bytes):
        data = s.encode() if isinstance(s, str) else s
        if data not in strings:
            kind = ir.ArrayType(I8, len(data) + 1)
            g = ir.GlobalVariable(m, kind, f".str{len(strings)}")
            g.initializer = ir.Constant(kind, bytearray(data + b"\0"))
            g.global_constant, g.linkage = True, "private"
            strings[data] = g
        return strings[data]

    def table(name: str, element, values) -> None:
        values = list(values)
        g = ir.GlobalVariable(m, ir.ArrayType(element, len(values)), name)
        g.initializer = ir.Constant(ir.ArrayType(element, len(values)), values)
        g.global_constant = True

    def word(name: str, value: int) -> None:
        g = ir.GlobalVariable(m, I64, name)
        g.initializer, g.global_constant = const(I64, value), True

    codes = symbols.codes
    word("vmlab_max_depth", max_depth)
    word("vmlab_traceback_limit", errors.TRACEBACK_LIMIT)
    name = ir.GlobalVariable(m, PTR, "vmlab_source_name")
    name.initializer, name.global_constant = text(program.source_name or "<program>"), True
    word("vmlab_codes", len(codes))
    table("vmlab_code_names", PTR, (text(c.name) for c in codes))
    starts = list(itertools.accumulate((len(c.instrs) for c in codes), initial=0))
    table("vmlab_code_starts", I64, (const(I64, s) for s in starts))
    table("vmlab_lines", I32, (const(I32, line) for c in codes for line in c.lines))
    consts = [c for code in codes for c in code.consts]
    data = [c.encode() if isinstance(c, str) else b"" for c in consts]
    table("vmlab_strings", PTR, (text(d) if isinstance(c, str) else ir.Constant(PTR, None)
                                 for c, d in zip(consts, data)))
    table("vmlab_string_sizes", I64, (const(I64, len(d)) for d in data))
    messages = {rt.DIVISION_BY_ZERO: v.division_by_zero(),
                rt.INDEX_ERROR: v.index_error("%lld", "%lld"),
                rt.STACK_OVERFLOW: v.stack_overflow(),
                rt.NEGATIVE_LENGTH: v.negative_length("%lld"),
                rt.TOO_LONG: v.too_long("%lld"), rt.OUT_OF_MEMORY: "out of memory",
                rt.INTERRUPTED: interrupts.CTRL_C}
    table("vmlab_messages", PTR, (text(str(messages[k])) if k in messages else
                                  ir.Constant(PTR, None) for k in range(max(messages) + 1)))
    keys, texts = [], []
    used = {opcode for code in codes for opcode, _ in code.instrs if opcode in v.OPERATIONS}
    for opcode in sorted(used):
        for types in itertools.product(range(len(TAGS)), repeat=v.operand_count(opcode)):
            message = apply(v.OPERATIONS[opcode], tuple(TAGS[t] for t in types))[1]
            if message is not None:
                keys.append(opcode << 32 | sum(t << 3 * i for i, t in enumerate(types)))
                texts.append(text(message))
    word("vmlab_type_errors", len(keys))
    table("vmlab_type_error_keys", I64, (const(I64, k) for k in keys))
    table("vmlab_type_error_messages", PTR, texts)


def compile_object(program: Program, target: Target, max_depth: int) -> dict:
    """The program for `target`: its object file, assembly and LLVM IR
    (after optimization), and the native stack its code needs."""
    from jit import frames
    m = module(program, max_depth, I32 if target.wasm else I64, target.triple)
    if target.triple.startswith("riscv64"):  # the hard-float ABI, as Debian's libc
        m.add_named_metadata("llvm.module.flags", m.add_metadata(
            [const(I32, 1), ir.MetaDataString(m, "target-abi"), ir.MetaDataString(m, "lp64d")]))
    parsed, tm = engine.through_pipeline(str(m), target.triple)
    obj = tm.emit_object(parsed)
    if target.wasm:
        stack = WASM_STACK
    else:
        try:
            frame = frames.max_frame(obj)
        except ValueError:
            frame = None
        stack = UNMEASURED_STACK if frame is None else max(
            MIN_STACK, frame * (max_depth + 1) + 2 * STACK_RESERVE)
    return {"obj": obj, "asm": tm.emit_assembly(parsed).encode(), "llvm": str(parsed).encode(),
            "stack": stack}


def _stack_object(target: Target, stack: int) -> bytes:
    """`vmlab_stack_bytes`, in an object of its own: known only once the
    program's object is made (its frames)."""
    parsed, tm = engine.through_pipeline(f"@vmlab_stack_bytes = constant i64 {stack}\n",
                                         target.triple)
    return tm.emit_object(parsed)


def runtime_object(target: Target) -> Path:
    """jit/standalone.c compiled for `target`, once per version of it (in
    the code cache's directory, written atomically)."""
    from jit.codecache import default_directory
    source = RUNTIME_C.read_bytes()
    cc = target.compiler()
    digest = hashlib.sha256(source + repr((cc, target.cflags)).encode()).hexdigest()[:16]
    directory = default_directory().parent / "build"
    path = directory / f"standalone-{target.name}-{digest}.o"
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=directory, suffix=".o")
    os.close(fd)
    try:
        _run([cc, *target.cflags, "-O2", "-c", str(RUNTIME_C), "-o", temporary])
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def link(obj: bytes, target: Target, stack: int, out: Path) -> None:
    """An executable (or wasm module) at `out` from the program's object."""
    runtime = runtime_object(target)
    with tempfile.TemporaryDirectory() as work:
        program, size = Path(work) / "program.o", Path(work) / "stack.o"
        program.write_bytes(obj)
        size.write_bytes(_stack_object(target, stack))
        command = [target.compiler(), *target.cflags, "-O2", str(runtime), str(program),
                   str(size), "-o", str(out), "-lm"]
        if target.wasm:
            command += [f"-Wl,-z,stack-size={stack}"]
        _run(command)


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise BuildError(f"{Path(command[0]).name} failed:\n{done.stderr.strip()}")


def build(program: Program, out: Path, target: Target, emit: str = "exe",
          max_depth: int = 10_000) -> None:
    """Write the program for `target` to `out`: an executable, or with
    `emit` its object file, assembly or LLVM IR."""
    if emit == "exe":
        target.compiler()  # (missing tools: say so before any work)
    made = compile_object(program, target, max_depth)
    if emit == "exe":
        link(made["obj"], target, made["stack"], out)
    else:
        out.write_bytes(made[emit])
