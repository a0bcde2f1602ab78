"""PDFs written byte by byte for the text tests: well-formed ones, and hostile ones by design.

Writing them here, rather than with a PDF library, keeps the tests independent of the reader
they test, and lets a test break exactly one thing (an xref offset, a stream's length, the end
of the file).
"""

from __future__ import annotations

import codecs
import zlib
from collections.abc import Sequence

# The sample site's PDF writer: every test PDF is laid out the same way, xref and all.
from samplesite.media import pdf_file

HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"


def stream(data: bytes, *, compress: bool = False, extra: bytes = b"") -> bytes:
    if compress:
        data = zlib.compress(data, 9)
        extra += b" /Filter /FlateDecode"
    return b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def pdf_string(text: str, encoding: str = "cp1252") -> bytes:
    """A PDF literal string of ``text`` in a simple font's encoding (WinAnsi is cp1252)."""
    raw = text.encode(encoding)
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def text_content(lines: Sequence[bytes]) -> bytes:
    """A content stream showing each operand (a PDF string) on its own line, in font F1."""
    shown = b"".join(b"%s Tj T*\n" % line for line in lines)
    return b"BT /F1 12 Tf 14 TL 72 720 Td\n" + shown + b"ET\n"


def pages_pdf(
    pages: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    compress: bool = False,
    font: bytes = HELVETICA,
    encoding: str = "cp1252",
    xref_shift: int = 0,
) -> bytes:
    """A PDF with one page per entry of ``pages``, each line of it shown as a line of text."""
    # 1 catalog, 2 page tree, 3 font, 4 info (if any), then a page and its content per page.
    first = 5 if title is not None else 4
    kids = b" ".join(b"%d 0 R" % (first + 2 * i) for i in range(len(pages)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages)),
        font,
    ]
    if title is not None:
        # A text string: UTF-16BE after a byte order mark, so any script can be in it.
        utf16 = codecs.BOM_UTF16_BE + title.encode("utf-16-be")
        objects.append(b"<< /Title <%s> /Producer (tests) >>" % utf16.hex().encode())
    for i, lines in enumerate(pages):
        content = text_content([pdf_string(line, encoding) for line in lines])
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (first + 2 * i + 1)
        )
        objects.append(stream(content, compress=compress))
    return pdf_file(objects, info=4 if title is not None else None, xref_shift=xref_shift)


def one_page_pdf(content: bytes, *, font: bytes = HELVETICA, extra: Sequence[bytes] = ()) -> bytes:
    """One page whose content stream object is ``content`` (a whole stream object), font F1;
    ``extra`` objects follow, numbered from 6."""
    return pdf_file(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
            content,
            font,
            *extra,
        ]
    )


def to_unicode_cmap(code_bytes: int, mapping: dict[int, str]) -> bytes:
    """A ToUnicode CMap mapping character codes of ``code_bytes`` bytes to text."""
    width = code_bytes * 2
    space = b"<%s> <%s>" % (b"0" * width, b"F" * width)
    chars = b"".join(
        b"<%0*X> <%s>\n" % (width, code, text.encode("utf-16-be").hex().upper().encode())
        for code, text in mapping.items()
    )
    return (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        b"/CMapName /Test-UCS def /CMapType 2 def\n"
        b"1 begincodespacerange %s endcodespacerange\n"
        b"%d beginbfchar\n%sendbfchar\n"
        b"endcmap CMapName currentdict /CMap defineresource pop end end\n"
        % (space, len(mapping), chars)
    )


def mapped_font_pdf(text: str, *, two_byte: bool) -> bytes:
    """One line of ``text`` (any script) shown through a font whose codes mean nothing by
    themselves: only its ToUnicode CMap says which character each code is, as in the PDFs
    typesetters made for Cyrillic (one-byte codes) and CJK (two-byte Identity-H codes)."""
    distinct = list(dict.fromkeys(text))
    codes = {char: number + 0x21 for number, char in enumerate(distinct)}
    width = 4 if two_byte else 2
    shown = b"<" + b"".join(b"%0*X" % (width, codes[char]) for char in text) + b">"
    cmap = stream(to_unicode_cmap(2 if two_byte else 1, {codes[c]: c for c in distinct}))
    content = stream(b"BT /F1 12 Tf 72 720 Td %s Tj ET\n" % shown)
    if two_byte:
        font = (
            b"<< /Type /Font /Subtype /Type0 /BaseFont /TestCJK /Encoding /Identity-H "
            b"/DescendantFonts [7 0 R] /ToUnicode 6 0 R >>"
        )
        descendant = (
            b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /TestCJK /CIDToGIDMap /Identity "
            b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
            b"/DW 1000 >>"
        )
        return one_page_pdf(content, font=font, extra=[cmap, descendant])
    font = (
        b"<< /Type /Font /Subtype /Type1 /BaseFont /TestCyrillic /FirstChar 33 "
        b"/LastChar %d /Widths [%s] /ToUnicode 6 0 R >>"
        % (0x20 + len(distinct), b" ".join([b"500"] * len(distinct)))
    )
    return one_page_pdf(content, font=font, extra=[cmap])
