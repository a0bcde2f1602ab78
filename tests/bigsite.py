"""A generated static site of a few thousand pages, for crawls long enough to kill midway.

Sections of numbered pages, each page linking its neighbours, its section and the home page,
with a shared stylesheet and image, and a few KB of text that differs page to page (so WARC
files fill and rotate as they would on a real site). ``urls`` is every URL a crawl of it
must capture, robots.txt included.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

WORDS = [
    "archive",
    "etext",
    "library",
    "poem",
    "chapter",
    "verse",
    "index",
    "mirror",
    "gopher",
    "usenet",
    "digest",
    "issue",
    "volume",
    "letter",
    "essay",
    "manual",
    "guide",
    "history",
    "notes",
    "lyrics",
    "fiction",
    "science",
    "language",
    "music",
    "politics",
]


@dataclass(frozen=True)
class BigSite:
    root: Path
    paths: list[str]  # every path a crawl must capture, "/robots.txt" included

    def urls(self, base: str) -> set[str]:
        return {base + path for path in self.paths}


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def _page(title: str, links: list[tuple[str, str]], body: str) -> str:
    items = "\n".join(f'<li><a href="{href}">{label}</a></li>' for href, label in links)
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=utf-8>"
        f'<title>{title}</title><link rel="stylesheet" href="/style.css"></head>\n'
        f'<body><h1>{title}</h1><img src="/logo.gif" alt="">\n<p>{body}</p>\n'
        f"<ul>\n{items}\n</ul></body></html>\n"
    )


def generate(root: Path, sections: int = 40, per_section: int = 50, seed: int = 5) -> BigSite:
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    paths = ["/robots.txt", "/", "/style.css", "/logo.gif"]
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n")
    (root / "style.css").write_text("body { font-family: serif }\n")
    (root / "logo.gif").write_bytes(b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!"
                                    b"\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01"
                                    b"\x00\x00\x02\x02D\x01\x00;")  # fmt: skip
    home_links = [(f"/s{s:02d}/", f"Section {s}") for s in range(sections)]
    (root / "index.html").write_text(_page("Home", home_links, _text(rng, 200)))
    for s in range(sections):
        folder = root / f"s{s:02d}"
        folder.mkdir(exist_ok=True)
        section_links = [(f"p{p:03d}.html", f"Page {p}") for p in range(per_section)]
        (folder / "index.html").write_text(
            _page(f"Section {s}", [("/", "Home"), *section_links], _text(rng, 100))
        )
        paths.append(f"/s{s:02d}/")
        for p in range(per_section):
            links = [("/", "Home"), ("./", f"Section {s}")]
            links += [
                (f"p{q:03d}.html", f"Page {q}") for q in (p - 1, p + 1) if 0 <= q < per_section
            ]
            (folder / f"p{p:03d}.html").write_text(
                _page(f"Section {s}, page {p}", links, _text(rng, 400))
            )
            paths.append(f"/s{s:02d}/p{p:03d}.html")
    return BigSite(root, paths)
