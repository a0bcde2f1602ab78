"""``archiver wacz DIR -o FILE``: one portable file for ReplayWeb.page and pywb."""

from __future__ import annotations

import argparse
from pathlib import Path

from archiver.tools.wacz import build_wacz


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "wacz",
        help="package a collection as one WACZ file",
        description="Write a WACZ 1.1.1 file (WARCs, CDXJ index, pages with text).",
    )
    parser.add_argument("dir", type=Path, metavar="DIR", help="the collection folder")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")
    parser.set_defaults(func=wacz_command)


def wacz_command(parsed: argparse.Namespace) -> int:
    path = build_wacz(parsed.dir, parsed.output)
    print(f"archiver: wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0
