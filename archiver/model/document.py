"""What reading a captured document learned: its charset, title and text."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Document:
    """What the text stage learned about a captured page."""

    charset: str | None  # None for a PDF: each font has its own encoding
    charset_source: str
    charset_declared: str | None
    title: str | None
    text: str
