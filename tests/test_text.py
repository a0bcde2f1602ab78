"""Charset decoding, HTML parsing and visible-text extraction of old-web documents.

Run this file directly (python tests/test_text.py) for a micro-benchmark of the
per-page work: decode, parse, links, title and text.
"""

from __future__ import annotations

import codecs
import random
import time

import pytest

import archiver.web.links
import archiver.web.text
from archiver.web.links import extract_html_links
from archiver.web.text import (
    Decoded,
    decode_document,
    html_text,
    html_title,
    parse_html,
    plain_text,
)

HTML = "text/html"
FRENCH = (
    "Bienvenue au Qu\u00e9bec! La Soci\u00e9t\u00e9 des amis de Montr\u00e9al organise une "
    "f\u00eate pour le gar\u00e7on de Z\u00fcrich. Le caf\u00e9 est ferm\u00e9 le dimanche, "
    "mais la biblioth\u00e8que reste ouverte jusqu'\u00e0 dix-huit heures."
)


def page(body: str, head: str = "") -> str:
    return f"<HTML><HEAD>{head}<TITLE>Test</TITLE></HEAD><BODY>{body}</BODY></HTML>"


def text_of(html: str) -> str:
    root = parse_html(html)
    assert root is not None
    return html_text(root)


# ------------------------------------------------------------------ charset: sources


def test_iso_8859_1_declared_page_decodes_windows_1252_quotes() -> None:
    body = b"<p>\x93Quoted\x94 \x97 caf\xe9</p>"
    decoded = decode_document(body, "text/html; charset=iso-8859-1", html=True)
    assert decoded == Decoded(
        "<p>\u201cQuoted\u201d \u2014 caf\u00e9</p>", "windows-1252", "header", "iso-8859-1"
    )


@pytest.mark.parametrize("label", ["latin1", "ISO-8859-1", "iso_8859-1", "us-ascii", "ascii"])
def test_latin1_and_ascii_labels_mean_windows_1252(label: str) -> None:
    decoded = decode_document(b"\x93x\x94", f"text/html; charset={label}", html=True)
    assert (decoded.text, decoded.charset, decoded.declared) == (
        "\u201cx\u201d",
        "windows-1252",
        label,
    )


def test_windows_1252_undefined_bytes_decode_to_c1_controls() -> None:
    # Python's cp1252 rejects these five bytes; WHATWG maps them to U+0081 etc.
    decoded = decode_document(
        b"a\x81\x8d\x8f\x90\x9db\xe9", "text/html; charset=windows-1252", html=True
    )
    assert decoded.text == "a\x81\x8d\x8f\x90\x9db\u00e9"
    assert decoded.source == "header"


def test_quoted_header_charset() -> None:
    decoded = decode_document("caf\u00e9".encode(), 'text/html; charset="UTF-8"', html=True)
    assert (decoded.text, decoded.charset, decoded.source) == ("caf\u00e9", "utf-8", "header")


def test_header_charset_wins_over_meta() -> None:
    body = '<meta charset="utf-8"><p>caf\u00e9</p>'.encode("cp1252")
    decoded = decode_document(body, "text/html; charset=windows-1252", html=True)
    assert (decoded.charset, decoded.source, decoded.declared) == (
        "windows-1252",
        "header",
        "windows-1252",
    )


@pytest.mark.parametrize(
    "meta",
    [
        '<meta charset="koi8-r">',
        "<META CHARSET=koi8-r>",
        '<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=koi8-r">',
        "<meta http-equiv='content-type' content='text/html;charset=KOI8-R'>",
    ],
)
def test_meta_charset_is_used_without_header(meta: str) -> None:
    body = f"<html><head>{meta}</head><body>\u041f\u0440\u0438\u0432\u0435\u0442</body>".encode(
        "koi8-r"
    )
    decoded = decode_document(body, HTML, html=True)
    assert decoded.charset == "koi8-r"
    assert decoded.source == "meta"
    assert "\u041f\u0440\u0438\u0432\u0435\u0442" in decoded.text
    assert decoded.declared is not None and decoded.declared.lower() == "koi8-r"


def test_meta_inside_a_comment_is_ignored() -> None:
    body = b'<!-- <meta charset="koi8-r"> --><meta charset="iso-8859-2"><p>\xb1</p>'
    decoded = decode_document(body, None, html=True)
    assert (decoded.charset, decoded.source, decoded.text[-5:]) == (
        "iso-8859-2",
        "meta",
        "\u0105</p>",
    )


def test_meta_after_the_first_4_kb_is_ignored() -> None:
    body = b"<!-- " + b"x" * 5000 + b' --><meta charset="koi8-r"><p>plain</p>'
    decoded = decode_document(body, None, html=True)
    assert (decoded.source, decoded.declared) == ("default", None)


def test_meta_is_not_read_for_non_html_documents() -> None:
    body = b'<meta charset="koi8-r"> plain text'
    assert decode_document(body, "text/plain", html=False).source == "default"


def test_meta_declaring_utf16_means_utf8() -> None:
    # A meta readable as ASCII cannot be in UTF-16 (WHATWG).
    body = '<meta charset="utf-16"><p>caf\u00e9</p>'.encode()
    decoded = decode_document(body, None, html=True)
    assert (decoded.charset, decoded.source, decoded.declared) == ("utf-8", "meta", "utf-16")


@pytest.mark.parametrize(
    ("bom", "codec", "charset"),
    [
        (codecs.BOM_UTF8, "utf-8", "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16le"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16be"),
    ],
)
def test_bom_wins_over_declarations(bom: bytes, codec: str, charset: str) -> None:
    body = bom + "<p>caf\u00e9</p>".encode(codec)
    decoded = decode_document(body, "text/html; charset=iso-8859-1", html=True)
    assert decoded == Decoded("<p>caf\u00e9</p>", charset, "bom", "iso-8859-1")


def test_undeclared_windows_1252_page_is_detected() -> None:
    body = f"<html><body><p>{FRENCH}</p></body></html>".encode("cp1252")
    decoded = decode_document(body, HTML, html=True)
    assert (decoded.charset, decoded.source, decoded.declared) == (
        "windows-1252",
        "detection",
        None,
    )
    assert "Qu\u00e9bec" in decoded.text and "gar\u00e7on" in decoded.text


def test_short_undeclared_western_text_is_windows_1252() -> None:
    body = "Qu\u00e9bec, Soci\u00e9t\u00e9, gar\u00e7on, Z\u00fcrich.".encode("cp1252")
    decoded = decode_document(body, None, html=False)
    assert (decoded.charset, decoded.source) == ("windows-1252", "detection")


def test_undeclared_utf8_page_is_detected() -> None:
    body = f"<p>{FRENCH} \u2014 \u4e2d\u6587</p>".encode()
    decoded = decode_document(body, HTML, html=True)
    assert (decoded.charset, decoded.source) == ("utf-8", "detection")


def test_undeclared_mac_roman_page_is_detected() -> None:
    body = f"<html><body><p>{FRENCH}</p></body></html>".encode("mac_roman")
    decoded = decode_document(body, None, html=True)
    assert (decoded.charset, decoded.source) == ("macintosh", "detection")
    assert "Qu\u00e9bec" in decoded.text


def test_undeclared_cyrillic_and_japanese_pages_are_detected() -> None:
    russian = (
        "\u041f\u0440\u0438\u0432\u0435\u0442, \u043a\u0430\u043a "
        "\u0434\u0435\u043b\u0430? \u042d\u0442\u043e \u043f\u0440\u043e\u0441\u0442\u043e\u0439 "
        "\u0442\u0435\u043a\u0441\u0442 \u043d\u0430 \u0440\u0443\u0441\u0441\u043a\u043e\u043c "
        "\u044f\u0437\u044b\u043a\u0435."
    )
    japanese = (
        "\u3053\u308c\u306f\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3067\u3059\u3002"
        "\u6587\u5b57\u30b3\u30fc\u30c9\u306e\u5224\u5b9a\u3092\u30c6\u30b9\u30c8\u3057\u307e\u3059\u3002"
    )
    koi8 = decode_document(f"<p>{russian}</p>".encode("koi8-r"), None, html=True)
    sjis = decode_document(f"<p>{japanese}</p>".encode("shift_jis"), None, html=True)
    assert (koi8.charset, koi8.text) == ("koi8-r", f"<p>{russian}</p>")
    assert (sjis.charset, sjis.text) == ("cp932", f"<p>{japanese}</p>")


@pytest.mark.parametrize(
    ("codec", "charset"), [("utf-16-le", "utf-16le"), ("utf-16-be", "utf-16be")]
)
def test_utf16_without_bom_is_detected(codec: str, charset: str) -> None:
    body = f"<html><body><p>{FRENCH}</p></body></html>".encode(codec)
    decoded = decode_document(body, HTML, html=True)
    assert (decoded.charset, decoded.source) == (charset, "detection")
    assert FRENCH in decoded.text


def test_ascii_utf16_without_bom_is_not_taken_for_ascii() -> None:
    decoded = decode_document("<p>plain</p>".encode("utf-16-le"), None, html=True)
    assert (decoded.text, decoded.charset) == ("<p>plain</p>", "utf-16le")


def test_pure_ascii_without_declaration_uses_the_default() -> None:
    decoded = decode_document(b"<p>plain old text</p>", HTML, html=True)
    assert decoded == Decoded("<p>plain old text</p>", "windows-1252", "default", None)


def test_empty_body_uses_the_default() -> None:
    assert decode_document(b"", None, html=True) == Decoded("", "windows-1252", "default", None)


# ----------------------------------------------------------- charset: bad declarations


def test_unknown_header_label_falls_through_to_meta() -> None:
    body = b'<meta charset="iso-8859-2"><p>\xb1</p>'
    decoded = decode_document(body, "text/html; charset=x-bogus", html=True)
    assert (decoded.charset, decoded.source, decoded.declared) == (
        "iso-8859-2",
        "meta",
        "iso-8859-2",
    )


def test_unknown_labels_everywhere_fall_through_to_detection() -> None:
    body = f'<meta charset="x-bogus"><p>{FRENCH}</p>'.encode("cp1252")
    decoded = decode_document(body, "text/html; charset=x-unknown", html=True)
    assert (decoded.charset, decoded.source, decoded.declared) == (
        "windows-1252",
        "detection",
        "x-unknown",
    )


@pytest.mark.parametrize(
    "label", ["rot13", "base64", "utf-7", "utf-32", "hex", "undefined", "idna"]
)
def test_python_only_codec_labels_are_unknown(label: str) -> None:
    decoded = decode_document(b"<p>plain</p>", f"text/html; charset={label}", html=True)
    assert (decoded.text, decoded.source, decoded.declared) == ("<p>plain</p>", "default", label)


def test_wrong_utf8_declaration_falls_through_to_detection() -> None:
    body = f"<p>{FRENCH}</p>".encode("cp1252")
    decoded = decode_document(body, "text/html; charset=utf-8", html=True)
    assert (decoded.charset, decoded.source, decoded.declared) == (
        "windows-1252",
        "detection",
        "utf-8",
    )
    assert FRENCH in decoded.text


def test_wrong_meta_declaration_falls_through_to_detection() -> None:
    body = f'<meta http-equiv="Content-Type" content="text/html; charset=utf-8"><p>{FRENCH}'
    decoded = decode_document(body.encode("cp1252"), None, html=True)
    assert (decoded.charset, decoded.source, decoded.declared) == (
        "windows-1252",
        "detection",
        "utf-8",
    )


def test_utf8_cut_off_mid_character_is_still_utf8() -> None:
    body = f"<p>{FRENCH} \u4e2d".encode()[:-1]  # a size limit cut the last character
    decoded = decode_document(body, "text/html; charset=utf-8", html=True)
    assert (decoded.charset, decoded.source) == ("utf-8", "header")
    assert decoded.text.endswith(" \ufffd")


def test_a_lone_trailing_latin1_byte_is_not_truncated_utf8() -> None:
    decoded = decode_document(b"<p>plain caf\xe9", "text/html; charset=utf-8", html=True)
    assert (decoded.text, decoded.charset) == ("<p>plain caf\u00e9", "windows-1252")


def test_utf16_cut_off_mid_character_is_still_utf16() -> None:
    body = "<p>caf\u00e9".encode("utf-16-le")[:-1]
    decoded = decode_document(body, "text/html; charset=utf-16le", html=True)
    assert (decoded.text, decoded.charset) == ("<p>caf\ufffd", "utf-16le")


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        "text/html; charset=",
        "text/html; charset=utf-8",
        "text/html; charset=utf-16",
        "text/html; charset=shift_jis",
        "text/html; charset=iso-2022-jp",
        "text/html; charset=big5",
        "text/html; charset=gb2312",
        "text/html; charset=euc-kr",
        "text/html; charset=x-user-defined",
        'text/html; charset="unterminated',
        "text/html;;;charset",
    ],
)
def test_wrong_declarations_never_raise(content_type: str | None) -> None:
    generator = random.Random(content_type or "none")
    for _ in range(30):
        body = bytes(generator.randrange(256) for _ in range(generator.randrange(200)))
        decoded = decode_document(body, content_type, html=True)
        assert isinstance(decoded.text, str)
        codecs.lookup(decoded.charset)


@pytest.mark.parametrize(
    "label",
    [
        "utf-8", "utf-16le", "utf-16be", "ibm866", "iso-8859-2", "iso-8859-5", "iso-8859-7",
        "iso-8859-8-i", "iso-8859-15", "koi8-r", "koi8-u", "macintosh", "x-mac-roman",
        "x-mac-cyrillic", "windows-874", "tis-620", "windows-1250", "windows-1251",
        "windows-1253", "windows-1254", "windows-1255", "windows-1256", "windows-1257",
        "windows-1258", "gbk", "gb2312", "gb18030", "big5", "euc-jp", "iso-2022-jp",
        "shift_jis", "x-sjis", "euc-kr", "ks_c_5601-1987",
    ],
)  # fmt: skip
def test_reported_charsets_are_usable_python_codecs(label: str) -> None:
    decoded = decode_document(b"<p>plain</p>", f"text/html; charset={label}", html=True)
    assert decoded.source == "header"
    assert codecs.lookup(decoded.charset)
    assert "<p>plain</p>".encode(decoded.charset).decode(decoded.charset) == "<p>plain</p>"


# ---------------------------------------------------------------------------- parsing


@pytest.mark.parametrize("markup", ["", "   \n\t ", "<!-- only a comment -->"])
def test_parse_html_returns_none_when_there_is_nothing_to_parse(markup: str) -> None:
    assert parse_html(markup) is None


def test_parse_html_returns_an_html_element() -> None:
    root = parse_html("just text")
    assert root is not None and root.tag == "html"


def test_xml_declaration_with_encoding_is_accepted() -> None:
    root = parse_html('<?xml version="1.0" encoding="iso-8859-1"?><html><p>caf\u00e9</p></html>')
    assert root is not None and html_text(root) == "caf\u00e9"


def test_meta_charset_does_not_re_decode_text() -> None:
    assert (
        text_of('<meta charset="iso-8859-1"><p>caf\u00e9 \u20ac \u4e2d</p>')
        == "caf\u00e9 \u20ac \u4e2d"
    )


def test_stray_html_end_tag_does_not_truncate_the_page() -> None:
    html = "<P>one</HTML><P>two</BODY></HTML>\n<P>three <A HREF=x>x</A>"
    assert text_of(html) == "one\ntwo\nthree x"


def test_nul_bytes_and_control_characters_do_not_raise() -> None:
    html = "<p>a\x00b\x01c\x0bd</p><NOFRAMES><p>x\x01y</p></NOFRAMES>"
    text = text_of(html)
    assert text.startswith("a\ufffdb")


def test_huge_attribute_values_do_not_raise() -> None:
    html = f'<img src="{"x" * 20_000_000}" alt="{"y" * 1_000_000}"><p>after</p>'
    assert text_of(html) == "after"


def test_deeply_nested_unclosed_font_tags_keep_later_content() -> None:
    html = '<FONT SIZE=2><P>paragraph <A HREF="x.html">x</A>\n' * 600 + "<P>THE END"
    text = text_of(html)
    assert text.endswith("THE END")
    assert text.count("paragraph x") == 600


def test_unclosed_tags_and_garbage_markup_do_not_raise() -> None:
    html = "<TABLE><TR><TD>cell<TD>next<P>para<B>bold<I>both</TABLE></DIV></SPAN><<>>&&;;</"
    text = text_of(html)
    assert "cell" in text and "both" in text


def test_noframes_markup_is_parsed_into_elements() -> None:
    root = parse_html(
        '<FRAMESET><FRAME SRC="a.html"><NOFRAMES><BODY><P>Get a <A HREF="b.html">better</A> '
        "browser</P></BODY></NOFRAMES></FRAMESET>"
    )
    assert root is not None
    assert [a.get("href") for a in root.iter("a")] == ["b.html"]


# ------------------------------------------------------------------------------ title


def test_title_is_whitespace_normalized() -> None:
    root = parse_html("<HTML><HEAD><TITLE>\n  Old   Site\t&amp; Co\n</TITLE></HEAD></HTML>")
    assert root is not None and html_title(root) == "Old Site & Co"


@pytest.mark.parametrize("markup", ["<p>no title</p>", "<title>   </title><p>x", "<title></title>"])
def test_missing_or_blank_title_is_none(markup: str) -> None:
    root = parse_html(markup)
    assert root is not None and html_title(root) is None


# ------------------------------------------------------------------------------- text


def test_scripts_styles_templates_and_comments_are_removed() -> None:
    html = page(
        "<P>visible<SCRIPT>var hidden = 1;</SCRIPT><!-- comment --><STYLE>p {}</STYLE>"
        "<TEMPLATE>tpl</TEMPLATE>text<?php echo 'pi'; ?></P>",
        head="<SCRIPT>var head = 1;</SCRIPT><STYLE>body {}</STYLE>",
    )
    assert text_of(html) == "visibletext"


def test_title_and_head_are_not_body_text() -> None:
    assert text_of(page("<P>body</P>", head="<META NAME=x CONTENT=y>")) == "body"


def test_noscript_text_is_kept() -> None:
    assert text_of(
        page("<SCRIPT>menu()</SCRIPT><NOSCRIPT>Menu: <A HREF=x>Home</A></NOSCRIPT>")
    ) == ("Menu: Home")


def test_noframes_text_is_kept() -> None:
    html = (
        "<HTML><HEAD><TITLE>t</TITLE></HEAD><FRAMESET><FRAME SRC=a.html>"
        "<NOFRAMES><BODY><P>This site uses frames.</P><P>Go <A HREF=b.html>here</A>.</P>"
        "</BODY></NOFRAMES></FRAMESET></HTML>"
    )
    assert text_of(html) == "This site uses frames.\nGo here."


def test_iframe_fallback_content_is_dropped() -> None:
    assert text_of(page("<P>a<IFRAME SRC=x>Your browser lacks iframes</IFRAME>b</P>")) == "ab"


def test_image_alt_text_is_not_included() -> None:
    assert text_of(page('<P><IMG SRC="x.gif" ALT="Alt words">caption</P>')) == "caption"


def test_block_elements_produce_line_breaks() -> None:
    html = page(
        "<H1>Head</H1><P>para</P><DIV>div</DIV><UL><LI>one<LI>two</UL>"
        "<TABLE><TR><TD>c1</TD><TD>c2</TD></TR><TR><TH>h</TH></TR></TABLE>"
        "<BLOCKQUOTE>quote</BLOCKQUOTE>before<HR>after<BR>next<H6>small</H6>"
        "<DL><DT>term<DD>definition</DL><ADDRESS>addr</ADDRESS><CENTER>mid</CENTER>"
    )
    assert text_of(html).split("\n") == [
        "Head", "para", "div", "one", "two", "c1", "c2", "h", "quote", "before", "after",
        "next", "small", "term", "definition", "addr", "mid",
    ]  # fmt: skip


def test_inline_elements_do_not_break_lines() -> None:
    html = page(
        "<P>A <B>bold</B>, <I>italic</I>, <FONT COLOR=red>red</FONT> and <A HREF=x>linked</A>."
    )
    assert text_of(html) == "A bold, italic, red and linked."


def test_inline_elements_adjacent_without_space_stay_joined() -> None:
    assert text_of(page("<P><B>W</B>ord</P>")) == "Word"


def test_whitespace_is_collapsed_within_a_line() -> None:
    html = page("<P>\n   Some    words\r\n\tacross\n   source   lines &nbsp;&nbsp; here   </P>")
    assert text_of(html) == "Some words across source lines here"


def test_empty_lines_are_dropped() -> None:
    assert text_of(page("<P>a</P><P>  </P><BR><BR><DIV><DIV></DIV></DIV><P>b</P>")) == "a\nb"


def test_pre_newlines_are_line_breaks() -> None:
    html = page("<PRE>line one\n    line   two\n\n<B>bold\nthree</B></PRE>after")
    assert text_of(html) == "line one\nline two\nbold\nthree\nafter"


def test_entities_are_decoded() -> None:
    html = page("<P>&amp; &lt;tag&gt; &eacute;t&eacute; &#233; &#x201C;q&#x201D; &copy; &euro;</P>")
    assert text_of(html) == "& <tag> \u00e9t\u00e9 \u00e9 \u201cq\u201d \u00a9 \u20ac"


def test_text_is_capped_at_max_chars() -> None:
    root = parse_html(page("<P>word word word</P>" * 1000))
    assert root is not None
    text = html_text(root, max_chars=100)
    assert len(text) <= 100 and text.startswith("word word word\nword")
    assert len(html_text(root)) == 15 * 1000 - 1


def test_lines_are_collapsed_the_same_with_or_without_the_shortcut() -> None:
    # _join_lines keeps a line that is already collapsed as it is (_is_collapsed); splitting
    # it into words and joining them again must give the same for every kind of line.
    rng = random.Random(6)
    alphabet = [" ", " ", "\n", "\r", "\t", "\xa0", "\u2028", "\u3000", "\x1c", "\x00"]
    alphabet += ["\u200b", "a", "b", "\u00e9"] * 3
    shortcuts = 0
    for _ in range(20_000):
        line = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        if archiver.web.text._is_collapsed(line):
            shortcuts += 1
            assert " ".join(line.split()) == line, repr(line)
    assert shortcuts > 2_000  # the shortcut is taken, for lines of every length


def test_plain_text_is_whitespace_normalized() -> None:
    text = "  Title\r\n\r\n\tindented   line  \rmac line\n\n\n  last\u00a0 word  \n"
    assert plain_text(text) == "Title\nindented line\nmac line\nlast word"


def test_plain_text_is_capped_at_max_chars() -> None:
    assert plain_text("abc def\n" * 100, max_chars=10) == "abc def\nab"


# ------------------------------------------------------------------------- benchmark


def _benchmark_page() -> bytes:
    cells = "".join(
        f'<TD><A HREF="section{i}/page{i}.html">Section {i}</A></TD>' for i in range(12)
    )
    images = "".join(f'<IMG SRC="/images/pic{i}.gif" WIDTH=10 ALT="pic {i}">' for i in range(8))
    paragraph = (
        "<P>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
        "incididunt ut labore et dolore magna aliqua. Qu\u00e9bec &amp; Z\u00fcrich &nbsp; "
        "<B>bold</B> <I>it</I><BR>\n  Ut enim ad minim veniam, quis nostrud.</P>\n"
    )
    html = (
        '<HTML><HEAD><TITLE>Old  site</TITLE><META HTTP-EQUIV="Content-Type" '
        'CONTENT="text/html; charset=iso-8859-1"><LINK REL="stylesheet" HREF="style.css">'
        '<SCRIPT SRC="menu.js"></SCRIPT><STYLE><!-- body { background: url(bg.gif) } -->'
        '</STYLE></HEAD><BODY BGCOLOR=white BACKGROUND="tile.jpg">'
        f"<TABLE><TR>{cells}</TR></TABLE>{images}{paragraph * 80}"
        '<MAP NAME=m><AREA HREF="map1.html"><AREA HREF="map2.html"></MAP>'
        '<A HREF="mailto:me@example.com">mail</A></BODY></HTML>'
    )
    return html.encode("cp1252")


def _process(body: bytes, url: str) -> None:
    decoded = decode_document(body, "text/html", html=True)
    root = parse_html(decoded.text)
    assert root is not None
    extract_html_links(root, url, encoding=decoded.charset)
    html_title(root)
    html_text(root)


def _benchmark(rounds: int = 1000) -> None:
    body = _benchmark_page()
    root = parse_html(decode_document(body, "text/html", html=True).text)
    assert root is not None
    found = len(extract_html_links(root, "http://www.example.com/"))
    print(f"page: {len(body)} bytes, {found} links")
    # Every page has its own URL, as in a crawl. "cold" forgets the URLs of earlier pages;
    # "warm" keeps them, as when a site repeats its navigation on every page.
    for label, cold in (("cold URL cache", True), ("warm URL cache", False)):
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for n in range(rounds):
                if cold:
                    archiver.web.links._browser_form.cache_clear()
                _process(body, f"http://www.example.com/d{n % 50}/page{n}.html")
            best = min(best, (time.perf_counter() - start) / rounds)
        print(f"decode+parse+links+title+text, {label}: {best * 1e6:.0f} \u00b5s/page")


if __name__ == "__main__":
    _benchmark()
