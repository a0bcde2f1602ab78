"""HTTP heads as bytes: the request target and Host the download handler writes, the header
values read back from a recorded head, and the head a 304 revisit replays with.

Heads are what went over the wire (archiver.crawl.wire), so reading them back is lenient in
the same ways the framing is (archiver.web.framing): bare LF line ends, folded lines.
"""

from __future__ import annotations

from urllib.parse import SplitResult

CRLF = b"\r\n"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def request_start(method: str, parts: SplitResult) -> list[bytes]:
    """The request line and the Host line the download handler writes for a URL (split)."""
    line = method.encode("ascii") + b" " + request_target(parts) + b" HTTP/1.1"
    return [line, b"Host: " + host_header(parts)]


def host_header(parts: SplitResult) -> bytes:
    """The Host header value for a URL: the port only when it is not the scheme's default."""
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{port}"
    return host.encode("idna") if not host.isascii() else host.encode("ascii")


def request_target(parts: SplitResult) -> bytes:
    """The request-target of the request line: path and query, never the fragment."""
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return target.encode("ascii", "strict") if target.isascii() else target.encode("utf-8")


# A 304 does not describe the stored body's framing or encoding (RFC 9111 4.3.4 leaves these
# to the stored response).
_KEEP_FROM_STORED = {b"content-length", b"content-encoding", b"transfer-encoding", b"content-type"}


def split_head(head: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """(status or request line, [(name, value)]) of a head as recorded: any line ends, an
    obsolete folded line joined to the one before, a line without a colon left out."""
    lines = [line.removesuffix(b"\r") for line in head.split(b"\n")]
    pairs: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and pairs:
            name, value = pairs[-1]
            pairs[-1] = (name, value + b" " + line.strip())
            continue
        name, colon, value = line.partition(b":")
        if colon:
            pairs.append((name.strip(), value.strip()))
    return lines[0], pairs


def merge_not_modified(stored_head: bytes, not_modified_head: bytes) -> bytes:
    """The response a cache serves after a 304: the stored response, headers updated.

    RFC 9111 3.2: each header field the 304 carries replaces the stored field of that name;
    the status line and the body stay the stored ones. This is what the crawl effectively
    received for the new date, and what replay tools need to show the page for it.
    """
    status, stored = split_head(stored_head)
    _, fresh = split_head(not_modified_head)
    fresh = [(n, v) for n, v in fresh if n.lower() not in _KEEP_FROM_STORED]
    replaced = {n.lower() for n, _ in fresh}
    merged = [(n, v) for n, v in stored if n.lower() not in replaced] + fresh
    return CRLF.join([status, *(n + b": " + v for n, v in merged)]) + CRLF + CRLF


def header_value(head: bytes, name: bytes) -> str | None:
    """The last value of a header in *head*, latin-1 decoded (so any byte survives)."""
    found = None
    for key, value in split_head(head)[1]:
        if key.lower() == name:
            found = value
    return found.decode("latin-1") if found is not None else None
