"""``archiver report DIR [--run RUN_ID]``: a run's report page, written again."""

from __future__ import annotations

import argparse
from pathlib import Path

from archiver.collection.layout import Collection
from archiver.collection.runs import list_runs, read_summary
from archiver.model.errors import CollectionError, CollectionUnwritable
from archiver.tools.report import write_report


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Add ``archiver report DIR [--run RUN_ID]``."""
    report = commands.add_parser(
        "report",
        help="rebuild a run's report page from its stored summary",
        description="Write runs/<run-id>/report.html again from runs/<run-id>.json and the "
        "run's index (every run writes its report when it ends). Without --run, the last run.",
    )
    report.add_argument("dir", type=Path, metavar="DIR", help="the collection folder")
    report.add_argument("--run", dest="run_id", metavar="RUN_ID", help="the run's id")
    report.set_defaults(func=report_command)


def report_command(parsed: argparse.Namespace) -> int:
    collection = Collection(Path(parsed.dir))
    runs = list_runs(collection)
    if not runs:
        raise CollectionError(
            f"{collection.root} has no run summary (runs/*.json); "
            "give the folder a crawl wrote with --output"
        )
    run_id = parsed.run_id or runs[-1]
    if run_id not in runs:
        raise CollectionError(
            f"{collection.root} has no run {run_id!r}; its runs are {', '.join(runs)}"
        )
    # list_runs has read every summary already: one it could not read ended the command there.
    summary = read_summary(collection, run_id)
    try:
        path = write_report(collection, summary)
    except OSError as exc:
        raise CollectionUnwritable(
            f"cannot write the report of run {run_id}: {exc.strerror or exc}"
        ) from exc
    print(path)
    return 0
