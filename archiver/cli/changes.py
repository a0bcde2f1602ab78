"""``archiver changes DIR``: what changed between two runs of a collection."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from archiver.cli.options import whole_number_of
from archiver.collection.layout import Collection
from archiver.model.errors import CollectionError
from archiver.tools.changes import compare_runs, pick_runs, render_text, report_json


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Add ``archiver changes DIR [--from RUN] [--to RUN] [--json] [--diff-lines N]``."""
    changes = commands.add_parser(
        "changes",
        help="what changed between two runs of a collection",
        description="Compare two runs of a collection: pages new, changed, unchanged and gone. "
        "Without --from and --to, the last two runs.",
    )
    changes.add_argument("dir", type=Path, metavar="DIR", help="the collection folder")
    changes.add_argument("--from", dest="from_run", metavar="RUN", help="the earlier run id")
    changes.add_argument("--to", dest="to_run", metavar="RUN", help="the later run id")
    changes.add_argument("--json", action="store_true", help="print the report as JSON")
    changes.add_argument(
        "--diff-lines",
        type=whole_number_of("lines"),
        default=20,
        metavar="N",
        help="at most N lines of text diff per changed page (default 20)",
    )
    changes.set_defaults(func=changes_command)


def changes_command(parsed: argparse.Namespace) -> int:
    collection = Collection(Path(parsed.dir))
    if not collection.manifest.exists() and not collection.runs.is_dir():
        raise CollectionError(
            f"{collection.root} is not an archiver collection (no manifest.jsonl, no runs/); "
            "give the folder a crawl wrote with --output"
        )
    from_run, to_run = pick_runs(collection, parsed.from_run, parsed.to_run)
    report = compare_runs(collection, from_run, to_run, diff_lines=parsed.diff_lines)
    if parsed.json:
        print(json.dumps(report_json(report), indent=2, ensure_ascii=False))
    else:
        print(render_text(report), end="")
    return 0
