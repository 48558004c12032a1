"""The .toyc bytecode file: exact round trips, the byte layout, clean
rejection of bad files, identical runs from source and from bytecode, and a
fuzz test over thousands of mutated files."""

import math
import random
import struct
import traceback
import zlib
from pathlib import Path

import pytest

from lang import compile_source, decode_source
from vmlab.code import Code, Program
from vmlab.errors import CompileError, ToyRuntimeError
from vmlab.interp import run
from vmlab.opcodes import BY_NAME, OPCODES
from vmlab.output import Output
from vmlab.toyc import MAGIC, VERSION, BytecodeError, dumps, is_toyc, loads

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "conformance"
EXAMPLES = sorted((ROOT / "examples").glob("*.toy"))
OP = {name: info.number for name, info in BY_NAME.items()}


def const_key(value):
    """A constant as a comparable key: its type and, for floats, its bits."""
    if type(value) is float:
        return (float, struct.pack("<d", value))
    return (type(value), value)


def code_fields(code: Code):
    return (code.name, code.arity, code.line, code.instrs, code.lines,
            [const_key(c) for c in code.consts], code.local_names)


def assert_same_program(a: Program, b: Program):
    assert a.source_name == b.source_name
    assert len(a.functions) == len(b.functions)
    for x, y in zip(a.functions + [a.main], b.functions + [b.main], strict=True):
        assert code_fields(x) == code_fields(y)
        assert all(type(i) is tuple for i in y.instrs)


def compile_file(path: Path) -> Program:
    return compile_source(decode_source(path.read_bytes()), path.name)


def run_capture(program: Program, max_depth=10_000, observer=None, output=None):
    """stdout, and the rendered runtime error or None."""
    output = output or Output()
    try:
        run(program, output, max_depth, observer)
    except ToyRuntimeError as e:
        return output.getvalue(), e.render()
    return output.getvalue(), None


# --- round trips --------------------------------------------------------------

def constants_program() -> Program:
    consts = [None, False, True, 0, 1, -1, 2**63 - 1, -2**63, 12345678901234,
              0.0, -0.0, 1.5, -2.25e-308, 5e-324, 1.7976931348623157e308,
              math.inf, -math.inf, math.nan,
              struct.unpack("<d", struct.pack("<Q", 0x7FF0_0000_0000_0001))[0],  # signalling NaN
              struct.unpack("<d", struct.pack("<Q", 0xFFF8_DEAD_BEEF_0001))[0],  # negative, payload
              "", "ascii", "héllo wörld", "日本語", "emoji 🎉 𝄞", "tab\tnew\nline\\\"", "\x00nul"]
    main = Code("<main>", 0, 1)
    main.consts = consts
    main.local_names = ["x", "ünïcode", ""]
    for i in range(len(consts)):
        main.instrs += [(OP["LOAD_CONST"], i), (OP["POP"], 0)]
        main.lines += [i + 1, i + 1]
    main.instrs += [(OP["LOAD_CONST"], 0), (OP["RETURN"], 0)]
    main.lines += [99, 4_000_000_000]
    f = Code("ƒ_名前", 2, 7)
    f.local_names = ["a", "b", "c"]
    f.instrs = [(OP["LOAD_LOCAL"], 0), (OP["LOAD_LOCAL"], 1), (OP["ADD"], 0), (OP["RETURN"], 0)]
    f.lines = [8, 8, 8, 9]
    return Program([f], main, "dir/prøg ✓.toy")


def test_round_trip_is_exact():
    program = constants_program()
    loaded = loads(dumps(program))
    assert_same_program(program, loaded)
    consts = loaded.main.consts
    assert math.copysign(1.0, consts[10]) == -1.0
    assert struct.pack("<d", consts[18]) == struct.pack("<Q", 0x7FF0_0000_0000_0001)
    assert struct.pack("<d", consts[19]) == struct.pack("<Q", 0xFFF8_DEAD_BEEF_0001)
    assert [type(c) for c in consts[:4]] == [type(None), bool, bool, int]
    assert dumps(loaded) == dumps(program)


def test_round_trip_of_every_example():
    for path in EXAMPLES:
        program = compile_file(path)
        assert_same_program(program, loads(dumps(program)))


def test_layout_byte_by_byte():
    """`print("hi");` spelled out as docs/bytecode-format.md lays it out."""
    program = compile_source('print("hi");\n', "h.toy")
    expected = bytes.fromhex(
        "544f5943" "0200" "0000"                 # magic, version 2, flags 0
        "05000000" "682e746f79"                  # source name "h.toy"
        "00000000"                               # 0 functions
        "06000000" "3c6d61696e3e"                # main: name "<main>"
        "00000000" "01000000"                    # arity 0, line 1
        "00000000"                               # 0 locals
        "02000000" "05" "02000000" "6869" "00"   # 2 constants: "hi", nil
        "04000000"                               # 4 instructions
        "0000000000" "1e01000000" "0001000000" "1d00000000"
        "01000000" "01000000" "01000000" "01000000")  # their lines
    expected += struct.pack("<I", zlib.crc32(expected))  # the checksum of all before it
    assert dumps(program) == expected
    assert_same_program(program, loads(expected))


def test_constant_tags():
    def main_with(value):
        main = Code("<main>", 0, 1)
        main.consts = [None, value]
        main.instrs = [(OP["LOAD_CONST"], 0), (OP["RETURN"], 0)]
        main.lines = [1, 1]
        return dumps(Program([], main, ""))

    tail = 4 + 2 * 5 + 2 * 4 + 4   # instruction count, instructions, lines, checksum
    assert main_with(False)[-tail - 1:-tail] == b"\x01"
    assert main_with(True)[-tail - 1:-tail] == b"\x02"
    assert main_with(-2)[-tail - 9:-tail] == b"\x03" + b"\xfe" + b"\xff" * 7
    assert main_with(-0.0)[-tail - 9:-tail] == b"\x04" + bytes(7) + b"\x80"
    assert main_with("é")[-tail - 7:-tail] == b"\x05\x02\x00\x00\x00\xc3\xa9"


def test_is_toyc():
    assert is_toyc(dumps(compile_source("print(1);")))
    assert is_toyc(MAGIC)
    assert not is_toyc(b"print(1);")
    assert not is_toyc(b"TOY")


def test_dumps_refuses_what_the_format_cannot_hold():
    program = constants_program()
    program.main.consts.append(2**63)
    with pytest.raises(BytecodeError, match="cannot encode"):
        dumps(program)
    program = constants_program()
    program.main.consts.append([1])
    with pytest.raises(BytecodeError, match="unsupported constant type list"):
        dumps(program)
    program = constants_program()
    program.main.instrs.append((-1, 0))
    with pytest.raises(BytecodeError, match="cannot encode"):
        dumps(program)


# --- rejected files -------------------------------------------------------------

GOOD = dumps(compile_source("fn f(a) { return a + 1; }\nprint(\"x\", f(1));", "g.toy"))
BODY = GOOD[:-4]  # (before its checksum)


def seal(body: bytes) -> bytes:
    """`body` with the checksum that makes it whole: so that a test reaches
    the check after the checksum's."""
    return body + struct.pack("<I", zlib.crc32(body))


def rejected(data, sealed: bool = True) -> str:
    """Why `data` (sealed first, unless told not to) is rejected."""
    with pytest.raises(BytecodeError) as info:
        loads(seal(data) if sealed and isinstance(data, bytes) else data)
    return str(info.value)


def test_bad_headers():
    assert rejected(b"", sealed=False) == "not a .toyc file (it does not start with 'TOYC')"
    assert rejected(b"\x7fELF") == "not a .toyc file (it does not start with 'TOYC')"
    assert rejected(MAGIC, sealed=False) == \
        "truncated at byte 0: 8 bytes needed for the header, 4 left"
    for version in (1, 3):  # (1: the format before the checksum)
        assert rejected(MAGIC + bytes([version, 0, 0, 0]) + BODY[8:]) == \
            f"unsupported format version {version} (this vmlab reads version {VERSION}: " \
            "compile the program again)"
    assert rejected(BODY[:6] + b"\x04\x00" + BODY[8:]) == "unknown flags 0x0004 (must be 0)"
    assert rejected(BODY[:8], sealed=False) == \
        "truncated at byte 8: 4 bytes needed for the checksum, 0 left"
    assert rejected("TOYC") == "expected bytes, not str"


def test_a_changed_byte_is_caught_by_the_checksum():
    """A flipped bit in a constant would pass every other check and run a
    different program: the checksum refuses it."""
    at = BODY.index(b"\x03\x01\x00\x00\x00\x00\x00\x00\x00")  # the int constant 1
    changed = GOOD[:at + 1] + b"\x02" + GOOD[at + 2:]
    assert loads(seal(changed[:-4]))  # (a valid program: f(2) instead of f(1))
    message = rejected(changed, sealed=False)
    assert message.startswith("checksum mismatch: the file was changed or damaged (CRC-32 0x")


def test_truncated_and_trailing_bytes():
    for end in range(len(GOOD)):
        assert rejected(GOOD[:end], sealed=False)  # (the checksum, or the header)
    for end in range(len(BODY)):
        assert rejected(BODY[:end])  # (sealed: what the parser says)
    assert rejected(BODY[:-1]) == ("truncated at byte 142: 54 bytes needed for 6 instructions "
                                   "of the main code (<main>), 53 left")
    assert rejected(BODY + b"\x00") == \
        f"1 bytes of garbage after the main code (at byte {len(BODY)})"
    assert loads(bytearray(GOOD)) and loads(memoryview(GOOD))


def test_counts_are_checked_before_allocating():
    huge = BODY[:8] + b"\x00\x00\x00\xff"
    assert rejected(huge) == "4278190080 bytes in the source name exceed the limit of 16777215 (at byte 8)"
    huge = BODY[:8] + b"\xff\xff\xff\x00"
    assert rejected(huge) == ("truncated at byte 12: 16777215 bytes needed for 16777215 bytes "
                              "in the source name, 0 left")
    n = 8 + 4 + 5  # the header, the source name "g.toy": then the function count
    assert rejected(BODY[:n] + b"\xff\xff\xff\x00" + BODY[n + 4:]) == (
        f"truncated at byte {n + 4}: 402653160 bytes needed for 16777215 functions, "
        f"{len(BODY) - n - 4} left")


def test_bad_strings_and_tags():
    bad_utf8 = BODY[:12] + b"\xff" + BODY[13:]
    assert rejected(bad_utf8) == "the source name is not valid UTF-8 (byte 12)"
    at = BODY.index(b"\x05\x01\x00\x00\x00x")   # the string constant "x"
    assert rejected(BODY[:at] + b"\x09" + BODY[at + 1:]) == \
        f"constant 0 of the main code (<main>): unknown constant tag 9 (at byte {at})"


def test_loads_runs_the_verifier():
    program = compile_source("print(1);")
    program.main.instrs[0] = (200, 0)
    assert rejected(dumps(program), sealed=False) == "function <main>, offset 0: unknown opcode 200"


# --- running from bytecode gives the same result as from source ------------------------

def conformance_programs():
    for path in sorted(SUITE.rglob("*.toy")):
        if not path.with_suffix(".out").exists():
            continue
        try:
            compile_file(path)
        except CompileError:
            continue
        yield path


@pytest.mark.parametrize("path", list(conformance_programs()), ids=lambda p: str(p.relative_to(SUITE)))
def test_conformance_program_runs_the_same_from_bytecode(path):
    program = compile_file(path)
    loaded = loads(dumps(program))
    assert_same_program(program, loaded)
    assert run_capture(loaded) == run_capture(program)


# --- fuzz -----------------------------------------------------------------------------

MUTANTS_PER_EXAMPLE = 700       # x 8 examples: 5,600 files
STEPS = 20_000                  # instructions a mutant may run
MAX_DEPTH = 50                  # toy calls
MAX_CELLS = 1_000_000           # array elements array(n, v) may allocate in one run
MAX_OUTPUT = 1_000_000          # characters printed in one run


class _Budget(Exception):
    """A mutant used up its budget (steps, memory or output)."""


class _BoundedOutput(Output):
    def __init__(self):
        super().__init__()
        self.printed = 0

    def line(self, text):
        self.printed += len(text) + 1
        if self.printed > MAX_OUTPUT:
            raise _Budget("output")
        super().line(text)


def budget_observer():
    steps = cells = 0
    array_fill = OP["ARRAY_FILL"]

    def observe(code, pc, stack, depth):
        nonlocal steps, cells
        steps += 1
        if steps > STEPS:
            raise _Budget("steps")
        if code.instrs[pc][0] == array_fill and len(stack) >= 2 and type(stack[-2]) is int:
            cells += max(stack[-2], 0)
            if cells > MAX_CELLS:
                raise _Budget("memory")
    return observe


def clone(program: Program) -> Program:
    def copy(c):
        d = Code(c.name, c.arity, c.line)
        d.instrs, d.lines = list(c.instrs), list(c.lines)
        d.consts, d.local_names = list(c.consts), list(c.local_names)
        return d
    return Program([copy(f) for f in program.functions], copy(program.main), program.source_name)


INTERESTING_U32 = [0, 1, 2, 3, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF]
OTHER_CONSTANTS = [None, True, False, 0, -1, 2**63 - 1, -2**63, 0.0, -0.0, math.nan, 1e308, "s", ""]


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """A mutant of a .toyc file's program bytes, sealed again with its
    checksum nine times in ten (so that the checks after it are reached)."""
    mutant = _mutated(data[:-4], rng)
    return seal(mutant) if rng.random() < 0.9 else mutant + data[-4:]


def _mutated(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    n = len(b)
    kind = rng.randrange(8)
    if kind == 0:                                   # flip bits
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(n)] ^= 1 << rng.randrange(8)
    elif kind == 1:                                 # change bytes
        for _ in range(rng.randint(1, 3)):
            b[rng.randrange(n)] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)])
    elif kind == 2:                                 # truncate
        del b[rng.randrange(n):]
    elif kind == 3:                                 # delete a range
        i = rng.randrange(n)
        del b[i:i + rng.randint(1, 16)]
    elif kind == 4:                                 # duplicate a range
        i = rng.randrange(n)
        j = min(n, i + rng.randint(1, 16))
        k = rng.randrange(n)
        b[k:k] = b[i:j]
    elif kind == 5:                                 # swap two ranges
        size = rng.randint(1, max(1, n // 8))
        i, j = sorted(rng.sample(range(n - size + 1), 2)) if n - size + 1 >= 2 else (0, 0)
        if j >= i + size:
            b[i:i + size], b[j:j + size] = b[j:j + size], b[i:i + size]
    elif kind == 6:                                 # an interesting u32 anywhere
        i = rng.randrange(max(1, n - 3))
        b[i:i + 4] = struct.pack("<I", rng.choice(INTERESTING_U32 + [n, rng.randrange(n)]))
    else:                                           # insert random bytes
        k = rng.randrange(n)
        b[k:k] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return bytes(b)


def mutate_program(program: Program, rng: random.Random) -> bytes:
    p = clone(program)
    codes = p.functions + [p.main]
    c = rng.choice(codes)
    n = len(c.instrs)
    i = rng.randrange(n)
    kind = rng.randrange(10)
    if kind == 0:                                   # a random operand
        op, arg = c.instrs[i]
        c.instrs[i] = (op, rng.choice([0, 1, arg - 1 if arg else 0, arg + 1, n - 1, n,
                                       rng.randrange(n + 2), len(c.consts), len(c.local_names),
                                       0xFFFF_FFFF]))
    elif kind == 1:                                 # a random opcode
        c.instrs[i] = (rng.randrange(len(OPCODES) + 3), c.instrs[i][1])
    elif kind == 2:                                 # swap two instructions
        j = rng.randrange(n)
        c.instrs[i], c.instrs[j] = c.instrs[j], c.instrs[i]
    elif kind == 3:                                 # delete an instruction
        del c.instrs[i], c.lines[i]
    elif kind == 4:                                 # duplicate an instruction
        c.instrs.insert(i, c.instrs[i])
        c.lines.insert(i, c.lines[i])
    elif kind == 5 and c.consts:                    # a constant of another kind
        c.consts[rng.randrange(len(c.consts))] = rng.choice(OTHER_CONSTANTS)
    elif kind == 6:                                 # arity or locals off by one
        if rng.random() < 0.5:
            c.arity = max(0, c.arity + rng.choice([-1, 1]))
        elif c.local_names and rng.random() < 0.5:
            c.local_names.pop()
        else:
            c.local_names.append("extra")
    elif kind == 7 and p.functions:                 # swap functions (or one with main)
        a = rng.randrange(len(p.functions))
        if rng.random() < 0.5:
            b = rng.randrange(len(p.functions))
            p.functions[a], p.functions[b] = p.functions[b], p.functions[a]
        else:
            p.functions[a], p.main = p.main, p.functions[a]
    elif kind == 8:                                 # swap instruction sections
        d = rng.choice(codes)
        c.instrs, d.instrs = d.instrs, c.instrs
        c.lines, d.lines = d.lines, c.lines
    else:                                           # swap constant sections
        d = rng.choice(codes)
        c.consts, d.consts = d.consts, c.consts
    return dumps(p)


def try_mutant(data: bytes) -> str:
    """Load and run one mutated file: 'rejected', 'completed', 'runtime error'
    or 'budget'. Any other exception propagates."""
    try:
        program = loads(data)
    except BytecodeError as e:
        assert str(e)
        return "rejected"
    try:
        result = run_capture(program, MAX_DEPTH, budget_observer(), _BoundedOutput())
    except _Budget:
        return "budget"
    # Within the budget, the loop without an observer (which fuses comparisons
    # with the following jump) must do exactly the same.
    assert run_capture(program, MAX_DEPTH) == result
    return "completed" if result[1] is None else "runtime error"


def test_fuzz_mutated_files():
    counts = dict.fromkeys(["rejected", "completed", "runtime error", "budget"], 0)
    failures = []
    total = 0
    for path in EXAMPLES:
        program = compile_file(path)
        data = dumps(program)
        rng = random.Random(f"toyc fuzz {path.name}")
        for _ in range(MUTANTS_PER_EXAMPLE):
            mutant = (mutate_bytes(data, rng) if rng.random() < 0.5
                      else mutate_program(program, rng))
            total += 1
            try:
                counts[try_mutant(mutant)] += 1
            except Exception:  # noqa: BLE001 - any other exception is the finding
                failures.append((path.name, mutant.hex(), traceback.format_exc()))
    ran = counts["completed"] + counts["runtime error"]
    print(f"\nfuzz: {total} mutated files: {counts['rejected']} rejected, {ran} ran "
          f"({counts['completed']} completed, {counts['runtime error']} runtime errors), "
          f"{counts['budget']} stopped by the budget")
    assert not failures, "\n\n".join(f"{name}: {data}\n{tb}" for name, data, tb in failures[:5])
    assert total >= 5000
    assert counts["rejected"] and ran and counts["budget"]
