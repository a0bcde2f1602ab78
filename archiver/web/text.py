"""Decoding of fetched documents and extraction of their visible text.

Old static sites (1995-2008) rarely declare their charset correctly, so decoding follows
what a browser does (BOM, then the HTTP header, then a <meta> in the first few KB) and
falls back to detection when no declaration fits the bytes. Each HTML page is parsed
once with lxml; the same tree serves link extraction (archiver.web.links) and the text here.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Literal

import lxml.html
from charset_normalizer import CharsetMatch, CharsetMatches, from_bytes
from lxml import etree
from w3lib.encoding import resolve_encoding

__all__ = [
    "CharsetSource",
    "Decoded",
    "decode_document",
    "html_text",
    "html_title",
    "parse_html",
    "plain_text",
    "strip_controls",
]

CharsetSource = Literal["bom", "header", "meta", "detection", "default"]

_DEFAULT_CHARSET = "windows-1252"

# The WHATWG prescan looks at the first 1024 bytes; old pages put long comments or
# scripts before their <meta>, so allow more, as w3lib does.
_META_SCAN_BYTES = 4096
# Detection cost grows with the input; the start of a page is representative enough.
_DETECTION_BYTES = 65536
_UTF16_SNIFF_BYTES = 4096

# Python codec name (as codecs.lookup() spells it) -> the name reported in
# Decoded.charset. Only the encodings of the WHATWG Encoding Standard are accepted, so a
# label such as "rot13", "base64" or "utf-32" (which Python would happily decode) is
# treated as unknown, like a browser would. Names are the WHATWG ones unless Python
# cannot look that name up or would decode differently under it (Shift_JIS, EUC-KR and
# Big5 are in fact the Microsoft/HKSCS supersets), so every reported name is usable
# with bytes.decode() and str.encode().
_CHARSET_NAMES: dict[str, str] = {
    "utf-8": "utf-8",
    "utf-16-le": "utf-16le",
    "utf-16-be": "utf-16be",
    "cp866": "ibm866",
    "iso8859-2": "iso-8859-2",
    "iso8859-3": "iso-8859-3",
    "iso8859-4": "iso-8859-4",
    "iso8859-5": "iso-8859-5",
    "iso8859-6": "iso-8859-6",
    "iso8859-7": "iso-8859-7",
    "iso8859-8": "iso-8859-8",
    "iso8859-10": "iso-8859-10",
    "iso8859-13": "iso-8859-13",
    "iso8859-14": "iso-8859-14",
    "iso8859-15": "iso-8859-15",
    "iso8859-16": "iso-8859-16",
    "koi8-r": "koi8-r",
    "koi8-u": "koi8-u",
    "mac-roman": "macintosh",
    "mac-cyrillic": "mac-cyrillic",
    "cp874": "cp874",
    "cp1250": "windows-1250",
    "cp1251": "windows-1251",
    "cp1252": "windows-1252",
    "cp1253": "windows-1253",
    "cp1254": "windows-1254",
    "cp1255": "windows-1255",
    "cp1256": "windows-1256",
    "cp1257": "windows-1257",
    "cp1258": "windows-1258",
    "gb18030": "gb18030",
    "big5hkscs": "big5-hkscs",
    "euc_jp": "euc-jp",
    "iso2022_jp": "iso-2022-jp",
    "cp932": "cp932",
    "cp949": "cp949",
}

# WHATWG labels that w3lib.encoding.resolve_encoding() does not know, mapped to a label
# it does. Limited to the ones plausible on old sites.
_EXTRA_LABELS: dict[str, str] = {
    "unicode-1-1-utf-8": "utf-8",
    "unicode11utf8": "utf-8",
    "unicode20utf8": "utf-8",
    "x-unicode20utf8": "utf-8",
    "iso-8859-8-i": "iso-8859-8",
    "csiso88598i": "iso-8859-8",
    "logical": "iso-8859-8",
    "mac": "macintosh",
    "x-mac-roman": "macintosh",
    "csmacintosh": "macintosh",
    "x-mac-cyrillic": "mac-cyrillic",
    "x-mac-ukrainian": "mac-cyrillic",
    "x-euc-jp": "euc-jp",
    "cseucpkdfmtjapanese": "euc-jp",
    "cseuckr": "euc-kr",
    "csksc56011987": "euc-kr",
    "iso-ir-149": "euc-kr",
    "korean": "euc-kr",
    "ks_c_5601-1989": "euc-kr",
    "ksc5601": "euc-kr",
    "ksc_5601": "euc-kr",
    "windows-949": "euc-kr",
    "x-gbk": "gbk",
    "x-x-big5": "big5",
    "cn-big5": "big5",
    "csbig5": "big5",
    "utf-16": "utf-16le",
    "unicode": "utf-16le",
    "ucs-2": "utf-16le",
    "iso-10646-ucs-2": "utf-16le",
    "csunicode": "utf-16le",
    "unicodefeff": "utf-16le",
    "unicodefffe": "utf-16be",
}

# Single-byte Windows codecs whose undefined bytes 0x80-0x9F Python rejects but the
# WHATWG decoders map to the C1 control of the same value; decoding those pages must
# not fail (or fall through to detection) because of one stray byte.
_C1_PASSTHROUGH = frozenset({"cp874", *(f"windows-{n}" for n in range(1250, 1259))})

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16le"),
    (codecs.BOM_UTF16_BE, "utf-16be"),
)

# Candidates for detection: what old sites were actually written in. Order matters
# only for ties, which are settled in favour of windows-1252 anyway.
_DETECTION_CANDIDATES = [
    "cp1252",
    "iso8859_15",
    "mac_roman",
    "cp1250",
    "iso8859_2",
    "cp1251",
    "koi8_r",
    "cp1253",
    "cp1254",
    "cp1255",
    "cp1256",
    "cp1257",
    "cp874",
    "shift_jis",
    "euc_jp",
    "gb18030",
    "big5",
    "euc_kr",
]
# Differences in charset_normalizer's scores below this are noise, not evidence.
_SCORE_TOLERANCE = 0.01

_HEADER_CHARSET_RE = re.compile(r"""charset\s*=\s*["']?\s*([^\s"';,]+)""", re.IGNORECASE)
# Comments are matched so that a <meta> inside one is skipped, as the prescan does.
_META_TAG_RE = re.compile(rb"<!--.*?(?:-->|\Z)|<meta\b([^>]*)>", re.IGNORECASE | re.DOTALL)
_META_CHARSET_RE = re.compile(rb"""charset\s*=\s*["']?\s*([^\s"'>;/]+)""", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str  # the document decoded to str
    charset: str  # the codec actually used, normalized name (e.g. "windows-1252")
    source: CharsetSource
    declared: str | None  # what the header/meta declared, raw label, even when unused


# --------------------------------------------------------------------------- decoding


def decode_document(body: bytes, content_type: str | None, *, html: bool) -> Decoded:
    """Decode `body` the way a browser would pick its encoding; never raises."""
    header_label = _header_label(content_type)
    bom = _sniff_bom(body)
    if bom is not None:
        charset, skip = bom
        text = _decode(body[skip:], charset, "replace")
        declared = header_label or (_meta_label(body) if html else None)
        return Decoded(text, charset, "bom", declared)

    decoded = _decode_declared(body, header_label, "header")
    if decoded is not None:
        return decoded
    meta_label = _meta_label(body) if html else None
    decoded = _decode_declared(body, meta_label, "meta")
    if decoded is not None:
        return decoded

    declared = header_label or meta_label
    detected = _detect(body)
    if detected is not None:
        charset, text = detected
        return Decoded(text, charset, "detection", declared)
    text = _decode(body, _DEFAULT_CHARSET, "replace")
    return Decoded(text, _DEFAULT_CHARSET, "default", declared)


def _decode_declared(body: bytes, label: str | None, source: CharsetSource) -> Decoded | None:
    # An unknown label, or one the bytes contradict, is skipped like a missing one: the
    # next source gets its chance, then detection.
    if label is None:
        return None
    charset = _resolve_charset(label)
    if charset is None:
        return None
    if source == "meta" and charset in ("utf-16le", "utf-16be"):
        # WHATWG: a meta that could be read as ASCII cannot really mean UTF-16.
        charset = "utf-8"
    text = _decode_strict(body, charset)
    if text is None:
        return None
    return Decoded(text, charset, source, label)


@lru_cache(maxsize=256)
def _resolve_charset(label: str) -> str | None:
    """Map an encoding label to the reported charset name, None if unknown/unsupported."""
    key = label.strip().lower()
    key = _EXTRA_LABELS.get(key, key)
    codec = resolve_encoding(key)
    if codec is None:
        return None
    return _CHARSET_NAMES.get(codec)


def _header_label(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _HEADER_CHARSET_RE.search(content_type)
    return match.group(1) if match else None


def _meta_label(body: bytes) -> str | None:
    for match in _META_TAG_RE.finditer(body, 0, _META_SCAN_BYTES):
        attrs = match.group(1)
        if attrs is None:  # a comment
            continue
        charset = _META_CHARSET_RE.search(attrs)
        if charset is not None:
            return charset.group(1).decode("latin-1")
    return None


def _sniff_bom(body: bytes) -> tuple[str, int] | None:
    for bom, charset in _BOMS:
        if body.startswith(bom):
            return charset, len(bom)
    return None


def _detect(body: bytes) -> tuple[str, str] | None:
    """Guess the charset of undeclared (or wrongly declared) bytes: (charset, text)."""
    # Before the ASCII test: UTF-16 of ASCII text is ASCII bytes plus NULs.
    utf16 = _sniff_utf16(body)
    if utf16 is not None:
        text = _decode_strict(body, utf16)
        if text is not None:
            return utf16, text
    if body.isascii():
        # Nothing to detect: every candidate decodes ASCII the same way.
        return None
    # Valid UTF-8 is practically never an accident for non-ASCII bytes.
    text = _decode_strict(body, "utf-8")
    if text is not None:
        return "utf-8", text
    charset = _guess_legacy_charset(_detection_sample(body))
    if charset is None:
        return None
    text = _decode_strict(body, charset)
    if text is None:
        # The guess came from the start of the page; keep it for a damaged tail.
        text = _decode(body, charset, "replace")
    return charset, text


def _sniff_utf16(body: bytes) -> str | None:
    # Markup is mostly ASCII, so UTF-16 without a BOM shows NUL bytes in every other
    # position: odd positions for little-endian, even ones for big-endian.
    sample = body[:_UTF16_SNIFF_BYTES]
    half = len(sample) // 2
    if half < 2:
        return None
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    if odd_nuls > half * 0.3 and even_nuls < half * 0.05:
        return "utf-16le"
    if even_nuls > half * 0.3 and odd_nuls < half * 0.05:
        return "utf-16be"
    return None


def _detection_sample(body: bytes) -> bytes:
    if len(body) <= _DETECTION_BYTES:
        return body
    # Cut at a newline: it is never part of a multi-byte character in the candidate
    # encodings, so the sample does not end in half a character.
    cut = body.rfind(b"\n", _DETECTION_BYTES // 2, _DETECTION_BYTES)
    return body[: cut if cut > 0 else _DETECTION_BYTES]


def _guess_legacy_charset(sample: bytes) -> str | None:
    matches = from_bytes(
        sample,
        cp_isolation=_DETECTION_CANDIDATES,
        # Declarations were already tried (and rejected) by the caller.
        preemptive_behaviour=False,
        enable_fallback=False,
    )
    best = matches.best()
    if best is None:
        return None
    if _windows_1252_as_good(matches, best):
        return "windows-1252"
    codec = resolve_encoding(best.encoding)
    return _CHARSET_NAMES.get(codec) if codec else None


def _windows_1252_as_good(matches: CharsetMatches, best: CharsetMatch) -> bool:
    # charset_normalizer often ranks cp1250 or iso8859-15 first for plain western text
    # with identical scores; windows-1252 is what a browser would use there.
    if "cp1252" in best.could_be_from_charset:
        return True
    for match in matches:
        if match.encoding == "cp1252":
            return (
                match.chaos <= best.chaos + _SCORE_TOLERANCE
                and match.coherence >= best.coherence - _SCORE_TOLERANCE
            )
    return False


def _decode_strict(data: bytes, charset: str) -> str | None:
    """Decode, or None if the bytes are not valid in `charset`.

    A response cut off by a size limit can end in half a character; that alone does
    not disqualify the charset when the rest of the page is non-ASCII and valid.
    """
    try:
        return _decode(data, charset, "strict")
    except UnicodeDecodeError as exc:
        if _is_truncated_tail(data, charset, exc):
            return _decode(data[: exc.start], charset, "strict") + "\ufffd"
        return None


def _is_truncated_tail(data: bytes, charset: str, exc: UnicodeDecodeError) -> bool:
    if exc.end != len(data) or len(data) - exc.start > 3:
        return False
    if not any(word in exc.reason for word in ("end of data", "incomplete", "truncated")):
        return False
    # An ASCII page whose last byte is, say, a windows-1252 "é" would otherwise pass
    # for truncated UTF-8; demand other non-ASCII text as evidence.
    return charset.startswith("utf-16") or not data[: exc.start].isascii()


def _decode(data: bytes, charset: str, errors: str) -> str:
    if charset in _C1_PASSTHROUGH:
        return codecs.charmap_decode(data, errors, _c1_passthrough_table(charset))[0]
    return data.decode(charset, errors)


@cache
def _c1_passthrough_table(charset: str) -> str:
    chars = []
    for byte in range(256):
        try:
            chars.append(bytes((byte,)).decode(charset))
        except UnicodeDecodeError:
            # U+FFFE marks a byte as undefined for codecs.charmap_decode.
            chars.append(chr(byte) if 0x80 <= byte <= 0x9F else "\ufffe")
    return "".join(chars)


# ---------------------------------------------------------------------------- parsing

# huge_tree lifts libxml2's limits on text node size and nesting depth (256). Without
# it, pages with hundreds of unclosed <FONT> tags lose everything past the limit.
_HTML_PARSER = lxml.html.HTMLParser(encoding="utf-8", huge_tree=True, collect_ids=False)
# libxml2 stops parsing at </html>; browsers ignore a stray one, and hosts such as
# GeoCities appended content after it.
_HTML_END_TAG_RE = re.compile(r"</html\b[^>]*>", re.IGNORECASE)


def parse_html(decoded_text: str) -> lxml.html.HtmlElement | None:
    """Parse a decoded HTML document; None if there is nothing to parse. Never raises."""
    if not decoded_text or decoded_text.isspace():
        return None
    root = _parse_markup(_HTML_END_TAG_RE.sub("", decoded_text))
    if root is not None:
        _expand_noframes(root)
    return root


def _parse_markup(markup: str) -> lxml.html.HtmlElement | None:
    # Bytes with a forced encoding, not str: lxml rejects a str that starts with an
    # <?xml encoding=...?> declaration, and libxml2 must not honour <meta charset> on
    # text that is already decoded.
    data = markup.encode("utf-8", "replace")
    try:
        return lxml.html.document_fromstring(data, parser=_HTML_PARSER)
    except (etree.LxmlError, ValueError):
        return None


def _expand_noframes(root: lxml.html.HtmlElement) -> None:
    # libxml2 treats <noframes> as raw text (like HTML5), leaving its markup unparsed.
    # On frameset pages of that era it holds the only readable text and links, so parse
    # it and graft the result in place; both link and text extraction then see it.
    for noframes in root.iter("noframes"):
        raw = noframes.text
        if len(noframes) or not raw or ("<" not in raw and "&" not in raw):
            continue
        inner = _parse_markup(raw)
        body = inner.find("body") if inner is not None else None
        if body is None:
            continue
        try:
            noframes.text = body.text
        except ValueError:
            # libxml2 keeps C0 controls in text that lxml then refuses to set.
            continue
        noframes.extend(list(body))


# ----------------------------------------------------------------------------- text

# Separator marking a line break between blocks. A noncharacter: it never occurs in
# real text, is allowed in XML, and survives the XSLT text output.
_BREAK = "\ufdd0"

# Visible text in one pass done in C by libxslt: about five times faster than walking
# the tree from Python. Decisions:
#   - head, title, script, style, template, iframe (its content is fallback markup
#     that frame-capable browsers never show) and IE <xml> data islands are dropped;
#     comments and processing instructions produce nothing by default.
#   - noscript and noframes are kept: we do not run scripts or render frames, and for
#     such a client that content *is* what is shown; on frameset pages it is often the
#     only text there is.
#   - object/applet/embed fallback text is kept for the same reason (no plugins).
#   - img alt text is not included (it is an attribute).
#   - newlines inside pre-formatted elements are line breaks.
_BLOCKS = (
    "address|article|aside|blockquote|body|br|button|caption|center|dd|details|dialog"
    "|dir|div|dl|dt|fieldset|figcaption|figure|footer|form|frameset|h1|h2|h3|h4|h5|h6"
    "|header|hr|html|legend|li|listing|main|marquee|menu|nav|noframes|noscript|ol"
    "|option|p|plaintext|pre|section|summary|table|tbody|td|textarea|tfoot|th|thead|tr"
    "|ul|xmp"
)
_SKIPPED = "head|title|script|style|template|iframe|xml"
_PREFORMATTED = "pre|listing|xmp|plaintext|textarea"
_PRE_CHILDREN = '<xsl:apply-templates mode="pre"/>'
# Inside pre-formatted elements a separate mode turns newlines into breaks; a mode is
# cheaper than a "pre//text()" pattern, which libxslt tests against every text node.
_TEXT_XSLT = etree.XSLT(
    etree.XML(
        f"""\
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text" encoding="utf-8"/>
  <xsl:template match="{_SKIPPED}"/>
  <xsl:template match="{_SKIPPED}" mode="pre"/>
  <xsl:template match="{_BLOCKS}">{_BREAK}<xsl:apply-templates/>{_BREAK}</xsl:template>
  <xsl:template match="{_BLOCKS}" mode="pre">{_BREAK}{_PRE_CHILDREN}{_BREAK}</xsl:template>
  <xsl:template match="{_PREFORMATTED}">{_BREAK}{_PRE_CHILDREN}{_BREAK}</xsl:template>
  <xsl:template match="text()" mode="pre">
    <xsl:value-of select="translate(., '&#10;', '{_BREAK}')"/>
  </xsl:template>
</xsl:stylesheet>"""
    )
)


def html_title(root: lxml.html.HtmlElement) -> str | None:
    """The document <title>, whitespace-normalized; None if absent or empty."""
    title = next(root.iter("title"), None)
    if title is None:
        return None
    return " ".join(title.text_content().split()) or None


def html_text(root: lxml.html.HtmlElement, *, max_chars: int = 1_000_000) -> str:
    """Visible text: one line per block, whitespace collapsed, at most `max_chars`."""
    try:
        raw = str(_TEXT_XSLT(root))
    except etree.LxmlError:
        # Unreachable with libxml2's own depth limit; a degraded text beats none.
        raw = etree.tostring(root, method="text", encoding="unicode")
    return _join_lines(raw.split(_BREAK), max_chars)


def _is_collapsed(line: str) -> bool:
    """Whether " ".join(line.split()) is the line itself, found in C: half the time of
    splitting a page's lines into words to join them again. A printable line has no
    whitespace but the ASCII space (every other is a separator or control character)."""
    return line.isprintable() and "  " not in line and line[:1] != " " and line[-1:] != " "


def plain_text(text: str, *, max_chars: int = 1_000_000) -> str:
    """Whitespace-normalized text of a text/plain document, at most `max_chars`."""
    return _join_lines(text.splitlines(), max_chars)


# Control characters other than the whitespace ones (tab, line breaks), which the line joining
# handles; a PDF font without a usable encoding maps glyphs to them.
_CONTROLS_RE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]+")
# Half of a UTF-16 pair (a PDF string cut in the middle of one): not valid in UTF-8.
_SURROGATES_RE = re.compile("[\ud800-\udfff]")


def strip_controls(text: str) -> str:
    """``text`` without control characters (NUL included), lone surrogates replaced by
    U+FFFD, so that it is valid UTF-8 for the manifest."""
    return _SURROGATES_RE.sub("\ufffd", _CONTROLS_RE.sub("", text))


def _join_lines(lines: list[str], max_chars: int) -> str:
    # str.split() also treats &nbsp; (U+00A0) as whitespace: old pages use runs of
    # them for layout, which is noise in extracted text.
    out = []
    size = 0
    for line in lines:
        if _is_collapsed(line):
            if not line:
                continue
            out.append(line)
        else:
            words = line.split()
            if not words:
                continue
            out.append(" ".join(words))
        size += len(out[-1]) + 1
        if size > max_chars:
            break
    return "\n".join(out)[:max_chars].rstrip()
