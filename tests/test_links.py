"""Link and requisite extraction from old-web HTML and CSS."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest

from archiver.model.links import Link, LinkKind
from archiver.web.links import (
    _absolute_url,
    _directory_and_root,
    _join_simple,
    _resolved,
    extract_css_links,
    extract_html_links,
)
from archiver.web.text import parse_html

PAGE = "http://www.example.com/dir/page.html"
L = LinkKind.NAVIGATION
E = LinkKind.REQUISITE


def links(html: str, page_url: str = PAGE, *, encoding: str = "utf-8") -> list[Link]:
    root = parse_html(html)
    assert root is not None
    return extract_html_links(root, page_url, encoding=encoding)


def triples(html: str, page_url: str = PAGE, *, encoding: str = "utf-8") -> list[tuple]:
    return [(x.url, x.kind, x.source) for x in links(html, page_url, encoding=encoding)]


def urls(html: str, page_url: str = PAGE, *, encoding: str = "utf-8") -> list[str]:
    return [x.url for x in links(html, page_url, encoding=encoding)]


# ----------------------------------------------------------------- elements and kinds


def test_anchor_links_are_navigation() -> None:
    assert triples('<a href="other.html">x</a>') == [
        ("http://www.example.com/dir/other.html", L, "a/@href")
    ]


def test_image_map_areas_are_navigation_links() -> None:
    html = '<img src="map.gif" usemap="#m"><map name="m"><area href="/north.html"></map>'
    assert triples(html) == [
        ("http://www.example.com/dir/map.gif", E, "img/@src"),
        ("http://www.example.com/north.html", L, "area/@href"),
    ]


def test_frames_and_iframes_are_requisites() -> None:
    html = '<frameset cols="20%,*"><frame src="menu.html"><frame src="main.html"></frameset>'
    assert triples(html) == [
        ("http://www.example.com/dir/menu.html", E, "frame/@src"),
        ("http://www.example.com/dir/main.html", E, "frame/@src"),
    ]
    assert triples('<iframe src="ad.html"></iframe>') == [
        ("http://www.example.com/dir/ad.html", E, "iframe/@src")
    ]


def test_img_src_lowsrc_and_dynsrc_are_requisites() -> None:
    html = '<img src="big.jpg" lowsrc="small.gif" dynsrc="clip.avi">'
    assert triples(html) == [
        ("http://www.example.com/dir/big.jpg", E, "img/@src"),
        ("http://www.example.com/dir/small.gif", E, "img/@lowsrc"),
        ("http://www.example.com/dir/clip.avi", E, "img/@dynsrc"),
    ]


def test_img_srcset_candidates_are_all_extracted() -> None:
    html = '<img srcset="a.png 1x, b.png 2x,c.png 3x">'
    assert triples(html) == [
        ("http://www.example.com/dir/a.png", E, "img/@srcset"),
        ("http://www.example.com/dir/b.png", E, "img/@srcset"),
        ("http://www.example.com/dir/c.png", E, "img/@srcset"),
    ]


@pytest.mark.parametrize(
    ("srcset", "expected"),
    [
        ("one.png", ["one.png"]),
        ("  one.png  ", ["one.png"]),
        ("small.jpg 480w, large.jpg 1080w", ["small.jpg", "large.jpg"]),
        # A comma inside a URL only ends it when it is the URL's last character.
        ("img,v2.png 1x, img,v3.png 2x", ["img,v2.png", "img,v3.png"]),
        ("a.png,, b.png", ["a.png", "b.png"]),
        ("a.png, b.png", ["a.png", "b.png"]),
        ("a.png 1x (junk, more), b.png 2x", ["a.png", "b.png"]),
        (" , ,", []),
    ],
)
def test_srcset_parsing(srcset: str, expected: list[str]) -> None:
    got = urls(f'<img srcset="{srcset}">')
    assert got == [f"http://www.example.com/dir/{name}" for name in expected]


def test_source_src_and_srcset_are_requisites() -> None:
    html = (
        '<picture><source srcset="wide.webp 2x"><img src="x.jpg"></picture>'
        '<video><source src="movie.mp4"></video>'
    )
    assert triples(html) == [
        ("http://www.example.com/dir/wide.webp", E, "source/@srcset"),
        ("http://www.example.com/dir/x.jpg", E, "img/@src"),
        ("http://www.example.com/dir/movie.mp4", E, "source/@src"),
    ]


def test_only_image_inputs_give_their_src() -> None:
    html = '<form><INPUT TYPE="Image" SRC="go.gif"><input type="text" src="no.gif"></form>'
    assert triples(html) == [("http://www.example.com/dir/go.gif", E, "input/@src")]


@pytest.mark.parametrize(
    "rel",
    [
        "stylesheet",
        "alternate stylesheet",
        "icon",
        "shortcut icon",
        "SHORTCUT ICON",
        "apple-touch-icon",
        "preload",
    ],
)
def test_link_rels_needed_to_render_are_requisites(rel: str) -> None:
    assert triples(f'<link rel="{rel}" href="/x">') == [
        ("http://www.example.com/x", E, "link/@href")
    ]


@pytest.mark.parametrize("rel", ["alternate", "next", "prev", "canonical", "help", ""])
def test_other_link_rels_are_navigation(rel: str) -> None:
    assert triples(f'<link rel="{rel}" href="/x">') == [
        ("http://www.example.com/x", L, "link/@href")
    ]


def test_link_without_rel_is_navigation() -> None:
    assert triples('<link href="/x">') == [("http://www.example.com/x", L, "link/@href")]


def test_script_embed_and_bgsound_are_requisites() -> None:
    html = '<script src="menu.js"></script><embed src="intro.swf"><bgsound src="midi.mid">'
    assert triples(html) == [
        ("http://www.example.com/dir/menu.js", E, "script/@src"),
        ("http://www.example.com/dir/intro.swf", E, "embed/@src"),
        ("http://www.example.com/dir/midi.mid", E, "bgsound/@src"),
    ]


@pytest.mark.parametrize(
    ("html", "source"),
    [
        ('<video src="x.mpg"></video>', "video/@src"),
        ('<video poster="x.mpg"></video>', "video/@poster"),
        ('<audio src="x.mpg"></audio>', "audio/@src"),
        ('<layer src="x.mpg"></layer>', "layer/@src"),
        ('<ilayer src="x.mpg"></ilayer>', "ilayer/@src"),
        ('<object><param name="FileName" value="x.mpg"></object>', "param/@value"),
        ('<object><param name="URL" value="x.mpg"></object>', "param/@value"),
    ],
)
def test_other_period_media_elements_are_requisites(html: str, source: str) -> None:
    assert triples(html) == [("http://www.example.com/dir/x.mpg", E, source)]


def test_object_data_is_resolved_against_codebase() -> None:
    html = '<object data="clip.mov" codebase="media"></object><object data="solo.swf"></object>'
    assert triples(html) == [
        ("http://www.example.com/dir/media/clip.mov", E, "object/@data"),
        ("http://www.example.com/dir/solo.swf", E, "object/@data"),
    ]


def test_object_plugin_installer_codebase_is_not_a_base() -> None:
    cab = "http://download.macromedia.com/pub/shockwave/cabs/flash/swflash.cab#version=6,0,0,0"
    html = f'<object codebase="{cab}" data="movie.swf"></object>'
    assert urls(html) == ["http://www.example.com/dir/movie.swf"]


def test_flash_param_movie_and_src_inside_object_are_requisites() -> None:
    html = (
        '<OBJECT CLASSID="clsid:D27CDB6E"><PARAM NAME="Movie" VALUE="intro.swf">'
        '<PARAM NAME=quality VALUE=high><PARAM NAME="src" VALUE="clip.mov"></OBJECT>'
    )
    assert triples(html) == [
        ("http://www.example.com/dir/intro.swf", E, "param/@value"),
        ("http://www.example.com/dir/clip.mov", E, "param/@value"),
    ]


def test_param_outside_object_is_ignored() -> None:
    assert urls('<applet code="A.class"><param name="src" value="data.txt"></applet>') == [
        "http://www.example.com/dir/A.class"
    ]


def test_applet_code_and_archive_are_resolved_against_codebase() -> None:
    html = '<APPLET CODE="Game.class" CODEBASE="/java" ARCHIVE="game.jar, lib/util.jar,,">'
    assert triples(html) == [
        ("http://www.example.com/java/Game.class", E, "applet/@code"),
        ("http://www.example.com/java/game.jar", E, "applet/@archive"),
        ("http://www.example.com/java/lib/util.jar", E, "applet/@archive"),
    ]


def test_applet_code_is_used_as_written() -> None:
    # No ".class" is appended and dotted names are not turned into paths.
    assert urls('<applet code="com.acme.Ticker"></applet>') == [
        "http://www.example.com/dir/com.acme.Ticker"
    ]


def test_background_attributes_on_any_element_are_requisites() -> None:
    html = (
        '<body background="tile.jpg"><table background="t.gif"><tr background="r.gif">'
        '<th background="h.gif">x</th><td background="d.gif">y</td></tr></table></body>'
    )
    assert triples(html) == [
        ("http://www.example.com/dir/tile.jpg", E, "body/@background"),
        ("http://www.example.com/dir/t.gif", E, "table/@background"),
        ("http://www.example.com/dir/r.gif", E, "tr/@background"),
        ("http://www.example.com/dir/h.gif", E, "th/@background"),
        ("http://www.example.com/dir/d.gif", E, "td/@background"),
    ]


def test_style_attribute_urls_are_requisites() -> None:
    html = (
        "<body style=\"background: url('bg.png') repeat\">"
        '<div style="background-image:url(/img/x.gif)">x</div></body>'
    )
    assert triples(html) == [
        ("http://www.example.com/dir/bg.png", E, "body/@style"),
        ("http://www.example.com/img/x.gif", E, "div/@style"),
    ]


def test_style_element_urls_and_imports_are_requisites() -> None:
    html = """<HEAD><STYLE TYPE="text/css"><!--
        @import "print.css";
        @import url(screen.css) screen;
        /* body { background: url(commented.gif) } */
        BODY { background: URL( "paper.gif" ) }
    --></STYLE></HEAD>"""
    assert triples(html) == [
        ("http://www.example.com/dir/print.css", E, "style/@import"),
        ("http://www.example.com/dir/screen.css", E, "style/@import"),
        ("http://www.example.com/dir/paper.gif", E, "style/url"),
    ]


def test_links_inside_scripts_and_comments_are_not_extracted() -> None:
    html = '<script>document.write("<a href=js.html>")</script><!-- <a href="old.html"> -->'
    assert urls(html) == []


def test_uppercase_old_html_is_handled() -> None:
    html = (
        '<HTML><BODY BACKGROUND="BG.GIF"><A HREF="INDEX.HTM">Home</A>'
        '<IMG SRC="LOGO.GIF" ALT="logo"><IFRAME SRC="TOP.HTM"></IFRAME></BODY></HTML>'
    )
    assert triples(html) == [
        ("http://www.example.com/dir/INDEX.HTM", L, "a/@href"),
        ("http://www.example.com/dir/LOGO.GIF", E, "img/@src"),
        ("http://www.example.com/dir/TOP.HTM", E, "iframe/@src"),
        ("http://www.example.com/dir/BG.GIF", E, "body/@background"),
    ]


def test_noframes_links_are_extracted() -> None:
    html = (
        '<FRAMESET COLS="*"><FRAME SRC="main.html"><NOFRAMES><BODY>'
        'Your browser lacks frames: <A HREF="main.html">enter</A></BODY></NOFRAMES></FRAMESET>'
    )
    assert triples(html) == [
        ("http://www.example.com/dir/main.html", E, "frame/@src"),
        ("http://www.example.com/dir/main.html", L, "a/@href"),
    ]


# ---------------------------------------------------------------------------- base


def test_base_href_applies_to_all_links_even_earlier_ones() -> None:
    html = (
        '<html><head><link rel="stylesheet" href="s.css">'
        '<base href="http://mirror.example.org/site/"></head>'
        '<body><a href="a.html">a</a><img src="/i.gif"></body></html>'
    )
    assert urls(html) == [
        "http://mirror.example.org/site/s.css",
        "http://mirror.example.org/site/a.html",
        "http://mirror.example.org/i.gif",
    ]


def test_only_the_first_base_href_counts() -> None:
    html = '<base target="_top"><base href="/one/"><base href="/two/"><a href="x">x</a>'
    assert urls(html) == ["http://www.example.com/one/x"]


def test_relative_base_href_is_resolved_against_the_page_url() -> None:
    assert urls('<base href="../other/"><a href="x.html">x</a>') == [
        "http://www.example.com/other/x.html"
    ]


def test_unusable_base_href_is_ignored() -> None:
    assert urls('<base href="javascript:void(0)"><a href="x.html">x</a>') == [
        "http://www.example.com/dir/x.html"
    ]


# -------------------------------------------------------------------- meta refresh


@pytest.mark.parametrize(
    "content",
    [
        "5; url=next.html",
        "0;URL=next.html",
        "0; URL='next.html'",
        "0; URL=&quot;next.html&quot;",
        "5;url = next.html",
        "  3 ;  URL=next.html  ",
        "url=next.html",
        "5, next.html",
        "0; next.html",
        "1.5; URL=next.html",
        "0; URL='next.html' trailing junk",
    ],
)
def test_meta_refresh_variants(content: str) -> None:
    html = f'<META HTTP-EQUIV="Refresh" CONTENT="{content}">'
    assert triples(html) == [("http://www.example.com/dir/next.html", L, "meta/refresh")]


def test_meta_refresh_with_single_quoted_content_attribute() -> None:
    html = """<meta http-equiv=refresh content='0; url="next.html"'>"""
    assert urls(html) == ["http://www.example.com/dir/next.html"]


@pytest.mark.parametrize("content", ["5", "0;", "5; url=", ""])
def test_meta_refresh_without_url_is_not_a_link(content: str) -> None:
    assert urls(f'<meta http-equiv="refresh" content="{content}">') == []


def test_other_meta_elements_are_ignored() -> None:
    html = '<meta name="description" content="5; url=x.html"><meta content="http://x/">'
    assert urls(html) == []


# ----------------------------------------------------------------- URL normalization


@pytest.mark.parametrize(
    "href",
    [
        "mailto:webmaster@example.com",
        "javascript:history.back()",
        "JavaScript:void(0)",
        " java\nscript:alert(1)",
        "data:text/html,hi",
        "file:///C:/site/index.html",
        "ftp://ftp.example.com/pub/",
        "tel:+15551234",
        "about:blank",
        "news:comp.lang.python",
        "C:\\My Documents\\page.htm",
    ],
)
def test_non_http_schemes_are_skipped(href: str) -> None:
    assert urls(f'<a href="{href}">x</a>') == []


@pytest.mark.parametrize("href", ["", "   ", "#", "#top", " \n#section2"])
def test_empty_and_fragment_only_links_are_skipped(href: str) -> None:
    assert urls(f'<a href="{href}">x</a><a>no href</a>') == []


def test_fragment_is_removed() -> None:
    assert urls('<a href="faq.html#q3">x</a><a href="http://x.org/#!/y">y</a>') == [
        "http://www.example.com/dir/faq.html",
        "http://x.org/",
    ]


def test_whitespace_and_newlines_inside_attributes_are_removed() -> None:
    html = '<a href="\n   products/\nwidgets.html\t ">x</a><img src=" spacer.gif ">'
    assert urls(html) == [
        "http://www.example.com/dir/products/widgets.html",
        "http://www.example.com/dir/spacer.gif",
    ]


def test_spaces_after_a_wrapped_line_stay_in_the_url() -> None:
    # Browsers drop the newline only; the indentation becomes part of the URL.
    assert urls('<a href="a/\n  b.html">x</a>') == ["http://www.example.com/dir/a/%20%20b.html"]


def test_inner_spaces_are_percent_encoded() -> None:
    assert urls('<a href="My Page.html">x</a>') == ["http://www.example.com/dir/My%20Page.html"]


def test_query_is_encoded_with_page_encoding_and_path_with_utf8() -> None:
    html = '<a href="caf\u00e9.html?q=caf\u00e9">x</a>'
    assert urls(html, encoding="windows-1252") == [
        "http://www.example.com/dir/caf%C3%A9.html?q=caf%E9"
    ]
    assert urls(html, encoding="utf-8") == ["http://www.example.com/dir/caf%C3%A9.html?q=caf%C3%A9"]


def test_query_characters_missing_from_page_encoding_become_numeric_references() -> None:
    # What browsers send: "&#20013;" percent-encoded.
    assert urls('<a href="s?q=\u4e2d">x</a>', encoding="windows-1252") == [
        "http://www.example.com/dir/s?q=%26%2320013%3B"
    ]


@pytest.mark.parametrize(
    ("encoding", "expected_query"),
    [
        ("iso-8859-1", "q=%E9"),
        ("cp1252", "q=%E9"),
        ("utf-16le", "q=%C3%A9"),
        ("not-a-charset", "q=%C3%A9"),
    ],
)
def test_page_encoding_names_are_interpreted(encoding: str, expected_query: str) -> None:
    assert urls('<a href="s?q=\u00e9">x</a>', encoding=encoding) == [
        f"http://www.example.com/dir/s?{expected_query}"
    ]


def test_internationalized_host_is_punycoded() -> None:
    assert urls('<a href="http://caf\u00e9.example/">x</a>') == ["http://xn--caf-dma.example/"]


@pytest.mark.parametrize(
    "href",
    [
        "http://www.example.com:99999/",
        "http://www.example.com:80a/",
        "http://[::1/",
        "http://[not-ipv6]/",
        "http://",
        "http:///nohost",
        "http://bad host.com/",
        "http://a<b.com/",
    ],
)
def test_malformed_urls_are_skipped(href: str) -> None:
    assert urls(f'<a href="{href}">x</a><a href="ok.html">ok</a>') == [
        "http://www.example.com/dir/ok.html"
    ]


def test_ipv6_literal_hosts_are_kept() -> None:
    assert urls('<a href="http://[2001:db8::1]:8080/x">x</a>') == ["http://[2001:db8::1]:8080/x"]


def test_default_port_is_dropped_and_empty_path_filled() -> None:
    html = (
        '<a href="HTTP://WWW.Example.COM:80">a</a><a href="https://secure.example.com:443?x">b</a>'
        '<a href="http://www.example.com:8080">c</a>'
    )
    assert urls(html) == [
        "http://www.example.com/",
        "https://secure.example.com/?x",
        "http://www.example.com:8080/",
    ]


def test_dot_segments_are_removed() -> None:
    html = (
        '<a href="../up.html">a</a><a href="./same/./x.html">b</a>'
        '<a href="../../../../too-far.html">c</a><a href="http://x.org/a/../b">d</a>'
    )
    assert urls(html) == [
        "http://www.example.com/up.html",
        "http://www.example.com/dir/same/x.html",
        "http://www.example.com/too-far.html",
        "http://x.org/b",
    ]


def test_backslashes_are_read_as_slashes() -> None:
    assert urls('<img src="images\\logo.gif">') == ["http://www.example.com/dir/images/logo.gif"]


def test_protocol_relative_and_query_only_links() -> None:
    assert urls('<script src="//cdn.example.net/x.js"></script><a href="?page=2">n</a>') == [
        "http://cdn.example.net/x.js",
        "http://www.example.com/dir/page.html?page=2",
    ]


def test_https_page_resolves_protocol_relative_to_https() -> None:
    assert urls('<img src="//cdn.example.net/x.gif">', "https://www.example.com/") == [
        "https://cdn.example.net/x.gif"
    ]


def test_duplicates_are_removed_keeping_first_seen_order() -> None:
    html = (
        '<a href="b.html">1</a><a href="a.html">2</a><a href="b.html#x">3</a>'
        '<a href="http://www.example.com/dir/a.html">4</a><iframe src="b.html"></iframe>'
    )
    assert triples(html) == [
        ("http://www.example.com/dir/b.html", L, "a/@href"),
        ("http://www.example.com/dir/a.html", L, "a/@href"),
        # Same URL, different kind: both are kept.
        ("http://www.example.com/dir/b.html", E, "iframe/@src"),
    ]


def test_out_of_scope_links_are_returned() -> None:
    assert urls('<a href="http://elsewhere.example.net/">x</a>') == [
        "http://elsewhere.example.net/"
    ]


def test_overlong_attribute_values_are_skipped() -> None:
    huge = "x" * 20_000
    assert urls(f'<a href="{huge}">x</a><a href="ok.html">ok</a>') == [
        "http://www.example.com/dir/ok.html"
    ]


def test_links_are_frozen_values() -> None:
    link = links('<a href="x">x</a>')[0]
    with pytest.raises(AttributeError):
        link.url = "http://other/"  # type: ignore[misc]
    assert LinkKind.NAVIGATION == "L" and LinkKind.REQUISITE == "E"


# ----------------------------------------------------------------------------- CSS

CSS_URL = "http://www.example.com/css/main.css"


def test_css_links_are_requisites_relative_to_the_stylesheet() -> None:
    assert extract_css_links("body { background: url(../img/bg.gif) }", CSS_URL) == [
        Link("http://www.example.com/img/bg.gif", E, "css/url")
    ]


@pytest.mark.parametrize(
    "declaration",
    [
        "url(a.png)",
        "url( a.png )",
        'url("a.png")',
        "url('a.png')",
        "URL( 'a.png' )",
        'url(\n  "a.png"\n)',
    ],
)
def test_css_url_forms(declaration: str) -> None:
    assert [x.url for x in extract_css_links(f"x {{ background: {declaration} }}", CSS_URL)] == [
        "http://www.example.com/css/a.png"
    ]


def test_css_import_forms() -> None:
    css = '@import "a.css";\n@import \'b.css\' print;\n@import url(c.css);\n@IMPORT url("d.css");'
    assert [(x.url, x.source) for x in extract_css_links(css, CSS_URL)] == [
        ("http://www.example.com/css/a.css", "css/@import"),
        ("http://www.example.com/css/b.css", "css/@import"),
        ("http://www.example.com/css/c.css", "css/@import"),
        ("http://www.example.com/css/d.css", "css/@import"),
    ]


def test_css_comments_are_skipped() -> None:
    css = "/* @import 'old.css'; url(old.gif) */ a { b: url(new.gif) } /* unterminated url(x.gif)"
    assert [x.url for x in extract_css_links(css, CSS_URL)] == [
        "http://www.example.com/css/new.gif"
    ]


def test_css_data_uris_and_fragments_are_ignored() -> None:
    css = (
        "a { background: url(data:image/png;base64,iVBORw0KGgo=) }"
        "b { behavior: url(#default#VML) } c { background: url() }"
    )
    assert extract_css_links(css, CSS_URL) == []


def test_css_font_face_sources() -> None:
    css = "@font-face { src: url(f.eot#iefix) format('eot'), url('f.woff') format('woff') }"
    assert [x.url for x in extract_css_links(css, CSS_URL)] == [
        "http://www.example.com/css/f.eot",
        "http://www.example.com/css/f.woff",
    ]


def test_the_string_join_of_plain_paths_is_urljoin():
    """links._join_simple skips urljoin for plain paths; it must give urljoin's answer."""
    bases = [
        "http://a.test", "http://a.test/", "https://a.test:8443/d/e/page.html",
        "http://a.test/d/", "http://a.test/d/page.html?x=1/2#f/g", "http://a.test?q=/x",
        "http://a.test#frag/x", "http://user@a.test/d/x;p=1/y", "http://a.test/%7Ed/x.html",
    ]  # fmt: skip
    references = [
        "p.html", "/p.html", "sub/p.html", "/d/sub/", "a-b_c~d%20e.html", "x/", "/",
        "page.html", "..", "../x", "./x", "a/../b", "//b.test/x", ".hidden", "x?y", "x#y",
        "mailto:x", "a:b", "",
    ]  # fmt: skip
    joined = 0
    for base in bases:
        for reference in references:
            fast = _join_simple(base, reference)
            if fast is not None:
                joined += 1
                assert fast == urljoin(base, reference), (base, reference)
    assert joined == len(bases) * 8, "the plain paths took the fast way"


def test_links_looked_up_by_folder_resolve_as_against_the_whole_base():
    """Most references are resolved against the base's folder or root, shared across pages
    and so looked up; each must resolve exactly as against the whole base."""
    bases = [
        "http://a.test", "http://a.test/", "https://a.test:8443/d/e/page.html",
        "http://a.test/d/", "http://a.test/d/page.html?x=1/2#f/g", "http://a.test?q=/x",
        "http://a.test#frag/x", "http://user@a.test/d/x;p=1/y", "http://a.test/%7Ed/x.html",
        "http://a.test/d/e/f/?q=a/b", "http://a.test/d/e;x?q#/f",
    ]  # fmt: skip
    references = [
        "p.html", "/p.html", "sub/p.html", "/d/sub/", "x/", "/", "..", "../x", "./x",
        "../../../x", "a/../b", "//b.test/x", ".hidden", "x?y", "x#y", "/x?y=/z", "mailto:x",
        "a:b", "http://c.test/../y", "9.html", "/./x", "/..", "\u00e9t\u00e9.html", "?q", "#f",
        "", " p.html", "\\x", "/p\\q", ";p", "./?q", "..?q",
    ]  # fmt: skip
    shared = 0
    for base in bases:
        directory, root = _directory_and_root(base)
        for reference in references:
            looked_up = _resolved(reference, base, directory, root, "utf-8")
            assert looked_up == _absolute_url(reference, base), (base, reference)
            shared += reference[:1] not in ("?", "#", "", " ", "\\")
    assert shared > len(bases) * 20, "most references took the shared way"
