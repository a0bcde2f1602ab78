"""What a link is to the crawl: a page to follow or a requisite a page needs to render."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class LinkKind(StrEnum):
    """Heritrix's hop letters, kept in the frontier and the dedup index."""

    NAVIGATION = "L"  # a page link: a, area, meta refresh, link rel=alternate/next...
    REQUISITE = "E"  # needed to render the page: images, CSS, scripts, frames, embeds


@dataclass(frozen=True, slots=True)
class Link:
    url: str  # absolute http(s) URL, fragment removed, percent-encoded like a browser
    kind: LinkKind
    source: str  # where it was found, e.g. "a/@href", "img/@srcset", "css/url"
