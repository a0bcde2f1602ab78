"""URL forms: the origin, the normalized form scope rules compare, and the seen-set key."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from w3lib.url import canonicalize_url

HTTP_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_http(url: str) -> bool:
    return urlsplit(url).scheme.lower() in HTTP_SCHEMES


def normalize(url: str) -> str:
    """Lower-case scheme and host, drop the default port and the fragment; keep path case."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def origin(url: str) -> str:
    """``scheme://host[:port]``: the unit robots.txt applies to (RFC 9309 section 2.3)."""
    parts = urlsplit(normalize(url))
    return f"{parts.scheme}://{parts.netloc}"


def hostname(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def seen_key(url: str) -> str:
    """Two URLs with the same key are one capture.

    Query arguments are sorted because replay tools (SURT) treat such URLs as one resource
    too; http and https stay apart because they are different exchanges.
    """
    return canonicalize_url(url, keep_fragments=False)
