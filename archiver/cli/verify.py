"""``archiver verify DIR``: is every file sound, every record paired, every page replayable?"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from archiver.tools.verify import render_text, verify_collection


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Add ``archiver verify DIR [--replay] [--json]``."""
    verify = commands.add_parser(
        "verify",
        help="check that a collection's files are sound and its captures replay",
        description="Check every WARC record (gzip framing, digests, request pairing, "
        "encodings, revisits), the manifest and the CDXJ index; with --replay, also replay "
        "every capture in pywb. Exit 0 when all hold, 1 when something does not.",
    )
    verify.add_argument("dir", type=Path, metavar="DIR", help="the collection folder")
    verify.add_argument(
        "--replay", action="store_true", help="also replay every capture in a real pywb"
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.set_defaults(func=verify_command)


def verify_command(parsed: argparse.Namespace) -> int:
    report = verify_collection(Path(parsed.dir), replay=parsed.replay)
    if parsed.json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        print(render_text(report), end="")
    return 0 if report.ok else 1
