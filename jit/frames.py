"""The native stack frames of compiled code, read from the object file.

`frame_sizes(obj)` gives each function of a relocatable ELF64 object (what
`TargetMachine.emit_object` returns) the most stack it uses: the largest
distance from its stack pointer up to its canonical frame address (the
caller's stack pointer before the call), so the return address, the saved
registers, the spill slots and locals and the outgoing call arguments.
`max_frame(obj)` is the largest of them. Both are upper bounds: exact where
the call-frame information (.eh_frame) describes the frame, a little more
where it cannot, never less; None where no bound exists (a dynamic alloca).

Three cases (x86-64 and aarch64; other machines raise ValueError):

* The CFA stays "stack pointer + offset" throughout the function: the frame
  is the largest offset. Exact: an unwinder must find the CFA at every
  instruction, so LLVM emits a rule for every change of the stack pointer,
  call-argument pushes included (.cfi_adjust_cfa_offset).
* The CFA moves to the frame pointer (rbp, x29): LLVM does so when the frame
  address is taken (llvm.frameaddress: the JIT's entry wrappers), for
  over-aligned locals (stack realignment) and for dynamic allocas (neither
  occurs in the JIT's code: its allocas are static, in the entry block, and
  vector spills use unaligned moves rather than realigning). From then on
  the CFI no longer says where the stack pointer is, and code may still push
  call arguments below the fixed frame; so the function's code is scanned.
* No CFI at all: LLVM emits none for `nounwind` functions without
  `uwtable`, which the -O2 pipeline infers for leaf functions. Scanned too.

The scan (`_scan_x86_64`, `_scan_aarch64`) adds up every decrement of the
stack pointer found in the code: pushes, `sub $n, sp`, realignment (at most
its alignment), pre-indexed stores. That bounds the frame because LLVM's
code has the same stack pointer wherever paths meet (a call's argument
pushes are popped before the next block), so no decrement counts twice.
aarch64 instructions are aligned words, decoded exactly; x86-64 code is
scanned at every byte offset instead of decoded, so a byte that merely looks
like a push (a ModRM or displacement byte 0x50-0x57) adds 8: the entry
wrappers' 64 to 80 bytes read as 72 to 120. Setting the stack pointer from a
register other than the frame pointer (a dynamic alloca) gives None.

Not counted, as for any CFA-based size: the x86-64 red zone, 128 bytes
below the stack pointer that a leaf function may use without moving it;
it is used by the innermost frame only, so it is a margin at the bottom of
the stack, not a cost per call.
"""

from __future__ import annotations

import struct

EM_X86_64, EM_AARCH64 = 62, 183
SP = {EM_X86_64: 7, EM_AARCH64: 31}  # the stack pointer's DWARF register number
SHF_EXECINSTR, SHT_SYMTAB, SHT_RELA, STT_FUNC = 0x4, 2, 4, 2


def max_frame(obj: bytes) -> int | None:
    """The largest frame of the object's functions (bytes), or None if one
    has no static bound; 0 for an object without code."""
    sizes = list(frame_sizes(obj).values())
    return None if None in sizes else max(sizes, default=0)


def frame_sizes(obj: bytes) -> dict[str, int | None]:
    """{function name: its largest frame in bytes, or None if unbounded}.
    Code outside the FDEs is scanned, split at function symbols (code
    without a symbol, such as padding, counts for the function before it)."""
    elf = _Elf(obj)
    scan = {EM_X86_64: _scan_x86_64, EM_AARCH64: _scan_aarch64}[elf.machine]
    pieces = []  # (section, start, end, frame from the CFI or None)
    for section, start, length, frame in _fdes(elf):
        pieces.append((section, start, start + length, frame))
    for section in elf.code_sections():
        covered = sorted((a, b) for s, a, b, _ in pieces if s == section)
        pos, size = 0, len(elf.data(section))
        for a, b in covered + [(size, size)]:
            cuts = [pos] + sorted(v for s, v in elf.functions if s == section and pos < v < a)
            pieces += [(section, lo, hi, None) for lo, hi in zip(cuts, cuts[1:] + [a]) if lo < hi]
            pos = max(pos, b)
    sizes: dict[str, int | None] = {}
    name = None
    for section, start, end, frame in sorted(pieces):
        if frame is None:
            frame = scan(elf.data(section)[start:end])
        name = elf.functions.get((section, start)) or (
            name if start else f"{elf.names[section]}+{start:#x}")
        if name in sizes:  # (the same function again: keep the worse)
            frame = None if None in (frame, sizes[name]) else max(frame, sizes[name])
        sizes[name] = frame
    return sizes


class _Elf:
    """The sections and function symbols of a little-endian ELF64 object."""

    def __init__(self, obj: bytes):
        if obj[:4] != b"\x7fELF" or obj[4] != 2 or obj[5] != 1:
            raise ValueError("not a little-endian ELF64 object")
        self.obj = obj
        self.machine, = struct.unpack_from("<H", obj, 18)
        if self.machine not in SP:
            raise ValueError(f"ELF machine {self.machine}: not x86-64 or aarch64")
        shoff, = struct.unpack_from("<Q", obj, 0x28)
        shnum, shstrndx = struct.unpack_from("<HH", obj, 0x3C)
        # (name, type, flags, offset, size, link, info) of each section
        self.sections = [struct.unpack_from("<IIQ8xQQII", obj, shoff + 64 * i)
                         for i in range(shnum)]
        self.names = [self._string(shstrndx, s[0]) for s in self.sections]
        self.symbols: list[tuple[str, int, int, int]] = []  # (name, type, section, value)
        for _, kind, _, offset, size, link, _ in self.sections:
            if kind == SHT_SYMTAB:
                for at in range(offset, offset + size, 24):
                    name, info, section, value = struct.unpack_from("<IB1xHQ", obj, at)
                    self.symbols.append((self._string(link, name), info & 0xF, section, value))
        self.functions = {(s, v): n for n, t, s, v in self.symbols if t == STT_FUNC and s}

    def _string(self, section: int, at: int) -> str:
        start = self.sections[section][3] + at
        return self.obj[start:self.obj.index(b"\0", start)].decode(errors="replace")

    def data(self, section: int) -> bytes:
        _, _, _, offset, size, _, _ = self.sections[section]
        return self.obj[offset:offset + size]

    def find(self, name: str) -> int | None:
        return self.names.index(name) if name in self.names else None

    def code_sections(self) -> list[int]:
        return [i for i, s in enumerate(self.sections) if s[2] & SHF_EXECINSTR]

    def relocations(self, section: int) -> dict[int, tuple[int, int]]:
        """{offset in `section`: (target section, offset in it)} of its RELA."""
        targets = {}
        for _, kind, _, offset, size, _, info in self.sections:
            if kind == SHT_RELA and info == section:
                for at in range(offset, offset + size, 24):
                    where, rinfo, addend = struct.unpack_from("<QQq", self.obj, at)
                    _, _, target, value = self.symbols[rinfo >> 32]
                    targets[where] = (target, value + addend)
        return targets


def _fdes(elf: _Elf):
    """(code section, start, length, frame or None if the CFI cannot tell)
    of each FDE in .eh_frame."""
    index = elf.find(".eh_frame")
    if index is None:
        return
    data, targets, cies = elf.data(index), elf.relocations(index), {}
    at = 0
    while at + 4 <= len(data):
        length, = struct.unpack_from("<I", data, at)
        if length == 0:  # a terminator
            break
        body, end = at + 4, at + 4 + length
        if length == 0xFFFFFFFF:
            length, = struct.unpack_from("<Q", data, body)
            body, end = body + 8, body + 8 + length
        pointer, = struct.unpack_from("<I", data, body)
        if pointer == 0:
            cies[at] = _Cie(data, body + 4, end)
        else:
            cie = cies[body - pointer]
            start_at = body + 4
            size = _ENCODED_SIZE[cie.encoding & 0x0F]
            if start_at not in targets:
                raise ValueError("an FDE without a relocation: not a relocatable object")
            section, start = targets[start_at]  # (the object holds 0: a relocation)
            fmt = {2: "<H", 4: "<I", 8: "<Q"}[size]
            count, = struct.unpack_from(fmt, data, start_at + size)
            i = start_at + 2 * size
            if cie.augmented:
                skip, i = _uleb(data, i)
                i += skip
            yield section, start, count, _run_cfa(cie, data[i:end], SP[elf.machine])
        at = end


# The size of a pointer encoded by DW_EH_PE_* (low four bits).
_ENCODED_SIZE = {0x0: 8, 0x2: 2, 0x3: 4, 0x4: 8, 0xA: 2, 0xB: 4, 0xC: 8}


class _Cie:
    """What FDEs take from their CIE: the data alignment factor, the
    encoding of their pointers, whether they have augmentation data, and
    the initial CFA instructions."""

    def __init__(self, data: bytes, i: int, end: int):
        version = data[i]
        augmentation = data[i + 1:data.index(b"\0", i + 1)].decode()
        i += 2 + len(augmentation)
        _, i = _uleb(data, i)  # the code alignment factor (locations are not needed)
        self.data_align, i = _sleb(data, i)
        if version == 1:
            i += 1  # the return address register
        else:
            _, i = _uleb(data, i)
        self.encoding, self.augmented = 0x00, augmentation.startswith("z")
        if self.augmented:  # its data: the one item read here is the pointers' encoding
            n, j = _uleb(data, i)
            i = j + n
            for c in augmentation[1:]:
                if c == "R":
                    self.encoding = data[j]
                    break
                j += {"P": 1 + _ENCODED_SIZE.get(data[j] & 0x0F, 0), "L": 1}.get(c, 0)
        self.initial = data[i:end]


def _run_cfa(cie: _Cie, program: bytes, sp: int) -> int | None:
    """The largest CFA offset of the rows of an FDE whose CFA is always the
    stack pointer plus an offset; None if it is ever something else or an
    instruction is unknown (the caller then scans the code)."""
    cfa = [None, 0]           # [register, offset]
    largest, saved = 0, []    # remember_state's stack
    for code in (cie.initial, program):
        i = 0
        while i < len(code):
            op, i = code[i], i + 1
            high = op & 0xC0
            if high == 0x40 or high == 0xC0 or op in (0x00, 0x2C, 0x2D):
                continue  # advance_loc, restore, nop, aarch64's negate_ra_state(_with_pc)
            if high == 0x80:  # offset: the saved register's slot (not the CFA)
                _, i = _uleb(code, i)
                continue
            if op == 0x01:  # set_loc
                i += _ENCODED_SIZE[cie.encoding & 0x0F]
            elif op in (0x02, 0x03, 0x04):  # advance_loc1/2/4
                i += 1 << (op - 2)
            elif op in (0x05, 0x09, 0x14, 0x2F):  # two ulebs: registers and offsets
                _, i = _uleb(code, i)
                _, i = _uleb(code, i)
            elif op in (0x06, 0x07, 0x08, 0x2E):  # one uleb
                _, i = _uleb(code, i)
            elif op in (0x11, 0x15):  # register, signed offset
                _, i = _uleb(code, i)
                _, i = _sleb(code, i)
            elif op in (0x10, 0x16):  # register, expression block
                _, i = _uleb(code, i)
                n, i = _uleb(code, i)
                i += n
            elif op == 0x0A:
                saved.append(list(cfa))
            elif op == 0x0B:
                cfa = saved.pop()
            elif op == 0x0C:  # def_cfa
                cfa[0], i = _uleb(code, i)
                cfa[1], i = _uleb(code, i)
            elif op == 0x0D:  # def_cfa_register
                cfa[0], i = _uleb(code, i)
            elif op == 0x0E:  # def_cfa_offset
                cfa[1], i = _uleb(code, i)
            elif op == 0x12:  # def_cfa_sf
                cfa[0], i = _uleb(code, i)
                n, i = _sleb(code, i)
                cfa[1] = n * cie.data_align
            elif op == 0x13:  # def_cfa_offset_sf
                n, i = _sleb(code, i)
                cfa[1] = n * cie.data_align
            else:  # def_cfa_expression (0x0F) or unknown: no offset to read
                return None
            if cfa[0] != sp:
                return None
            largest = max(largest, cfa[1])
    return largest


def _uleb(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[i]
        value |= (byte & 0x7F) << shift
        i, shift = i + 1, shift + 7
        if byte < 0x80:
            return value, i


def _sleb(data: bytes, i: int) -> tuple[int, int]:
    start = i
    value, i = _uleb(data, i)
    bits = 7 * (i - start)
    return (value - (1 << bits) if value >> (bits - 1) & 1 else value), i


def _scan_x86_64(code: bytes) -> int | None:
    """8 (the return address) plus every stack-pointer decrement that any
    byte offset of `code` could start; None if rsp is set from a register
    other than rbp. The forms are those LLVM emits: push, sub/add/and with
    an immediate, lea, and mov/add/sub from a register."""
    total = 8
    for i, op in enumerate(code):
        if 0x50 <= op <= 0x57 or op in (0x68, 0x6A):  # push reg, push imm
            total += 8
        elif op == 0xFF and i + 1 < len(code) and code[i + 1] & 0x38 == 0x30:  # push m64
            total += 8
        if op & 0xF8 != 0x48 or i + 2 >= len(code):  # REX.W: 64-bit operands
            continue
        rex, op, m = op, code[i + 1], code[i + 2]
        rm_is_sp = m & 0xC7 == 0xC4 and not rex & 1    # register direct, rm = rsp
        reg_is_sp = m & 0x38 == 0x20 and not rex & 4   # reg field = rsp
        if op in (0x81, 0x83) and rm_is_sp:
            fmt, at = ("<i", 4) if op == 0x81 else ("<b", 1)
            if i + 3 + at > len(code):
                continue
            imm, = struct.unpack_from(fmt, code, i + 3)
            kind = (m >> 3) & 7
            if kind == 5:      # sub $imm, %rsp
                total += max(imm, 0)
            elif kind == 0:    # add $imm, %rsp
                total += max(-imm, 0)
            elif kind == 4 and imm < 0:  # and $-align, %rsp (its worst-case padding)
                total += -imm - 8
            elif kind != 7:    # (cmp) or, adc, sbb, xor, a positive and
                return None
        elif op == 0x8D and reg_is_sp and m >> 6 != 3:  # lea ..., %rsp
            base, at = m & 7, i + 3
            if base == 4 and at < len(code):  # a SIB byte: base and index
                base = code[at] & 7 if (code[at] >> 3) & 7 == 4 and not rex & 2 else -1
                at += 1
            size = {1: 1, 2: 4}.get(m >> 6, 0)
            if rex & 1 or base not in (4, 5) or (base == 5 and size == 0):
                return None
            if base == 4 and size and at + size <= len(code):  # lea disp(%rsp), %rsp
                disp, = struct.unpack_from("<b" if size == 1 else "<i", code, at)
                total += max(-disp, 0)
            # base rbp: the epilogue restores rsp from the frame pointer
        elif op in (0x89, 0x01, 0x29) and rm_is_sp or op in (0x8B, 0x03, 0x2B) and reg_is_sp:
            # mov/add/sub from a register (or memory) to %rsp
            if not (op in (0x89, 0x8B) and m in (0xEC, 0xE5) and rex == 0x48):
                return None  # (mov %rbp, %rsp restores it)
    return total


def _scan_aarch64(code: bytes) -> int | None:
    """Every stack-pointer decrement of `code`, one instruction word at a
    time (the CFA is sp itself at entry: the return address is in x30);
    None if sp is set from a register other than x29 or by SVE's addvl."""
    total = 0
    for word, in struct.iter_unpack("<I", code[:len(code) & ~3]):
        rd, rn = word & 31, (word >> 5) & 31
        if word & 0x7F800000 == 0x51000000 and word >> 31:  # sub (immediate), 64-bit
            if rn == 31:  # sp - imm: sub sp, sp, #n (or into a register, to realign)
                total += ((word >> 10) & 0xFFF) << (12 if word & 1 << 22 else 0)
            elif rd == 31 and rn != 29:
                return None
        elif word & 0x7F800000 == 0x11000000 and word >> 31:  # add (immediate), 64-bit
            if rd == 31 and rn not in (29, 31):  # mov sp, xN
                return None
        elif word & 0x7FE00000 in (0x0B200000, 0x4B200000) and rd == 31:  # extended reg
            return None
        elif word & 0xFF800000 == 0x92000000 and rd == 31:  # and sp, xN, #-align
            imms, immr = (word >> 10) & 0x3F, (word >> 16) & 0x3F
            if not (word >> 22 & 1 and immr == imms + 1 < 64):  # not ~(align - 1):
                return None  # (imms + 1 ones rotated right by immr: to the top)
            total += 1 << (63 - imms)  # the alignment
        elif word & 0x7F800000 in (0x32000000, 0x52000000) and rd == 31 or \
                word & 0xFFA0F800 == 0x04205000 and rd == 31:  # orr/eor sp, addvl/addpl
            return None
        elif word & 0x3A000000 == 0x28000000 and (word >> 23) & 1 and rn == 31:
            # stp/ldp with writeback (pre or post index) on sp: imm7, scaled
            imm = ((word >> 15) & 0x7F) - (128 if word & 1 << 21 else 0)
            opc = word >> 30
            scale = 4 << opc if word >> 26 & 1 else (4, 16, 8, 8)[opc]  # (stgp: 16)
            total += max(-imm * scale, 0)
        elif word & 0x3B200400 == 0x38000400 and rn == 31:
            # str/ldr with writeback on sp: imm9, unscaled
            imm = ((word >> 12) & 0x1FF) - (512 if word & 1 << 20 else 0)
            total += max(-imm, 0)
    return total
