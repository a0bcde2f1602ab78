"""Tiny but valid binary files for the sample site, built from bytes.

Every builder is deterministic (no timestamps, no random ids) so `generate.py` reproduces the
committed site byte for byte, and no image library is needed to build or read them.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

RGB = tuple[int, int, int]


def _lzw_gif(indices: bytes, min_code_size: int) -> bytes:
    """LZW-compress palette indices the way GIF decoders expect (variable width, LSB first)."""
    clear = 1 << min_code_size
    end = clear + 1
    out = bytearray()
    bit_buffer = 0
    bit_count = 0

    def emit(code: int, width: int) -> None:
        nonlocal bit_buffer, bit_count
        bit_buffer |= code << bit_count
        bit_count += width
        while bit_count >= 8:
            out.append(bit_buffer & 0xFF)
            bit_buffer >>= 8
            bit_count -= 8

    def reset() -> tuple[dict[bytes, int], int, int]:
        table = {bytes([i]): i for i in range(clear)}
        return table, end + 1, min_code_size + 1

    table, next_code, width = reset()
    emit(clear, width)
    prefix = b""
    for value in indices:
        candidate = prefix + bytes([value])
        if candidate in table:
            prefix = candidate
            continue
        emit(table[prefix], width)
        if next_code < 4096:
            table[candidate] = next_code
            next_code += 1
            # Decoders add each entry one code later than the encoder, so the width grows
            # once the encoder has gone one past the current width's range.
            if next_code > (1 << width) and width < 12:
                width += 1
        else:
            emit(clear, width)
            table, next_code, width = reset()
        prefix = bytes([value])
    if prefix:
        emit(table[prefix], width)
        # The decoder adds one more entry on reading that last code and may widen before EOI.
        next_code += 1
        if next_code > (1 << width) and width < 12:
            width += 1
    emit(end, width)
    if bit_count:
        out.append(bit_buffer & 0xFF)
    return bytes(out)


def gif(width: int, height: int, colour: RGB, accent: RGB | None = None) -> bytes:
    """A GIF89a of one colour, or with a one-pixel accent border so two images can differ."""
    palette = bytes(colour) + bytes(accent or colour)
    pixels = bytearray()
    for y in range(height):
        for x in range(width):
            edge = x in (0, width - 1) or y in (0, height - 1)
            pixels.append(1 if accent is not None and edge else 0)
    data = _lzw_gif(bytes(pixels), 2)
    blocks = b"".join(
        bytes([len(data[i : i + 255])]) + data[i : i + 255] for i in range(0, len(data), 255)
    )
    screen = struct.pack("<HHBBB", width, height, 0x80, 0, 0)  # global table of 2 entries
    image = b"," + struct.pack("<HHHHB", 0, 0, width, height, 0)
    return b"GIF89a" + screen + palette + image + bytes([2]) + blocks + b"\x00;"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, colour: RGB) -> bytes:
    """An 8-bit RGB PNG of one colour."""
    row = b"\x00" + bytes(colour) * width  # filter type 0 per scanline
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(row * height, 9))
        + _png_chunk(b"IEND", b"")
    )


def ico(colour: RGB) -> bytes:
    """A 16x16 Windows icon holding one PNG image (the Vista-era ICO form)."""
    image = png(16, 16, colour)
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", 16, 16, 0, 0, 1, 32, len(image), 6 + 16)
    return header + entry + image


def pdf(text: str) -> bytes:
    """A one-page PDF 1.4 showing one line of Helvetica text, with exact xref offsets."""
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 14 Tf 72 720 Td ({escaped}) Tj ET\n".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"endstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    return pdf_file(objects)


PDF_HEADER = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"  # the binary comment marks the file as binary


def pdf_file(objects: Sequence[bytes], *, info: int | None = None, xref_shift: int = 0) -> bytes:
    """A PDF 1.4 whose object N is ``objects[N - 1]``, object 1 its catalog, with an xref
    table of exact offsets; ``xref_shift`` moves every one (a broken xref, for a reader to
    repair: tests/pdfs.py)."""
    out = bytearray(PDF_HEADER)
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % (offset + xref_shift) for offset in offsets)
    info_ref = b" /Info %d 0 R" % info if info else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\n" % (len(objects) + 1, info_ref)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


def swf() -> bytes:
    """An empty one-frame Flash 4 movie, 100x100 pixels."""
    bits = "01100"  # 12 bits per RECT field
    for value in (0, 2000, 0, 2000):  # twips
        bits += format(value, "012b")
    bits += "0" * (-len(bits) % 8)
    rect = int(bits, 2).to_bytes(len(bits) // 8, "big")
    body = rect + struct.pack("<HH", 12 << 8, 1) + struct.pack("<HH", 1 << 6, 0)  # ShowFrame, End
    return b"FWS" + bytes([4]) + struct.pack("<I", 8 + len(body)) + body


def midi() -> bytes:
    """A format-0 MIDI file playing one middle C."""
    events = bytes([0x00, 0x90, 60, 64, 0x60, 0x80, 60, 0, 0x00, 0xFF, 0x2F, 0x00])
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 96)
    return header + b"MTrk" + struct.pack(">I", len(events)) + events


def java_class(name: str, superclass: str) -> bytes:
    """A JDK 1.1 class file with only a default constructor calling its superclass."""

    def utf8(text: str) -> bytes:
        raw = text.encode("ascii")
        return b"\x01" + struct.pack(">H", len(raw)) + raw

    pool = [
        b"\x07" + struct.pack(">H", 2),  # 1 Class this
        utf8(name),  # 2
        b"\x07" + struct.pack(">H", 4),  # 3 Class super
        utf8(superclass),  # 4
        b"\x0a" + struct.pack(">HH", 3, 6),  # 5 Methodref super.<init>
        b"\x0c" + struct.pack(">HH", 7, 8),  # 6 NameAndType
        utf8("<init>"),  # 7
        utf8("()V"),  # 8
        utf8("Code"),  # 9
    ]
    code = bytes([0x2A, 0xB7, 0x00, 0x05, 0xB1])  # aload_0; invokespecial #5; return
    code_attr = struct.pack(">HHI", 1, 1, len(code)) + code + struct.pack(">HH", 0, 0)
    method = struct.pack(">HHHH", 0x0001, 7, 8, 1) + struct.pack(">HI", 9, len(code_attr))
    return (
        struct.pack(">IHH", 0xCAFEBABE, 3, 45)
        + struct.pack(">H", len(pool) + 1)
        + b"".join(pool)
        + struct.pack(">HHHH", 0x0021, 1, 3, 0)  # public super; no interfaces
        + struct.pack(">H", 0)  # fields
        + struct.pack(">H", 1)
        + method
        + code_attr
        + struct.pack(">H", 0)  # class attributes
    )
