"""jit.frames: the native frame sizes read from emitted objects agree with
the assembly LLVM emits for the same modules, at both tiers' target
machines; where the call-frame information cannot tell, they bound it."""

import ctypes
import struct

import pytest

from jit import engine, frames
from jit.engine import BASELINE, OPTIMIZED

TIERS = [BASELINE, OPTIMIZED]  # parametrized as `jit_tier` (conftest owns `tier`)
AARCH64 = "aarch64-unknown-linux-gnu"


def compiled(ir_text: str, tier: int, triple: str | None = None) -> tuple[bytes, str]:
    """(object, assembly) of a module, by the target machine of `tier`."""
    tm = engine.target_machine(0 if tier == BASELINE else engine.OPT_LEVEL, triple)

    def module():
        m = engine.parse(ir_text, "t")
        m.triple, m.data_layout = tm.triple, str(tm.target_data)
        engine.run_pipeline(m, tier, tm=tm)
        return m
    return tm.emit_object(module()), tm.emit_assembly(module())


def cfi_frame(asm: str, initial: int) -> int:
    """The largest CFA offset the assembly's CFI directives give (one
    function, its CFA on the stack pointer)."""
    offset = largest = initial
    saved = []
    for line in asm.splitlines():
        words = line.replace(",", " ").split()
        if not words or not words[0].startswith(".cfi_"):
            continue
        assert words[0] != ".cfi_def_cfa_register", "a frame-pointer frame"
        if words[0] in (".cfi_def_cfa_offset", ".cfi_def_cfa"):
            offset = int(words[-1])
        elif words[0] == ".cfi_adjust_cfa_offset":
            offset += int(words[1])
        elif words[0] == ".cfi_remember_state":
            saved.append(offset)
        elif words[0] == ".cfi_restore_state":
            offset = saved.pop()
        largest = max(largest, offset)
    return largest


def x86_depth(asm: str) -> int:
    """The deepest the stack pointer goes below the CFA in straight-line
    x86-64 assembly, realignment at its worst."""
    depth = largest = 8
    for line in asm.splitlines():
        words = line.replace(",", " ").split()
        if not words:
            continue
        if words[0] in ("pushq", "popq"):
            depth += 8 if words[0] == "pushq" else -8
        elif words[0] in ("subq", "addq", "andq") and words[1:] and words[-1] == "%rsp" \
                and words[1].startswith("$"):
            n = int(words[1][1:])
            depth += {"subq": n, "addq": -n, "andq": -n - 16 + depth % 16}[words[0]]
        largest = max(largest, depth)
    return largest


def prologue(asm: str) -> tuple[int, int]:
    """(pushes, `subq $N, %rsp`) at the start of an x86-64 function."""
    pushes, sub = 0, 0
    for line in asm.split(".cfi_startproc", 1)[1].splitlines():
        words = line.replace(",", " ").split()
        if not words or words[0].startswith("."):
            continue
        if words[0] == "pushq":
            pushes += 1
        elif words[0] == "subq" and words[-1] == "%rsp":
            sub = int(words[1][1:])
        else:
            break
    return pushes, sub


def locals_ir(slots: int, attributes: str = "") -> str:
    """`f` passes `slots` words of stack to a call."""
    return f"""
declare void @use(ptr) {attributes}
define void @f() {attributes} {{
  %a = alloca [{slots} x i64]
  call void @use(ptr %a)
  ret void
}}"""


def recursive_ir(live: int) -> str:
    """`r` keeps `live` loaded values across its call to itself (and
    another call, so that it stays a recursion rather than a loop)."""
    loads = "\n".join(f"  %p{k} = getelementptr i64, ptr %a, i64 {k}\n"
                      f"  %v{k} = load i64, ptr %p{k}" for k in range(live))
    sums = "\n".join(f"  %t{k} = mul i64 %s{k}, 3\n  %s{k + 1} = xor i64 %t{k}, %v{k}"
                     for k in range(live))  # (in order: none can be summed before the call)
    return f"""
declare void @see(ptr)
define i64 @r(i64 %n, ptr %a) {{
entry:
  %z = icmp eq i64 %n, 0
  br i1 %z, label %done, label %more
more:
{loads}
  store i64 %n, ptr %a
  %m = sub i64 %n, 1
  %s0 = call i64 @r(i64 %m, ptr %a)
  call void @see(ptr %a)
{sums}
  ret i64 %s{live}
done:
  ret i64 0
}}"""


PUSHES_IR = """
declare i64 @g(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) {attributes}
define i64 @f(i64 %a, i64 %b) {attributes} {{
  %r = call i64 @g(i64 %a, i64 %b, i64 3, i64 4, i64 5, i64 6, i64 7, i64 8, i64 9, i64 10)
  %r2 = call i64 @g(i64 %r, i64 %a, i64 3, i64 4, i64 5, i64 6, i64 7, i64 %b, i64 9, i64 %a)
  ret i64 %r2
}}"""

REALIGNED_IR = """
declare void @use(ptr)
define void @f() {
  %a = alloca [100 x i8], align 64
  call void @use(ptr %a)
  ret void
}"""

FRAME_ADDRESS_IR = """
declare ptr @llvm.frameaddress.p0(i32)
declare i64 @g(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)
define i64 @f(i64 %a) {
  %fa = call ptr @llvm.frameaddress.p0(i32 0)
  %i = ptrtoint ptr %fa to i64
  %r = call i64 @g(i64 %a, i64 %i, i64 3, i64 4, i64 5, i64 6, i64 7, i64 8, i64 9, i64 10)
  %r2 = call i64 @g(i64 %r, i64 %i, i64 3, i64 4, i64 5, i64 6, i64 7, i64 8, i64 9, i64 %a)
  ret i64 %r2
}"""

DYNAMIC_IR = """
declare void @use(ptr)
define void @f(i64 %n) {
  %a = alloca i64, i64 %n
  call void @use(ptr %a)
  ret void
}"""


@pytest.mark.parametrize("jit_tier", TIERS)
@pytest.mark.parametrize("slots", [1, 30, 200])
def test_a_frame_holds_its_locals_and_is_what_the_assembly_says(jit_tier, slots):
    obj, asm = compiled(locals_ir(slots), jit_tier)
    frame = frames.frame_sizes(obj)["f"]
    assert frame >= 8 * slots + 8  # the locals and the return address
    assert frame == cfi_frame(asm, 8)
    pushes, sub = prologue(asm)
    assert frame == 8 + 8 * pushes + sub  # (one word: `pushq %rax`, no subq)
    assert frames.max_frame(obj) == frame


@pytest.mark.parametrize("jit_tier", TIERS)
def test_values_live_across_a_recursive_call(jit_tier):
    obj, asm = compiled(recursive_ir(40), jit_tier)
    frame = frames.frame_sizes(obj)["r"]
    assert frame == cfi_frame(asm, 8)
    assert frame >= 8 + 8 * (40 - 6)  # spilled: all but 6 (the callee-saved registers)


def test_call_argument_pushes_are_in_the_frame():
    obj, asm = compiled(PUSHES_IR.format(attributes=""), OPTIMIZED)
    assert "pushq\t$9" in asm  # (stack arguments pushed: the frame grows at the call)
    assert frames.max_frame(obj) == cfi_frame(asm, 8) == x86_depth(asm)


def test_functions_without_cfi_are_bounded():
    """LLVM emits no CFI for nounwind functions (-O2 infers it for leaves)."""
    for ir_text, jit_tier in [(locals_ir(30, "nounwind"), BASELINE),
                          (locals_ir(30, "nounwind"), OPTIMIZED),
                          (PUSHES_IR.format(attributes="nounwind"), OPTIMIZED)]:
        obj, asm = compiled(ir_text, jit_tier)
        assert ".cfi_startproc" not in asm
        truth = x86_depth(asm)
        assert truth <= frames.max_frame(obj) <= truth + 64


@pytest.mark.parametrize("jit_tier", TIERS)
@pytest.mark.parametrize("ir_text", [REALIGNED_IR, FRAME_ADDRESS_IR], ids=["realigned", "frameaddress"])
def test_frame_pointer_frames_are_bounded(ir_text, jit_tier):
    obj, asm = compiled(ir_text, jit_tier)
    assert ".cfi_def_cfa_register %rbp" in asm
    truth = x86_depth(asm)  # (realigned: the worst case, 48 bytes of padding)
    assert truth <= frames.frame_sizes(obj)["f"] <= truth + 64


@pytest.mark.parametrize("triple", [None, AARCH64])
@pytest.mark.parametrize("jit_tier", TIERS)
def test_dynamic_allocas_have_no_bound(jit_tier, triple):
    obj, _ = compiled(DYNAMIC_IR, jit_tier, triple)
    assert frames.frame_sizes(obj) == {"f": None}
    assert frames.max_frame(obj) is None


@pytest.mark.parametrize("jit_tier", TIERS)
def test_aarch64_objects(jit_tier):
    obj, asm = compiled(locals_ir(30) + recursive_ir(40), jit_tier, AARCH64)
    assert struct.unpack_from("<H", obj, 18) == (frames.EM_AARCH64,)
    sizes = frames.frame_sizes(obj)
    f_asm, r_asm = asm.split("\nr:")
    assert sizes["f"] == cfi_frame(f_asm, 0) >= 8 * 30 + 16  # (the locals, x29 and x30)
    assert sizes["r"] == cfi_frame(r_asm, 0)
    # Realigned: `stp x29, x30, [sp, #-16]!`, `sub x9, sp, #112`, `and sp, x9, #-64`.
    obj, asm = compiled(REALIGNED_IR, jit_tier, AARCH64)
    assert ".cfi_def_cfa w29, 16" in asm and "sub\tx9, sp, #112" in asm
    assert 16 + 112 + 48 <= frames.max_frame(obj) <= 16 + 112 + 64


@pytest.mark.parametrize("triple", [None, AARCH64])
@pytest.mark.parametrize("jit_tier", TIERS)
def test_the_scan_bounds_what_the_cfi_says(jit_tier, triple):
    """The scan that stands in for missing CFI, run where the CFI is there:
    never less (on aarch64, exactly the same)."""
    ir_text = locals_ir(200) + recursive_ir(40) + PUSHES_IR.format(attributes="").replace(
        "@f(", "@pushes(")
    obj, _ = compiled(ir_text, jit_tier, triple)
    elf = frames._Elf(obj)
    scan = frames._scan_aarch64 if triple else frames._scan_x86_64
    checked = 0
    for section, start, length, frame in frames._fdes(elf):
        scanned = scan(elf.data(section)[start:start + length])
        assert scanned == frame if triple else scanned >= frame
        checked += 1
    assert checked == 3


def test_objects_it_cannot_read():
    with pytest.raises(ValueError):
        frames.frame_sizes(b"not an object")
    obj, _ = compiled(locals_ir(1), OPTIMIZED, "riscv64-unknown-linux-gnu")
    with pytest.raises(ValueError, match="not x86-64 or aarch64"):
        frames.frame_sizes(obj)


USE_IR = """
define internal void @use(ptr %a, i64 %n) noinline {{
  %p = getelementptr i64, ptr %a, i64 %n
  store i64 %n, ptr %p
  ret void
}}
define i64 @"test_frames.{name}"(i64 %n) {{
  %a = alloca [50 x i64]
  call void @use(ptr %a, i64 %n)
  %p = getelementptr i64, ptr %a, i64 %n
  %v = load i64, ptr %p
  ret i64 %v
}}"""


@pytest.mark.parametrize("jit_tier", TIERS)
def test_engine_measures_what_it_adds(jit_tier):
    jit = engine.engine()
    name = f"measured{jit_tier}"
    _, _, frame, _ = jit.add_measured(USE_IR.format(name=name), name, jit_tier)
    assert frame >= 50 * 8 + 8
    assert frame == frames.max_frame(compiled(USE_IR.format(name=name), jit_tier)[0])
    function = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(jit.address(f"test_frames.{name}"))
    assert function(7) == 7  # the object is linked in and runs
    assert len(jit.add(USE_IR.format(name=name + "x"), name + "x", jit_tier)) == 2
