"""Extraction of outlinks and page requisites from parsed HTML and from CSS.

Works on the lxml tree built once per page by archiver.web.text.parse_html. Every URL is
returned absolute, without fragment and percent-encoded the way a browser would send
it; scope is not decided here.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit, urlunsplit

import lxml.html
from lxml import etree
from w3lib.url import safe_url_string

from archiver.model.links import Link, LinkKind

__all__ = ["extract_css_links", "extract_html_links"]

NAV = LinkKind.NAVIGATION
REQ = LinkKind.REQUISITE


class _Candidate(NamedTuple):
    """A raw attribute value, resolved only once the document base is known."""

    value: str
    kind: LinkKind
    source: str
    # The applet/object codebase the value is relative to (itself relative to the base).
    codebase: str | None = None


# Elements whose plain URL attributes need no further interpretation. Frames and
# iframes are requisites, as in Heritrix: replaying the page needs them. lowsrc and
# dynsrc (Netscape/IE image and video variants), bgsound and Netscape layers are there
# because 1990s pages used them.
_URL_ATTRIBUTES: dict[str, tuple[tuple[str, LinkKind], ...]] = {
    "a": (("href", NAV),),
    "area": (("href", NAV),),
    "frame": (("src", REQ),),
    "iframe": (("src", REQ),),
    "img": (("src", REQ), ("lowsrc", REQ), ("dynsrc", REQ)),
    "source": (("src", REQ),),
    "script": (("src", REQ),),
    "embed": (("src", REQ),),
    "bgsound": (("src", REQ),),
    "layer": (("src", REQ),),
    "ilayer": (("src", REQ),),
    "audio": (("src", REQ),),
    "video": (("src", REQ), ("poster", REQ)),
    "track": (("src", REQ),),
}
_SRCSET_ELEMENTS = frozenset({"img", "source"})
_SPECIAL_ELEMENTS = ("base", "input", "link", "object", "param", "applet", "meta", "style")
_LINK_ELEMENTS = (*_URL_ATTRIBUTES, *_SPECIAL_ELEMENTS)

# rel tokens whose target the page needs to render ("shortcut icon" has "icon").
_REQUISITE_RELS = frozenset(
    {
        "stylesheet",
        "icon",
        "apple-touch-icon",
        "apple-touch-icon-precomposed",
        "mask-icon",
        "preload",
        "modulepreload",
        "manifest",
    }
)
# <param> names whose value is the media an <object> plays (Flash, QuickTime, WMP).
_MEDIA_PARAMS = frozenset({"movie", "src", "filename", "url"})

# style and background attributes may sit on any element; one XPath pass in C finds
# them far faster than testing every element from Python.
_STYLE_AND_BACKGROUND = etree.XPath("//@style|//@background")

_SCHEME_RE = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")
_ABSOLUTE_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9+.\-]*://")
_HTTP_SCHEMES = frozenset({"http", "https"})
# The characters the URL standard strips from both ends, and removes from inside.
_C0_AND_SPACE = "".join(chr(c) for c in range(0x21))
_TAB_AND_NEWLINES = str.maketrans("", "", "\t\n\r")
# Characters a browser refuses in a host name (URL standard, forbidden host code points).
_FORBIDDEN_HOST_RE = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|]")
_DEFAULT_PORTS = {"http": ":80", "https": ":443"}
# An http(s) URL as safe_url_string() writes it: lowercase scheme, no fragment.
_AUTHORITY_RE = re.compile(
    r"(?P<scheme>https?)://(?P<userinfo>[^@/?]*@)?(?P<host>\[[^\]]*\]|[^:/?]*)"
    r"(?P<port>:\d+)?(?P<rest>[/?].*)?\Z",
    re.DOTALL,
)
# Longer values are inline data or junk, not links; Apache refused request lines over
# 8 KB anyway.
_MAX_URL_CHARS = 16_384

# Meta refresh content: "5; url=page.html", "0;URL='page.html'", "5, page.html", ...
_REFRESH_RE = re.compile(r"\s*[\d.]*\s*[;,]?\s*(?:url\s*=\s*)?(.*)", re.IGNORECASE | re.DOTALL)

_CSS_COMMENT_RE = re.compile(r"/\*.*?(?:\*/|\Z)", re.DOTALL)
_CSS_URL_RE = re.compile(
    r"""
      (?P<import>@import\s*)?
      url\(\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^)"'\s]*))\s*\)
    | @import\s*(?:"(?P<idq>[^"]*)"|'(?P<isq>[^']*)')
    """,
    re.IGNORECASE | re.VERBOSE,
)


# ------------------------------------------------------------------------------- HTML


def extract_html_links(
    root: lxml.html.HtmlElement, page_url: str, *, encoding: str = "utf-8"
) -> list[Link]:
    """Links and requisites of a parsed page, deduplicated, in first-seen order.

    `encoding` is the page's charset: browsers use it to percent-encode the query.
    """
    base_href: str | None = None
    candidates: list[_Candidate] = []
    for element in root.iter(*_LINK_ELEMENTS):
        if element.tag == "base":
            # Only the first <base href> counts, and it applies to links before it too.
            if base_href is None:
                base_href = element.get("href")
            continue
        candidates.extend(_element_candidates(element))
    candidates.extend(_style_and_background_candidates(root))

    base = _document_base(page_url, base_href)
    return _resolve_candidates(candidates, base, _query_encoding(encoding))


def _element_candidates(element: lxml.html.HtmlElement) -> Iterator[_Candidate]:
    tag = element.tag
    for attribute, kind in _URL_ATTRIBUTES.get(tag, ()):
        value = element.get(attribute)
        if value is not None:
            yield _Candidate(value, kind, f"{tag}/@{attribute}")
    if tag in _SRCSET_ELEMENTS:
        yield from _srcset_candidates(element)
    special = _SPECIAL_HANDLERS.get(tag)
    if special is not None:
        yield from special(element)


def _srcset_candidates(element: lxml.html.HtmlElement) -> Iterator[_Candidate]:
    srcset = element.get("srcset")
    if srcset:
        source = f"{element.tag}/@srcset"
        for url in _parse_srcset(srcset):
            yield _Candidate(url, REQ, source)


def _input_candidates(element: lxml.html.HtmlElement) -> Iterator[_Candidate]:
    src = element.get("src")
    if src is not None and (element.get("type") or "").strip().lower() == "image":
        yield _Candidate(src, REQ, "input/@src")


def _link_candidates(element: lxml.html.HtmlElement) -> Iterator[_Candidate]:
    href = element.get("href")
    if href is None:
        return
    rels = (element.get("rel") or "").lower().split()
    kind = REQ if _REQUISITE_RELS.intersection(rels) else NAV
    yield _Candidate(href, kind, "link/@href")


def _object_candidates(element: lxml.html.HtmlElement) -> Iterator[_Candidate]:
    data = element.get("data")
    if data is not None:
        yield _Candidate(data, REQ, "object/@data", _object_codebase(element))


def _object_codebase(element: lxml.html.HtmlElement) -> str | None:
    codebase = element.get("codebase")
    # ActiveX objects (Flash above all) point codebase at the plug-in installer
    # (".../swflash.cab#version=6,0,0,0"), not at a directory; resolving data against
    # it would produce a URL on the plug-in vendor's server.
    if codebase is None or ".cab" in codebase.lower():
        return None
    return codebase


def _param_candidates(element: lxml.html.HtmlElement) -> Iterator[_Candidate]:
    value = element.get("value")
    if value is None or (element.get("name") or "").strip().lower() not in _MEDIA_PARAMS:
        return
    if next(element.iterancestors("object"), None) is not None:
        yield _Candidate(value, REQ, "param/@value")


def _applet_candidates(element: lxml.html.HtmlElement) -> Iterator[_Candidate]:
    codebase = element.get("codebase")
    code = element.get("code")
    if code is not None:
        yield _Candidate(code, REQ, "applet/@code", codebase)
    for archive in (element.get("archive") or "").split(","):
        if archive.strip():
            yield _Candidate(archive, REQ, "applet/@archive", codebase)


def _meta_candidates(element: lxml.html.HtmlElement) -> Iterator[_Candidate]:
    if (element.get("http-equiv") or "").strip().lower() != "refresh":
        return
    url = _parse_refresh(element.get("content") or "")
    if url:
        yield _Candidate(url, NAV, "meta/refresh")


def _style_element_candidates(element: lxml.html.HtmlElement) -> Iterator[_Candidate]:
    if element.text:
        yield from _css_candidates(element.text, "style/url", "style/@import")


_SPECIAL_HANDLERS = {
    "input": _input_candidates,
    "link": _link_candidates,
    "object": _object_candidates,
    "param": _param_candidates,
    "applet": _applet_candidates,
    "meta": _meta_candidates,
    "style": _style_element_candidates,
}


def _style_and_background_candidates(root: lxml.html.HtmlElement) -> Iterator[_Candidate]:
    for value in _STYLE_AND_BACKGROUND(root):
        # XPath returns "smart" strings that know their attribute and element.
        attribute = value.attrname
        tag = value.getparent().tag
        source = f"{tag}/@{attribute}"
        if attribute == "background":
            yield _Candidate(str(value), REQ, source)
        else:
            yield from _css_candidates(str(value), source, source)


def _document_base(page_url: str, base_href: str | None) -> str:
    if base_href is not None:
        base = _absolute_url(base_href, page_url)
        if base is not None:
            return base
    return page_url


# -------------------------------------------------------------------------------- CSS


def extract_css_links(css: str, base_url: str) -> list[Link]:
    """url() references and @imports of a stylesheet; all are requisites."""
    candidates = _css_candidates(css, "css/url", "css/@import")
    return _resolve_candidates(candidates, base_url, "utf-8")


def _css_candidates(css: str, url_source: str, import_source: str) -> Iterator[_Candidate]:
    if "/*" in css:
        css = _CSS_COMMENT_RE.sub(" ", css)
    for match in _CSS_URL_RE.finditer(css):
        in_url = match.group("dq", "sq", "bare")
        imported = match.group("idq", "isq")
        url = next(group for group in (*in_url, *imported) if group is not None)
        is_import = match.group("import") is not None or any(g is not None for g in imported)
        yield _Candidate(url, REQ, import_source if is_import else url_source)


# ------------------------------------------------------------------- attribute syntax


def _parse_srcset(srcset: str) -> list[str]:
    """URLs of a srcset attribute, per the HTML candidate-parsing rules.

    Candidates are comma-separated, but a URL may itself contain commas: a comma ends
    a URL only at its very end (followed by whitespace or the end); after a URL, the
    descriptors run to the next comma.
    """
    urls: list[str] = []
    position, length = 0, len(srcset)
    while True:
        while position < length and (srcset[position].isspace() or srcset[position] == ","):
            position += 1
        if position >= length:
            return urls
        start = position
        while position < length and not srcset[position].isspace():
            position += 1
        url = srcset[start:position]
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            position = _skip_descriptors(srcset, position)
        if url:
            urls.append(url)


def _skip_descriptors(srcset: str, position: int) -> int:
    # Descriptors end at a comma outside parentheses ("1x", "100w", "(junk, more)").
    depth = 0
    for index in range(position, len(srcset)):
        char = srcset[index]
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif char == "," and depth == 0:
            return index + 1
    return len(srcset)


def _parse_refresh(content: str) -> str | None:
    """The URL of a meta refresh content value, None if it only reloads the page."""
    match = _REFRESH_RE.match(content)
    url = match.group(1).strip() if match else ""
    if url[:1] in ("'", '"'):
        closing = url.find(url[0], 1)
        url = url[1:closing] if closing > 0 else url[1:]
    return url.strip() or None


# ---------------------------------------------------------------------- URL handling


def _resolve_candidates(
    candidates: Iterable[_Candidate], base: str, query_encoding: str
) -> list[Link]:
    links: list[Link] = []
    seen: set[tuple[str, LinkKind]] = set()
    directory, root = _directory_and_root(base)
    for candidate in candidates:
        if candidate.codebase is not None:
            codebase = _codebase_url(candidate.codebase, base)
            url = _absolute_url(candidate.value, codebase, query_encoding)
        else:
            url = _resolved(candidate.value, base, directory, root, query_encoding)
        if url is None or (url, candidate.kind) in seen:
            continue
        seen.add((url, candidate.kind))
        links.append(Link(url, candidate.kind, candidate.source))
    return links


def _directory_and_root(base: str) -> tuple[str, str]:
    """The base cut after its path's last "/", and after its authority ("scheme://host/").

    A reference that starts with a path segment or "." resolves against the first the same
    as against the whole base (RFC 3986 5.2.2 and 5.2.3: the base's last segment and query
    are dropped); one that starts with a single "/" resolves against the second.
    """
    scheme_end = base.find("://")
    if scheme_end <= 0:
        return base, base
    authority_end = _first_of(base, "/?#", scheme_end + 3)
    path = base[authority_end : _first_of(base, "?#", authority_end)] or "/"
    return base[:authority_end] + path[: path.rfind("/") + 1], base[:authority_end] + "/"


def _resolved(value: str, base: str, directory: str, root: str, query_encoding: str) -> str | None:
    """_absolute_url(value, base), looked up by the part of the base the value depends on."""
    if value[:1] == "/" and value[1:2] != "/":
        return _shared_absolute_url(value, root, query_encoding)
    if value[:1].isalnum() or value[:1] == ".":
        return _shared_absolute_url(value, directory, query_encoding)
    return _absolute_url(value, base, query_encoding)  # "?q", "#f", " x": all of the base


# The same links come back page after page (navigation, and pages of one folder link alike),
# so resolving them against the part of the base they depend on lets most be looked up.
@lru_cache(maxsize=8_192)
def _shared_absolute_url(value: str, base: str, query_encoding: str) -> str | None:
    return _absolute_url(value, base, query_encoding)


def _codebase_url(codebase: str, base: str) -> str:
    # A codebase names a directory even when written without the trailing slash.
    directory = codebase.strip()
    if directory and not directory.endswith(("/", "\\")):
        directory += "/"
    return _absolute_url(directory, base) or base


def _absolute_url(value: str, base: str, query_encoding: str = "utf-8") -> str | None:
    """`value` resolved against `base` and made safe, or None if not an http(s) link."""
    reference = _clean_reference(value)
    if reference is None:
        return None
    try:
        joined = _join(base, reference)
    except ValueError:  # a broken IPv6 literal
        return None
    return _browser_form(joined, query_encoding)


def _join(base: str, reference: str) -> str:
    # Absolute URLs are taken as they are: urljoin() would read "http://" or
    # "http:///x" as relative to an http base.
    if _ABSOLUTE_RE.match(reference):
        joined = reference
    else:
        joined = _join_simple(base, reference) or urljoin(base, reference)
    if "/." in joined:
        # Browsers remove "." and ".." segments; urljoin() does so only for the
        # relative part, so resolve the absolute path again against the URL itself.
        parts = urlsplit(joined)
        joined = urljoin(joined, urlunsplit(("", "", parts.path, parts.query, "")))
    return joined


# A path made of these characters, not starting with "//" or ".", with no "/." (dot segments):
# what most links are ("page.html", "/dir/page.html"), and what joins by string slicing alone.
_SIMPLE_REFERENCE = re.compile(r"(?!//)(?!\.)[A-Za-z0-9_.~%/-]+\Z")


def _join_simple(base: str, reference: str) -> str | None:
    """urljoin(base, reference) for a plain path reference, without parsing; None otherwise.

    urljoin parses both URLs and rebuilds one, for every link of every page: a large part of
    the link extraction's time. tests/test_links.py checks this against urljoin.
    """
    if "/." in reference or not _SIMPLE_REFERENCE.match(reference) or base.find("://") <= 0:
        return None
    directory, root = _directory_and_root(base)
    return root + reference[1:] if reference.startswith("/") else directory + reference


def _first_of(text: str, characters: str, start: int) -> int:
    """Index of the first of ``characters`` in ``text`` from ``start``, or its length."""
    found = [i for i in (text.find(c, start) for c in characters) if i >= 0]
    return min(found) if found else len(text)


# Pages of a site repeat the same navigation, images and stylesheets, so the same
# absolute URLs come back page after page; this step is the costly half of the work.
@lru_cache(maxsize=8_192)
def _browser_form(url: str, query_encoding: str) -> str | None:
    """An absolute URL percent-encoded as a browser sends it; None if not fetchable."""
    if _scheme(url) not in _HTTP_SCHEMES:
        return None
    try:
        safe = safe_url_string(_encode_unmappable_query(url, query_encoding), query_encoding)
    except (ValueError, UnicodeError):
        # Bad ports, broken IPv6 literals, unencodable hosts: not fetchable, skip.
        return None
    return _normalized_authority(safe)


def _clean_reference(value: str) -> str | None:
    """The reference as a browser reads it, or None if it cannot be an http(s) link."""
    if len(value) > _MAX_URL_CHARS:
        return None
    # Browsers strip C0 controls and spaces around a URL and drop tabs and newlines
    # anywhere in it: old HTML often wraps long href values over several lines.
    reference = value.strip(_C0_AND_SPACE).translate(_TAB_AND_NEWLINES)
    reference = reference.split("#", 1)[0]
    if not reference:
        return None  # empty, or a fragment-only link to this very page
    scheme = _scheme(reference)
    if scheme is not None and scheme not in _HTTP_SCHEMES:
        return None  # mailto:, javascript:, data:, ftp:, file:, about:, C:\...
    if "\\" in reference:
        # In http(s) URLs browsers read a backslash as a slash (before the query).
        path, mark, query = reference.partition("?")
        reference = path.replace("\\", "/") + mark + query
    return reference


def _scheme(url: str) -> str | None:
    match = _SCHEME_RE.match(url)
    return match.group(1).lower() if match else None


def _encode_unmappable_query(url: str, encoding: str) -> str:
    # A browser encodes the query in the page's charset and writes characters that
    # charset lacks as "&#NNNN;", percent-encoded; safe_url_string() would raise.
    if encoding == "utf-8" or url.isascii() or "?" not in url:
        return url
    head, _, query = url.partition("?")
    try:
        query.encode(encoding)
    except UnicodeEncodeError:
        query = "".join(_query_char(char, encoding) for char in query)
    return f"{head}?{query}"


def _query_char(char: str, encoding: str) -> str:
    try:
        char.encode(encoding)
    except UnicodeEncodeError:
        return f"%26%23{ord(char)}%3B"
    return char


def _normalized_authority(url: str) -> str | None:
    """None without a valid host; else drop a default port and fill an empty path.

    Browsers send "http://host/" for "http://host:80". The URL is edited as a string
    so that everything else (an empty "?" query, say) stays exactly as it was.
    """
    match = _AUTHORITY_RE.match(url)
    if match is None:
        return None
    scheme, userinfo, host, port, rest = match.group("scheme", "userinfo", "host", "port", "rest")
    # IPv6 literals ("[...]") were already validated by safe_url_string().
    if not host or (host[0] != "[" and _FORBIDDEN_HOST_RE.search(host)):
        return None
    if port is None or port == _DEFAULT_PORTS[scheme]:
        port = ""
    return f"{scheme}://{userinfo or ''}{host}{port}{rest or '/'}"


@lru_cache(maxsize=64)
def _query_encoding(encoding: str) -> str:
    """The codec a browser uses for queries on a page in `encoding`."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return "utf-8"
    # URL standard: UTF-16 pages (and unknown ones) use UTF-8 for the query.
    if name.startswith("utf-"):
        return "utf-8"
    return name
