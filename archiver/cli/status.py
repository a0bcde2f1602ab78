"""``archiver status DIR``: a collection on one screen."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from archiver.cli.options import whole_number_of
from archiver.tools.status import DEFAULT_RUNS, collection_status, render_text, status_json


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Add ``archiver status DIR [--runs N] [--json]``."""
    status = commands.add_parser(
        "status",
        help="a one-screen summary of a collection",
        description="Runs, dates, files, sizes and pages of a collection, whether a crawl is "
        "running or can be resumed, and how the last run ended. Reads; never writes.",
    )
    status.add_argument("dir", type=Path, metavar="DIR", help="the collection folder")
    status.add_argument(
        "--runs",
        type=whole_number_of("runs"),
        default=DEFAULT_RUNS,
        metavar="N",
        help=f"list the last N runs (default {DEFAULT_RUNS}); --json lists them all",
    )
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(func=status_command)


def status_command(parsed: argparse.Namespace) -> int:
    status = collection_status(Path(parsed.dir).absolute())
    if parsed.json:
        print(json.dumps(status_json(status), indent=2, ensure_ascii=False))
    else:
        print(render_text(status, parsed.runs), end="")
    return 0
