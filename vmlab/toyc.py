"""The portable bytecode file (`.toyc`): a Program as bytes, and back.

The layout is in docs/bytecode-format.md. In short: every field has a fixed
width and little-endian byte order (explicit `<` struct formats), strings are
a u32 byte count and UTF-8, constants carry a one-byte tag, floats are their
IEEE binary64 bits, and the file ends with the CRC-32 of all that comes
before it (a damaged file is rejected, not run as another program). Nothing
in the file depends on the machine or the Python that wrote it.

`loads` trusts nothing: every count is checked against the bytes that remain
before anything is allocated, every string must be valid UTF-8, and the
resulting Program must pass the verifier (`vmlab.verify`). Whatever the
input, it returns a Program that is safe to run or raises BytecodeError.
"""

from __future__ import annotations

import struct
import zlib

from vmlab.code import Code, Program
from vmlab.verify import MAX_ITEMS, MAX_LOCALS, MAX_STRING, BytecodeError, shown, verify

__all__ = ["MAGIC", "VERSION", "BytecodeError", "dumps", "is_toyc", "loads"]

MAGIC = b"TOYC"
VERSION = 2  # 2: the CRC-32 trailer

# Constant tags.
TAG_NIL, TAG_FALSE, TAG_TRUE, TAG_INT, TAG_FLOAT, TAG_STR = range(6)

_HEADER = struct.Struct("<4sHH")   # magic, version, flags
_U8 = struct.Struct("<B")
_U32 = struct.Struct("<I")
_I64 = struct.Struct("<q")
_F64 = struct.Struct("<d")         # IEEE 754 binary64, bits kept as they are
_INSTR = struct.Struct("<BI")      # opcode, argument: 5 bytes
_LINE = _U32

# The fewest bytes one item of each counted list takes, so that a count can
# be rejected before anything is allocated for it.
_MIN_CODE = 6 * 4                  # name length, arity, line and three counts
_MIN_NAME = 4                      # an empty string
_MIN_CONST = 1                     # a tag alone (nil, false, true)
_MIN_INSTR = _INSTR.size + _LINE.size


# --- writing ----------------------------------------------------------------

def dumps(program: Program) -> bytes:
    """The .toyc bytes of a program. BytecodeError if a field does not fit
    the format (loading checks everything else: see `loads`)."""
    out = bytearray(_HEADER.pack(MAGIC, VERSION, 0))
    try:
        _put_str(out, program.source_name)
        out += _U32.pack(len(program.functions))
        for code in program.functions:
            _put_code(out, code)
        _put_code(out, program.main)
    except (struct.error, UnicodeError, TypeError, AttributeError) as e:
        raise BytecodeError(f"cannot encode the program: {e}") from None
    return bytes(out + _U32.pack(zlib.crc32(out)))


def encoded_size(code: Code) -> int:
    """The bytes one function takes in a .toyc file."""
    out = bytearray()
    _put_code(out, code)
    return len(out)


def _put_str(out: bytearray, text: str) -> None:
    data = text.encode("utf-8")
    out += _U32.pack(len(data))
    out += data


def _put_code(out: bytearray, code: Code) -> None:
    _put_str(out, code.name)
    out += _U32.pack(code.arity)
    out += _U32.pack(code.line)
    out += _U32.pack(len(code.local_names))
    for name in code.local_names:
        _put_str(out, name)
    out += _U32.pack(len(code.consts))
    for value in code.consts:
        _put_const(out, value)
    if len(code.lines) != len(code.instrs):
        raise TypeError(f"function {code.name}: {len(code.lines)} line numbers for "
                        f"{len(code.instrs)} instructions")
    out += _U32.pack(len(code.instrs))
    for opcode, arg in code.instrs:
        out += _INSTR.pack(opcode, arg)
    for line in code.lines:
        out += _LINE.pack(line)


def _put_const(out: bytearray, value) -> None:
    kind = type(value)
    if value is None:
        out += _U8.pack(TAG_NIL)
    elif kind is bool:
        out += _U8.pack(TAG_TRUE if value else TAG_FALSE)
    elif kind is int:
        out += _U8.pack(TAG_INT) + _I64.pack(value)
    elif kind is float:
        out += _U8.pack(TAG_FLOAT) + _F64.pack(value)
    elif kind is str:
        out += _U8.pack(TAG_STR)
        _put_str(out, value)
    else:
        raise TypeError(f"unsupported constant type {kind.__name__}")


# --- reading ----------------------------------------------------------------

def is_toyc(data: bytes) -> bool:
    """Whether `data` starts like a .toyc file."""
    return bytes(data[:len(MAGIC)]) == MAGIC


def loads(data: bytes) -> Program:
    """Parse and verify .toyc bytes; BytecodeError(reason) if they are not a
    valid, safe program."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise BytecodeError(f"expected bytes, not {type(data).__name__}")
    data = bytes(data)
    reader = _Reader(data)
    if not is_toyc(reader.data):
        raise BytecodeError("not a .toyc file (it does not start with 'TOYC')")
    _magic, version, flags = reader.unpack(_HEADER, "the header")
    if version != VERSION:
        raise BytecodeError(f"unsupported format version {version} (this vmlab reads "
                            f"version {VERSION}: compile the program again)")
    if flags != 0:
        raise BytecodeError(f"unknown flags 0x{flags:04x} (must be 0)")
    reader.need(_U32.size, "the checksum")
    stored, computed = _U32.unpack(data[-4:])[0], zlib.crc32(data[:-4])
    if stored != computed:
        raise BytecodeError(f"checksum mismatch: the file was changed or damaged (CRC-32 "
                            f"0x{stored:08x} stored, 0x{computed:08x} computed)")
    reader.data = data[:-4]  # (the checksum checked: then the program's bytes)
    source_name = reader.string("the source name")
    count = reader.count("functions", _MIN_CODE, MAX_ITEMS)
    functions = [reader.code(f"function {i}") for i in range(count)]
    main = reader.code("the main code")
    if reader.pos != len(reader.data):
        raise BytecodeError(f"{len(reader.data) - reader.pos} bytes of garbage after "
                            f"the main code (at byte {reader.pos})")
    program = Program(functions, main, source_name)
    verify(program)
    return program


class _Reader:
    """A cursor over the file; every read checks that the bytes are there."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def need(self, size: int, what: str) -> None:
        left = len(self.data) - self.pos
        if size > left:
            raise BytecodeError(f"truncated at byte {self.pos}: {size} bytes needed for "
                                f"{what}, {left} left")

    def unpack(self, fmt: struct.Struct, what: str) -> tuple:
        self.need(fmt.size, what)
        values = fmt.unpack_from(self.data, self.pos)
        self.pos += fmt.size
        return values

    def u32(self, what: str) -> int:
        return self.unpack(_U32, what)[0]

    def count(self, what: str, item_size: int, limit: int) -> int:
        """A u32 count of items of at least `item_size` bytes each."""
        at = self.pos
        n = self.u32(f"the number of {what}")
        if n > limit:
            raise BytecodeError(f"{n} {what} exceed the limit of {limit} (at byte {at})")
        self.need(n * item_size, f"{n} {what}")
        return n

    def string(self, what: str) -> str:
        n = self.count(f"bytes in {what}", 1, MAX_STRING)
        raw = self.data[self.pos:self.pos + n]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise BytecodeError(f"{what} is not valid UTF-8 (byte {self.pos + e.start})") from None
        self.pos += n
        return text

    def code(self, what: str) -> Code:
        name = self.string(f"the name of {what}")
        what = f"{what} ({shown(name)})"
        arity = self.u32(f"the arity of {what}")
        line = self.u32(f"the line of {what}")
        code = Code(name, arity, line)
        count = self.count(f"locals of {what}", _MIN_NAME, MAX_LOCALS)
        code.local_names = [self.string(f"local {i} of {what}") for i in range(count)]
        count = self.count(f"constants of {what}", _MIN_CONST, MAX_ITEMS)
        code.consts = [self.const(f"constant {i} of {what}") for i in range(count)]
        count = self.count(f"instructions of {what}", _MIN_INSTR, MAX_ITEMS)
        end = self.pos + count * _INSTR.size
        code.instrs = list(_INSTR.iter_unpack(self.data[self.pos:end]))
        self.pos = end
        code.lines = list(struct.unpack_from(f"<{count}I", self.data, self.pos))
        self.pos += count * _LINE.size
        return code

    def const(self, what: str):
        at = self.pos
        tag = self.unpack(_U8, what)[0]
        if tag == TAG_NIL:
            return None
        if tag == TAG_FALSE:
            return False
        if tag == TAG_TRUE:
            return True
        if tag == TAG_INT:
            return self.unpack(_I64, what)[0]
        if tag == TAG_FLOAT:
            return self.unpack(_F64, what)[0]
        if tag == TAG_STR:
            return self.string(what)
        raise BytecodeError(f"{what}: unknown constant tag {tag} (at byte {at})")
