"""Sitemaps (sitemaps.org): more page URLs, read without trusting the XML.

A sitemap is XML from the web: entities are never resolved (no XXE, no billion laughs), no
DTD or network access happens, and the size read is capped by the decoded-content limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

MAX_URLS = 50_000  # the sitemaps.org limit per file

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True
)


@dataclass(slots=True)
class Sitemap:
    pages: list[str] = field(default_factory=list)  # <urlset><url><loc>
    sitemaps: list[str] = field(default_factory=list)  # <sitemapindex><sitemap><loc>


def parse_sitemap(content: bytes) -> Sitemap:
    """Page and sitemap URLs in a sitemap; malformed XML yields what could be read."""
    found = Sitemap()
    try:
        root = etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError:
        return found
    if root is None:
        return found
    index = etree.QName(root).localname == "sitemapindex"
    target = found.sitemaps if index else found.pages
    for element in root.iter():
        if not isinstance(element.tag, str) or etree.QName(element).localname != "loc":
            continue
        if len(element):
            continue  # an unexpanded entity reference (or markup) inside: not a plain URL
        text = (element.text or "").strip()
        if text.startswith(("http://", "https://")) and len(target) < MAX_URLS:
            target.append(text)
    return found
