"""What the sample site answers: static files, per-file header overrides and named routes.

The HTTP plumbing lives in `server.py`; this module only turns a `Request` into a `Reply`, so a
new hostile resource is one function plus one line in `ROUTES`.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email.message import Message
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from urllib.parse import parse_qs, quote

from samplesite import hostile, traps

ETEXT = "/archive/etext"
HTML_LATIN1 = "text/html; charset=iso-8859-1"

CONTENT_TYPES = {
    ".html": HTML_LATIN1,  # the old server's default, whatever the bytes really are
    ".htm": HTML_LATIN1,
    ".css": "text/css",
    ".js": "application/x-javascript",
    ".txt": "text/plain",
    ".gif": "image/gif",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".ico": "image/x-icon",
    ".pdf": "application/pdf",
    ".class": "application/java-vm",
    ".swf": "application/x-shockwave-flash",
    ".mid": "audio/midi",
}


@dataclass(frozen=True)
class FileRule:
    """How one static file differs from the defaults for its extension."""

    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    gzip: bool = False  # gzip when the client accepts it, with Vary: Accept-Encoding


# Every per-file header oddity of the site, keyed by path under the site root.
FILE_RULES: dict[str, FileRule] = {
    "archive/etext/index.html": FileRule(
        headers=(
            ("Set-Cookie", "PHPSESSID=5f2b0c1e9a7d4e3c; path=/"),
            ("Set-Cookie", "visited=1; expires=Fri, 31-Dec-2010 23:59:59 GMT; path=/archive/"),
            ("Set-Cookie", "lang=en; path=/"),
            # http.server writes header values as latin-1, so this goes out as the raw byte 0xE9.
            ("X-Archive-Note", "caf\u00e9"),
        )
    ),
    # windows-1252 bytes (curly quotes, em dash) behind a latin-1 label, as on the real site.
    "archive/etext/theory/quotes.html": FileRule(content_type=HTML_LATIN1),
    # No charset in the header nor in the page: only detection can decode it.
    "archive/etext/countries/nocharset.html": FileRule(content_type="text/html"),
    # Mac Roman bytes declared only by a META element.
    "archive/etext/countries/france.html": FileRule(content_type="text/html"),
    "archive/etext/news/2008.html": FileRule(content_type="text/html; charset=utf-8"),
    "archive/etext/news/compressed.html": FileRule(gzip=True),
    "archive/etext/style.css": FileRule(gzip=True),
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # percent-decoded, without the query
    query: str
    headers: Message
    scheme: str
    host: str  # Host header, or the listening address when the client sent none
    root: Path  # resolved site root
    conditional: bool = True  # answer If-None-Match / If-Modified-Since with 304
    robots: str = "normal"  # which /robots.txt to serve: one of hostile.ROBOTS_VARIANTS
    # Counts the requests for a key (the server's, shared by its requests): resources that
    # answer differently the first times (hostile.busy_429).
    asked: hostile.Asked = field(default_factory=lambda: hostile.Asked())


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    chunks: list[bytes] | None = None  # when set: sent with Transfer-Encoding: chunked
    # When set, the server logs the request (status as given, digest of an empty body), then
    # hands it the socket to write the whole response itself, framing included, and closes
    # the connection after: for replies http.server cannot express.
    stream: Callable[[socket.socket], None] | None = None

    @property
    def entity(self) -> bytes:
        return self.body if self.chunks is None else b"".join(self.chunks)


Handler = Callable[[Request], Reply]


def error_reply(status: int, title: str, detail: str) -> Reply:
    body = (
        f"<HTML><HEAD><TITLE>{status} {title}</TITLE></HEAD>\n<BODY>\n<H1>{title}</H1>\n"
        f"<P>{html.escape(detail)}</P>\n<HR>\n<ADDRESS>archiver-samplesite</ADDRESS>\n"
        "</BODY></HTML>\n"
    ).encode("latin-1", "replace")
    return Reply(status, [("Content-Type", HTML_LATIN1)], body)


def not_found(request: Request) -> Reply:
    # One body for every missing URL, as nginx and most servers answer.
    return error_reply(404, "Not Found", "The requested URL was not found on this server.")


def moved(request: Request, status: int, location: str) -> Reply:
    body = (
        f"<HTML><HEAD><TITLE>{status} Moved</TITLE></HEAD>\n<BODY>\n<P>The document has moved "
        f'<A HREF="{html.escape(location)}">here</A>.</P>\n</BODY></HTML>\n'
    ).encode("latin-1", "replace")
    return Reply(status, [("Location", location), ("Content-Type", HTML_LATIN1)], body)


def absolute(request: Request, path: str) -> str:
    # Built from the Host header, as Apache does, so redirects follow whatever name the
    # crawler used for this server.
    return f"{request.scheme}://{request.host}{path}"


def accepts_gzip(request: Request) -> bool:
    for item in (request.headers.get("Accept-Encoding") or "").split(","):
        coding, _, params = item.partition(";")
        if coding.strip().lower() not in ("gzip", "x-gzip"):
            continue
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


def gzip_bytes(data: bytes) -> bytes:
    # mtime=0 and a fixed level make the compressed bytes, and so the payload digest, stable.
    return gzip.compress(data, compresslevel=6, mtime=0)


def locate(request: Request) -> Path | Reply:
    """Map the request path to a file under the root, or to the reply that refuses it."""
    if "\x00" in request.path:
        return error_reply(400, "Bad Request", "NUL in the request path.")
    segments = [part for part in request.path.split("/") if part]
    # Refuse dot segments and dotfiles outright instead of normalising them away, so no
    # spelling of ".." can ever climb out of the root.
    if any(part.startswith(".") or "\\" in part for part in segments):
        return not_found(request)
    candidate = request.root.joinpath(*segments)
    try:
        resolved = candidate.resolve()
    except (OSError, RuntimeError):
        return not_found(request)
    if not resolved.is_relative_to(request.root):
        return not_found(request)
    if resolved.is_dir():
        if not request.path.endswith("/"):
            suffix = f"?{request.query}" if request.query else ""
            location = absolute(request, quote(request.path) + "/" + suffix)
            return moved(request, 301, location)
        resolved = resolved / "index.html"
    if not resolved.is_file():
        return not_found(request)
    return resolved


def not_modified(request: Request, etag: str, mtime: float) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = [tag.strip() for tag in if_none_match.split(",")]
        return "*" in tags or etag in tags
    since = request.headers.get("If-Modified-Since")
    if since:
        try:
            return int(mtime) <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError):
            return False
    return False


def file_reply(request: Request, path: Path, *, compress: bool | None = None) -> Reply:
    """Serve one file; `compress` overrides the file's rule on gzip negotiation."""
    data = path.read_bytes()
    relative = path.relative_to(request.root).as_posix()
    rule = FILE_RULES.get(relative, FileRule())
    headers = [("Content-Type", rule.content_type or content_type(path))]
    if rule.gzip if compress is None else compress:
        headers.append(("Vary", "Accept-Encoding"))
        if accepts_gzip(request):
            data = gzip_bytes(data)
            headers.append(("Content-Encoding", "gzip"))
    mtime = path.stat().st_mtime
    # A strong validator from the bytes sent: the gzip variant gets its own ETag, as it must.
    etag = '"' + hashlib.sha1(data).hexdigest()[:20] + '"'
    headers += [("Last-Modified", formatdate(mtime, usegmt=True)), ("ETag", etag)]
    headers += rule.headers
    if request.conditional and not_modified(request, etag, mtime):
        return Reply(304, [h for h in headers if h[0] in ("ETag", "Last-Modified", "Vary")])
    return Reply(200, headers, data)


def content_type(path: Path) -> str:
    return CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")


def static(request: Request) -> Reply:
    found = locate(request)
    return found if isinstance(found, Reply) else file_reply(request, found)


# Named behaviours. Each takes the request and returns the whole reply.


def redirect(status: int, path: str, *, absolute_url: bool = True) -> Handler:
    def handler(request: Request) -> Reply:
        return moved(request, status, absolute(request, path) if absolute_url else path)

    return handler


def internal_error(request: Request) -> Reply:
    return error_reply(500, "Internal Server Error", "The search database is not available.")


def railfile(request: Request) -> Reply:
    """file.php?railfile=NAME serves rail/NAME, the way the old PHP script did."""
    name = parse_qs(request.query).get("railfile", [""])[0]
    if not name or "/" in name:
        return not_found(request)
    # Through the static mapping, so its traversal and symlink checks apply to NAME too.
    found = locate(replace(request, path=f"{ETEXT}/rail/{name}"))
    return found if isinstance(found, Reply) else file_reply(request, found)


def chunked(relative: str, *, pieces: int = 4, compress: bool = False) -> Handler:
    """Send a file with Transfer-Encoding: chunked in `pieces` chunks, optionally gzipped."""

    def handler(request: Request) -> Reply:
        reply = file_reply(request, request.root / relative, compress=compress)
        if reply.status == 200:
            size = -(-len(reply.body) // pieces)
            reply.chunks = [reply.body[i : i + size] for i in range(0, len(reply.body), size)]
            reply.body = b""
        return reply

    return handler


ROUTES: dict[str, Handler] = {
    f"{ETEXT}/old-index.html": redirect(301, f"{ETEXT}/index.html"),
    # A path-only Location, which HTTP/1.1 allows and some clients mishandle.
    f"{ETEXT}/news/latest.html": redirect(302, f"{ETEXT}/news/2008.html", absolute_url=False),
    f"{ETEXT}/broken.html": internal_error,
    f"{ETEXT}/file.php": railfile,
    f"{ETEXT}/news/chunked.html": chunked("archive/etext/news/chunked.html"),
    f"{ETEXT}/news/chunked-gzip.html": chunked(
        "archive/etext/news/chunked-gzip.html", compress=True
    ),
    **hostile.ROUTES,
    **traps.ROUTES,
}
# Handlers that own every path starting with their key, for resources whose URLs never run out.
PREFIX_ROUTES: dict[str, Handler] = {**hostile.PREFIX_ROUTES, **traps.PREFIX_ROUTES}


def respond(request: Request) -> Reply:
    if request.method not in ("GET", "HEAD"):
        reply = error_reply(405, "Method Not Allowed", f"{request.method} is not allowed here.")
        reply.headers.append(("Allow", "GET, HEAD"))
        return reply
    # Repeated slashes name the same resource, as they do for static files on Apache.
    route = re.sub("/{2,}", "/", request.path)
    handler = ROUTES.get(route) or next(
        (h for prefix, h in PREFIX_ROUTES.items() if route.startswith(prefix)), static
    )
    return handler(request)
