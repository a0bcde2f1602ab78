"""The bundled sample site and its server, exercised over real sockets on 127.0.0.1."""

from __future__ import annotations

import gzip
import hashlib
import html
import http.client
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import charset_normalizer
import pytest

from samplesite import SITE_ROOT, LoggedRequest, SampleSiteServer, generate
from tests.tlscert import make_self_signed

ETEXT = SITE_ROOT / "archive" / "etext"
QUOTE = (
    "\u201cThe theory of Marx, Engels, Lenin and Stalin is universally applicable.\u201d"
    " \u2014 Mao Zedong"
)


@pytest.fixture
def server() -> Iterator[SampleSiteServer]:
    with SampleSiteServer() as running:
        yield running


def fetch(
    server: SampleSiteServer, path: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.msg, response.read()
    finally:
        conn.close()


def raw_exchange(server: SampleSiteServer, request: bytes) -> bytes:
    """Send request bytes as they are and return every byte the server sends until it closes."""
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(request)
        received = bytearray()
        while chunk := sock.recv(65536):
            received += chunk
    return bytes(received)


def raw_get(server: SampleSiteServer, target: str, extra: bytes = b"") -> tuple[bytes, bytes]:
    request = (
        b"GET "
        + target.encode("latin-1")
        + b" HTTP/1.1\r\nHost: sample.archiver.test\r\n"
        + extra
        + b"Connection: close\r\n\r\n"
    )
    head, _, body = raw_exchange(server, request).partition(b"\r\n\r\n")
    return head, body


def status_of(head: bytes) -> int:
    return int(head.split(b" ", 2)[1])


def dechunk(body: bytes) -> list[bytes]:
    chunks = []
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            assert body == b"\r\n", "no trailers and nothing after the last chunk"
            return chunks
        chunks.append(body[:size])
        assert body[size : size + 2] == b"\r\n"
        body = body[size + 2 :]


# --- headers, encodings and framing ------------------------------------------------------------


def test_home_page_sends_several_cookies_and_a_raw_latin1_header_byte(
    server: SampleSiteServer,
) -> None:
    head, body = raw_get(server, "/archive/etext/")
    assert status_of(head) == 200
    assert head.count(b"\r\nSet-Cookie: ") >= 2
    assert b"\r\nX-Archive-Note: caf\xe9\r\n" in head
    assert body == (ETEXT / "index.html").read_bytes()

    status, headers, _ = fetch(server, "/archive/etext/index.html")
    assert status == 200
    assert len(headers.get_all("Set-Cookie") or []) >= 2


def test_static_files_carry_validators_and_exact_length(server: SampleSiteServer) -> None:
    status, headers, body = fetch(server, "/archive/etext/map.html")
    assert status == 200
    assert headers["Server"] == "archiver-samplesite"
    assert headers["Date"] and headers["Last-Modified"]
    assert re.fullmatch(r'"[0-9a-f]{20}"', headers["ETag"])
    assert int(headers["Content-Length"]) == len(body) == len((ETEXT / "map.html").read_bytes())

    status, head_headers, head_body = fetch(server, "/archive/etext/map.html", method="HEAD")
    assert (status, head_body) == (200, b"")
    assert head_headers["Content-Length"] == headers["Content-Length"]
    assert head_headers["ETag"] == headers["ETag"]

    status, _, body = fetch(server, "/archive/etext/map.html", {"If-None-Match": headers["ETag"]})
    assert (status, body) == (304, b"")


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/archive/etext/theory/quotes.html", "text/html; charset=iso-8859-1"),
        ("/archive/etext/countries/nocharset.html", "text/html"),
        ("/archive/etext/countries/france.html", "text/html"),
        ("/archive/etext/news/2008.html", "text/html; charset=utf-8"),
        ("/archive/etext/docs/program.pdf", "application/pdf"),
        ("/archive/etext/docs/readme.txt", "text/plain"),
        ("/archive/etext/style.css", "text/css"),
        ("/js/menu.js", "application/x-javascript"),
        ("/images/logo.gif", "image/gif"),
        ("/images/icon.ico", "image/x-icon"),
        ("/archive/etext/img/star.png", "image/png"),
        ("/archive/etext/applets/Clock.class", "application/java-vm"),
        ("/archive/etext/media/intro.swf", "application/x-shockwave-flash"),
        ("/archive/etext/media/anthem.mid", "audio/midi"),
        ("/robots.txt", "text/plain"),
    ],
)
def test_content_types_follow_extension_and_per_file_overrides(
    server: SampleSiteServer, path: str, content_type: str
) -> None:
    status, headers, _ = fetch(server, path)
    assert status == 200
    assert headers["Content-Type"] == content_type


@pytest.mark.parametrize(
    "path", ["/archive/etext/news/compressed.html", "/archive/etext/style.css"]
)
def test_gzip_only_when_accepted_and_byte_deterministic(
    server: SampleSiteServer, path: str
) -> None:
    original = (SITE_ROOT / path.lstrip("/")).read_bytes()

    status, headers, body = fetch(server, path)
    assert status == 200
    assert headers["Content-Encoding"] is None
    assert headers["Vary"] == "Accept-Encoding"
    assert body == original

    status, headers, refused = fetch(server, path, {"Accept-Encoding": "gzip;q=0, identity"})
    assert headers["Content-Encoding"] is None
    assert refused == original

    status, gz_headers, first = fetch(server, path, {"Accept-Encoding": "gzip, deflate"})
    _, _, second = fetch(server, path, {"Accept-Encoding": "gzip"})
    assert status == 200
    assert gz_headers["Content-Encoding"] == "gzip"
    assert gz_headers["Vary"] == "Accept-Encoding"
    assert int(gz_headers["Content-Length"]) == len(first)
    assert first == second == gzip.compress(original, compresslevel=6, mtime=0)
    assert gzip.decompress(first) == original
    assert gz_headers["ETag"] != headers["ETag"], "each representation has its own strong ETag"


def test_chunked_response_is_chunked_on_the_wire(server: SampleSiteServer) -> None:
    head, body = raw_get(server, "/archive/etext/news/chunked.html")
    assert status_of(head) == 200
    assert b"\r\nTransfer-Encoding: chunked" in head
    assert b"Content-Length" not in head
    chunks = dechunk(body)
    assert len(chunks) >= 3
    assert b"".join(chunks) == (ETEXT / "news" / "chunked.html").read_bytes()


def test_chunked_gzip_response_is_gzip_inside_chunks(server: SampleSiteServer) -> None:
    original = (ETEXT / "news" / "chunked-gzip.html").read_bytes()
    head, body = raw_get(
        server, "/archive/etext/news/chunked-gzip.html", b"Accept-Encoding: gzip\r\n"
    )
    assert b"\r\nContent-Encoding: gzip" in head
    assert b"\r\nTransfer-Encoding: chunked" in head
    chunks = dechunk(body)
    assert len(chunks) >= 3
    assert gzip.decompress(b"".join(chunks)) == original

    _, plain = raw_get(server, "/archive/etext/news/chunked-gzip.html")
    assert b"".join(dechunk(plain)) == original


# --- redirects, errors and special routes ------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "location"),
    [
        ("/archive/etext", 301, "http://sample.archiver.test:8000/archive/etext/"),
        ("/archive/etext/faq", 301, "http://sample.archiver.test:8000/archive/etext/faq/"),
        (
            "/archive/etext/old-index.html",
            301,
            "http://sample.archiver.test:8000/archive/etext/index.html",
        ),
        ("/archive/etext/news/latest.html", 302, "/archive/etext/news/2008.html"),
        ("/archive/etext/missing.html", 404, None),
        ("/archive/etext/img/", 404, None),
        ("/archive/etext/broken.html", 500, None),
    ],
)
def test_redirects_and_errors_have_html_bodies(
    server: SampleSiteServer, path: str, status: int, location: str | None
) -> None:
    # The crawler reaches the server under made-up names; redirects must follow the Host it used.
    got, headers, body = fetch(server, path, {"Host": "sample.archiver.test:8000"})
    assert got == status
    assert headers["Location"] == location
    assert headers["Content-Type"] == "text/html; charset=iso-8859-1"
    assert body.startswith(b"<HTML>")
    assert int(headers["Content-Length"]) == len(body)


def test_directory_index_and_site_root(server: SampleSiteServer) -> None:
    status, _, body = fetch(server, "/")
    assert status == 200
    assert b'HREF="/archive/etext/"' in body
    status, _, body = fetch(server, "/archive/etext/theory/")
    assert (status, body) == (200, (ETEXT / "theory" / "index.html").read_bytes())


def test_railfile_urls_map_to_the_rail_folder(server: SampleSiteServer) -> None:
    for name in ("letter1.html", "letter2.html", "letter3.html"):
        status, headers, body = fetch(server, f"/archive/etext/file.php?railfile={name}")
        assert status == 200
        assert headers["Content-Type"] == "text/html; charset=iso-8859-1"
        assert body == (ETEXT / "rail" / name).read_bytes()
    for query in ("railfile=letter4.html", "railfile=", "other=1", "railfile=../index.html"):
        status, _, _ = fetch(server, f"/archive/etext/file.php?{query}")
        assert status == 404, query


def test_path_traversal_never_leaves_the_root(tmp_path: Path) -> None:
    root = tmp_path / "site"
    shutil.copytree(SITE_ROOT, root)
    (tmp_path / "secret.txt").write_bytes(b"TOP SECRET")
    (root / "escape.txt").symlink_to(tmp_path / "secret.txt")
    targets = [
        "/../secret.txt",
        "/archive/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/archive/etext/%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.txt",
        "/archive/etext/..%5c..%5c..%5csecret.txt",
        "/%252e%252e/secret.txt",
        "/escape.txt",
        "/secret.txt%00.html",
        "/%00",
        "//secret.txt",
        "/archive/etext/file.php?railfile=../../../../secret.txt",
        "/archive/etext/file.php?railfile=..%2f..%2f..%2f..%2fsecret.txt",
        "/archive/etext/file.php?railfile=letter1.html%00",
    ]
    with SampleSiteServer(root=root) as site:
        for target in targets:
            head, body = raw_get(site, target)
            assert status_of(head) in (400, 404), target
            assert b"TOP SECRET" not in body, target
        # Still healthy afterwards.
        assert fetch(site, "/archive/etext/")[0] == 200


def test_other_methods_are_refused_and_bodies_drained(server: SampleSiteServer) -> None:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    conn.request("POST", "/archive/etext/index.html", body=b"q=maoism&go.x=3&go.y=4")
    response = conn.getresponse()
    assert response.status == 405
    assert response.headers["Allow"] == "GET, HEAD"
    response.read()
    # The POST body was consumed, so the same connection still parses the next request.
    conn.request("GET", "/robots.txt")
    response = conn.getresponse()
    assert response.status == 200
    assert b"Disallow: /archive/etext/private/" in response.read()
    conn.close()
    assert len({entry.client for entry in server.requests}) == 1


# --- the request log ---------------------------------------------------------------------------


def test_request_log_has_one_entry_per_request_on_a_kept_alive_connection(
    tmp_path: Path,
) -> None:
    log_path = tmp_path / "requests.jsonl"
    plan = [
        ("GET", "/robots.txt", {}, 200),
        ("GET", "/archive/etext/file.php?railfile=letter1.html", {"X-Probe": "MiXeD"}, 200),
        ("GET", "/archive/etext/missing.html", {}, 404),
        ("HEAD", "/archive/etext/old-index.html", {}, 301),
        ("GET", "/archive/etext/news/chunked.html", {}, 200),
        ("GET", "/archive/etext/news/compressed.html", {"Accept-Encoding": "gzip"}, 200),
        ("GET", "/archive/etext", {}, 301),
    ]
    bodies = []
    with SampleSiteServer(request_log=log_path) as site:
        conn = http.client.HTTPConnection(site.host, site.port, timeout=10)
        for method, target, headers, status in plan:
            conn.request(method, target, headers={"Host": "sample.archiver.test:8000", **headers})
            response = conn.getresponse()
            assert response.status == status
            assert not response.will_close
            bodies.append(response.read())  # http.client removes chunk framing, keeps gzip
        conn.close()
        logged = list(site.requests)

    assert [(e.method, e.target, e.status) for e in logged] == [
        (method, target, status) for method, target, _, status in plan
    ]
    assert {e.host for e in logged} == {"sample.archiver.test:8000"}
    assert len({e.client for e in logged}) == 1, "one TCP connection served every request"
    assert [e.body_sha1 for e in logged] == [hashlib.sha1(b).hexdigest() for b in bodies]
    assert logged[3].body_sha1 == hashlib.sha1(b"").hexdigest()  # HEAD sends no body
    assert logged[1].header("x-probe") == "MiXeD"
    assert ("X-Probe", "MiXeD") in logged[1].headers
    assert logged == [
        LoggedRequest.from_json(line) for line in log_path.read_text("utf-8").splitlines()
    ]


def test_request_log_keeps_the_raw_target_and_headers_as_received(
    server: SampleSiteServer,
) -> None:
    raw_exchange(
        server,
        b"GET //archive/etext/file.php?railfile=letter2.html&x=%41 HTTP/1.1\r\n"
        b"host: Sample.Archiver.Test:8000\r\n"
        b"x-lower: a\r\n"
        b"X-Dup: 1\r\n"
        b"X-Dup: 2\r\n"
        b"X-Odd: caf\xe9\r\n"
        b"Connection: close\r\n\r\n",
    )
    (entry,) = server.requests
    assert entry.target == "//archive/etext/file.php?railfile=letter2.html&x=%41"
    assert entry.host == "Sample.Archiver.Test:8000"
    assert entry.headers == [
        ("host", "Sample.Archiver.Test:8000"),
        ("x-lower", "a"),
        ("X-Dup", "1"),
        ("X-Dup", "2"),
        ("X-Odd", "caf\u00e9"),
        ("Connection", "close"),
    ]
    assert entry.status == 200
    assert (
        entry.body_sha1 == hashlib.sha1((ETEXT / "rail" / "letter2.html").read_bytes()).hexdigest()
    )
    assert LoggedRequest.from_json(entry.to_json()) == entry


def test_unparseable_requests_are_logged_too(server: SampleSiteServer) -> None:
    response = raw_exchange(server, b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 501 ")
    # A good request, then a malformed one on the same kept-alive connection.
    response = raw_exchange(
        server, b"GET /robots.txt HTTP/1.1\r\nHost: y\r\n\r\nGET /a b c d\r\n\r\n"
    )
    assert response.count(b"HTTP/1.1 ") == 2
    assert [(e.method, e.target, e.host, e.status) for e in server.requests] == [
        ("BREW", "/pot", "x", 501),
        ("GET", "/robots.txt", "y", 200),
        ("", "/a", "", 400),
    ]
    assert server.requests[-1].headers == []


# --- TLS ---------------------------------------------------------------------------------------


def test_tls_serves_the_site_with_a_self_signed_certificate(tmp_path: Path) -> None:
    cert, key = make_self_signed(tmp_path)
    context = ssl.create_default_context(cafile=str(cert))
    with SampleSiteServer(certfile=cert, keyfile=key) as site:
        assert site.base_url == f"https://127.0.0.1:{site.port}"

        # Clients that fail or refuse the handshake must not take the server down.
        raw_exchange(site, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        with socket.create_connection((site.host, site.port)) as sock:
            sock.sendall(b"\x16\x03\x01\x00\x05hello")

        for host in ("127.0.0.1", "localhost"):
            conn = http.client.HTTPSConnection(host, site.port, timeout=10, context=context)
            conn.request("GET", "/archive/etext/")
            response = conn.getresponse()
            assert response.status == 200
            assert response.read() == (ETEXT / "index.html").read_bytes()
            conn.request("GET", "/archive/etext/theory")
            response = conn.getresponse()
            assert response.status == 301
            assert (
                response.headers["Location"] == f"https://{host}:{site.port}/archive/etext/theory/"
            )
            response.read()
            conn.close()
        assert [e.target for e in site.requests] == ["/archive/etext/", "/archive/etext/theory"] * 2


# --- the site's content ------------------------------------------------------------------------


def test_windows_1252_page_is_labelled_latin1_and_holds_the_quote() -> None:
    data = (ETEXT / "theory" / "quotes.html").read_bytes()
    for byte in (0x93, 0x94, 0x97, 0xE9):
        assert bytes([byte]) in data
    assert QUOTE in data.decode("cp1252")
    assert QUOTE.encode("cp1252") in data
    assert b"charset=iso-8859-1" in data


def test_page_without_any_charset_needs_detection() -> None:
    data = (ETEXT / "countries" / "nocharset.html").read_bytes()
    assert b"charset" not in data.lower()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    text = data.decode("cp1252")
    for word in ("Qu\u00e9bec", "Soci\u00e9t\u00e9", "gar\u00e7on", "Z\u00fcrich"):
        assert word in text
    best = charset_normalizer.from_bytes(data).best()
    assert best is not None
    assert "Qu\u00e9bec" in str(best)


def test_committed_site_matches_the_generator() -> None:
    assert generate.main(["--check"]) == 0


def test_home_page_holds_the_seed_text() -> None:
    text = re.sub(r"<[^>]+>", "", (ETEXT / "index.html").read_text("latin-1"))
    words = " ".join(html.unescape(text).split())
    for phrase in (
        "This is an archive of the former website of the Maoist Internationalist Movement",
        "MIM differs from other communist parties on three main questions:",
        "the Netherlands, Israel, Sweden and Denmark.",
        "program outlining what we want and what we believe.",
    ):
        assert phrase in words


def _png_is_valid(data: bytes) -> bool:
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return False
    at, kinds = 8, []
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, payload = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        if zlib.crc32(kind + payload) != crc:
            return False
        kinds.append(kind)
        at += 12 + length
    return kinds[0] == b"IHDR" and kinds[-1] == b"IEND"


def test_binary_files_are_well_formed_and_distinct() -> None:
    images = [p for p in SITE_ROOT.rglob("*") if p.suffix in (".gif", ".png", ".ico")]
    assert len(images) >= 15
    digests = {hashlib.sha1(p.read_bytes()).hexdigest() for p in images}
    assert len(digests) == len(images), "every image is distinct"
    for path in images:
        data = path.read_bytes()
        if path.suffix == ".gif":
            assert data.startswith(b"GIF89a") and data.endswith(b"\x00;"), path
        elif path.suffix == ".png":
            assert _png_is_valid(data), path
        else:
            assert data[:6] == b"\x00\x00\x01\x00\x01\x00" and _png_is_valid(data[22:]), path

    pdf = (ETEXT / "docs" / "program.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-1.4") and pdf.endswith(b"%%EOF\n")
    assert b"(MIM Program \\(1995\\): what we want, what we believe.) Tj" in pdf
    startxref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert pdf[startxref:].startswith(b"xref\n")
    offsets = re.findall(rb"(\d{10}) 00000 n ", pdf)
    assert len(offsets) == 5
    for number, offset in enumerate(offsets, start=1):
        assert pdf[int(offset) :].startswith(b"%d 0 obj" % number)
    assert (ETEXT / "applets" / "Clock.class").read_bytes().startswith(b"\xca\xfe\xba\xbe")


# Each of these is referenced from exactly one file, by the one construct it exercises, so only
# a crawler that understands that construct finds it.
ONLY_REFERENCED_FROM = {
    "img/star-2x.png": "archive/etext/theory/index.html",  # srcset
    "img/paper.gif": "archive/etext/theory/mt1.html",  # BODY BACKGROUND
    "img/cell.gif": "archive/etext/theory/mt10.html",  # TD BACKGROUND
    "img/search.gif": "archive/etext/faq/joining.html",  # INPUT TYPE=image
    "img/hdr.gif": "archive/etext/theory/restoration.html",  # <style> url()
    "img/stripe.png": "archive/etext/theory/gpcr.html",  # style="" url()
    "img/bg-paper.png": "archive/etext/style.css",
    "img/bullet.gif": "archive/etext/style.css",
    '"print.css"': "archive/etext/style.css",  # @import
    "img/print-logo.gif": "archive/etext/print.css",
    "/images/rule.gif": "css/site.css",
    "/images/icon.ico": "archive/etext/index.html",  # LINK REL="shortcut icon"
    "/js/menu.js": "archive/etext/index.html",
    "/css/site.css": "archive/etext/index.html",
    "mapped/asia.html": "archive/etext/map.html",  # AREA
    "mapped/africa.html": "archive/etext/map.html",
    "mapped/americas.html": "archive/etext/map.html",
    "frames/nav.html": "archive/etext/frames.html",  # FRAME
    "frames/main.html": "archive/etext/frames.html",
    "ticker.html": "archive/etext/news/index.html",  # IFRAME
    "moved-target.html": "archive/etext/news/moved.html",  # META refresh
    "review-redbook.html": "archive/etext/based/page.html",  # BASE
    "cover-redbook.gif": "archive/etext/based/page.html",
    "media/intro.swf": "archive/etext/media.html",  # EMBED
    "media/anthem.mid": "archive/etext/media.html",  # OBJECT DATA
    "Clock.class": "archive/etext/media.html",  # APPLET CODE + CODEBASE
}


def test_hidden_requisites_and_pages_are_referenced_from_one_place_only() -> None:
    texts = {
        path.relative_to(SITE_ROOT).as_posix(): path.read_bytes().decode("latin-1")
        for path in SITE_ROOT.rglob("*")
        if path.suffix in (".html", ".css", ".js", ".txt")
    }
    for needle, where in ONLY_REFERENCED_FROM.items():
        found = sorted(path for path, text in texts.items() if needle in text)
        assert found == [where], needle


# --- reachability ------------------------------------------------------------------------------

ORIGIN = "http://site"
LINK = re.compile(
    r"""<(?P<tag>a|area|i?frame|base)\b[^>]*?\b(?:href|src)\s*=\s*"""
    r"""(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s>]+))""",
    re.IGNORECASE,
)
REFRESH = re.compile(r"""<meta\b[^>]*?\bcontent\s*=\s*"[^"]*?url=(?P<url>[^"]+)""", re.IGNORECASE)


def page_file(url: str) -> str | None:
    """The .html file under archive/etext/ a URL is served from, if any (file.php included)."""
    parts = urlsplit(url)
    prefix = "/archive/etext/"
    if f"{parts.scheme}://{parts.netloc}" != ORIGIN or not parts.path.startswith(prefix):
        return None
    relative = parts.path[len(prefix) :]
    if relative == "file.php":
        relative = "rail/" + parse_qs(parts.query).get("railfile", [""])[0]
    elif relative == "" or relative.endswith("/"):
        relative += "index.html"
    return relative if relative.endswith(".html") and (ETEXT / relative).is_file() else None


def reachable(tags: set[str], *, base: bool, refresh: bool) -> set[str]:
    seen: set[str] = set()
    queue = [f"{ORIGIN}/archive/etext/"]
    while queue:
        url = queue.pop()
        relative = page_file(url)
        if relative is None or relative in seen:
            continue
        seen.add(relative)
        text = (ETEXT / relative).read_bytes().decode("latin-1")
        links = [
            (m["tag"].lower(), html.unescape(m["dq"] or m["sq"] or m["bare"] or ""))
            for m in LINK.finditer(text)
        ]
        resolve_against = url
        if base:
            resolve_against = next((urljoin(url, v) for t, v in links if t == "base"), url)
        queue += [urljoin(resolve_against, v) for t, v in links if t in tags]
        if refresh:
            queue += [urljoin(resolve_against, m["url"]) for m in REFRESH.finditer(text)]
    return seen


def all_pages() -> set[str]:
    return {p.relative_to(ETEXT).as_posix() for p in ETEXT.rglob("*.html")}


def test_every_page_is_reachable_from_the_home_page() -> None:
    pages = all_pages()
    assert 30 <= len(pages) <= 50
    found = reachable({"a", "area", "frame", "iframe"}, base=True, refresh=True)
    # The 302 from news/latest.html is the only way to it.
    assert pages - found == {"news/2008.html"}


def test_some_pages_are_found_only_by_special_extraction() -> None:
    found = reachable({"a"}, base=False, refresh=False)
    assert all_pages() - found == {
        "news/2008.html",
        "mapped/asia.html",
        "mapped/africa.html",
        "mapped/americas.html",
        "frames/nav.html",
        "frames/main.html",
        "news/ticker.html",
        "news/moved-target.html",
        "books/review-redbook.html",
    }


# --- the command line --------------------------------------------------------------------------


def test_command_line_serves_until_sigterm(tmp_path: Path) -> None:
    log_path = tmp_path / "requests.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "samplesite", "--port", "0", "--log", str(log_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.fullmatch(r"serving sample site at http://127\.0\.0\.1:(\d+)/\n", line)
        assert match, line
        conn = http.client.HTTPConnection("127.0.0.1", int(match[1]), timeout=10)
        conn.request("GET", "/robots.txt")
        assert conn.getresponse().status == 200
        conn.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    (entry,) = [LoggedRequest.from_json(x) for x in log_path.read_text("utf-8").splitlines()]
    assert (entry.target, entry.status) == ("/robots.txt", 200)
