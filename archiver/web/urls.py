"""URL forms: the origin, the normalized form scope rules compare, and the seen-set key."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

from w3lib.url import canonicalize_url

HTTP_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_http(url: str) -> bool:
    # Asked for every link: a prefix test, not a parse ("http:x", with no "//", is no link).
    return url[:8].lower().startswith(("http://", "https://"))


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


# Session ids in paths (;jsessionid=...) and queries make every link to a page new.
_SESSION_PATH = re.compile(r";(?:jsessionid|phpsessid|sid|sessionid)=[^/?#]*", re.IGNORECASE)
_SESSION_PARAMS = frozenset(
    {"jsessionid", "phpsessid", "sid", "sessionid", "aspsessionid", "cfid", "cftoken"}
)


# Every page repeats its site's navigation, so most links are URLs already seen; the key is
# asked for each of them before the frontier is, and canonicalizing is the costly part.
@lru_cache(maxsize=8_192)
def seen_key(url: str) -> str:
    """Two URLs with the same key are one capture.

    Query arguments are sorted because replay tools (SURT) treat such URLs as one resource
    too; session ids are dropped, as Heritrix does, so a site that puts a new one in every
    link is crawled once; http and https stay apart because they are different exchanges.
    """
    key = canonicalize_url(_SESSION_PATH.sub("", url), keep_fragments=False)
    parts = urlsplit(key)
    if not parts.query:
        return key
    kept = [p for p in parts.query.split("&") if p.split("=", 1)[0].lower() not in _SESSION_PARAMS]
    return urlunsplit(parts._replace(query="&".join(kept)))
