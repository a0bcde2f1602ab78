"""``archiver crawl SEED... --output DIR``: archive a website into a collection folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from archiver.cli.exits import EXIT_FAILED, EXIT_OK
from archiver.cli.options import OPTIONS, load_toml, to_settings
from archiver.collection.layout import Collection
from archiver.collection.summary import RunSummary
from archiver.crawl.run import Run
from archiver.model import defaults
from archiver.model.errors import ConfigError
from archiver.model.fingerprint import Fingerprint
from archiver.model.stops import StopReason
from archiver.tools.endings import ending
from archiver.tools.replay import collection_name
from archiver.web.addresses import parse_rules
from archiver.web.scope import Scope


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Add ``archiver crawl SEED... --output DIR [options]``: every option of options.OPTIONS."""
    crawl = commands.add_parser(
        "crawl",
        help="archive a website into a collection folder",
        description="Crawl from the seeds and write WARC files, manifest, index and run summary.",
    )
    crawl.add_argument("seeds", nargs="*", metavar="SEED", help="URL to start from")
    crawl.add_argument("--config", type=Path, metavar="FILE", help="TOML file of options")
    for option in OPTIONS:
        if option.flag is not None:
            crawl.add_argument(
                f"--{option.name}", action="store_true", default=None, help=option.help
            )
            continue
        crawl.add_argument(
            f"--{option.name}",
            action="append" if option.repeatable else "store",
            metavar=option.metavar,
            help=option.help,
            default=None,
        )
    crawl.add_argument("-v", "--verbose", action="store_true", help="log INFO to the console")
    crawl.set_defaults(func=crawl_command)


def gather_options(parsed: argparse.Namespace) -> dict[str, Any]:
    """Config file values overlaid with the command line's."""
    values = load_toml(parsed.config) if parsed.config else {}
    for option in OPTIONS:
        given = getattr(parsed, option.name.replace("-", "_"))
        if given is not None:
            values[option.name] = given
    if parsed.seeds:
        values["seeds"] = parsed.seeds
    return values


def crawl_command(parsed: argparse.Namespace) -> int:
    options = gather_options(parsed)
    if not options.get("seeds"):
        raise ConfigError(
            "no seed URL: give at least one, e.g. archiver crawl http://example.org/ --output DIR"
        )
    if not options.get("output"):
        raise ConfigError("no collection folder: add --output DIR")
    check_output(Path(options["output"]))
    overrides = to_settings(options)
    # Validate everything the crawl will need before anything is written.
    parse_rules(overrides.get("ARCHIVER_RESOLVE", []))
    Scope.build(
        overrides["ARCHIVER_SEEDS"],
        overrides.get("ARCHIVER_SCOPE", []),
        overrides.get("ARCHIVER_ALLOW_HOSTS", []),
        overrides.get("ARCHIVER_EXCLUDE", []),
    )
    # Take the collection's lock before Scrapy starts: a busy collection is refused at once.
    run = Run.start(
        overrides["ARCHIVER_OUTPUT"],
        index_class=overrides.get("ARCHIVER_DEDUP_INDEX", defaults.DEDUP_INDEX),
        fingerprint=Fingerprint.of(
            spider="archive",
            seeds=overrides["ARCHIVER_SEEDS"],
            scope=overrides.get("ARCHIVER_SCOPE", []),
            allow_hosts=overrides.get("ARCHIVER_ALLOW_HOSTS", []),
            exclude=overrides.get("ARCHIVER_EXCLUDE", []),
            robots=overrides.get("ARCHIVER_ROBOTS", defaults.ROBOTS),
        ),
        restart=bool(overrides.get("ARCHIVER_RESTART")),
    )
    overrides["ARCHIVER_RUN_ID"] = run.run_id
    if not overrides.get("ARCHIVER_NO_WARC"):
        from archiver.archive.worker import ArchiveWorker

        # Started before Scrapy is even imported, so that its start-up overlaps Scrapy's.
        run.worker = ArchiveWorker(lock_fd=run.lock.fileno())
    # Scrapy is imported only now: `archiver --help` and bad input stay fast.
    from archiver.crawl.process import run_crawl

    if not parsed.verbose:
        overrides["LOG_LEVEL"] = "WARNING"
    try:
        summary = run_crawl(overrides, run)
    finally:
        run.close()
    print_report(run, summary)
    reason = summary.finish_reason
    if reason is StopReason.DISK_FULL:
        print(
            "archiver: error: the disk is full; the files written are complete: "
            "free some space and run the same command again to continue",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if reason is StopReason.DISK_LOW:
        print(
            "archiver: error: the collection's disk is nearly full (below --min-free-space); "
            "the files written are complete: free some space and run the same command again "
            "to continue",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if reason is not None and reason.by_limit:
        # A limit the operator set is a planned end, not an error: the files are complete
        # and the next run of the same command continues (README: "Run limits").
        print(
            f"archiver: {_ending(summary)}; run the same command again to continue the run",
            file=sys.stderr,
        )
    elif reason is not StopReason.FINISHED:
        print(
            f"archiver: error: the run stopped early ({reason}); "
            "run the same command again to resume it",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if overrides.get("ARCHIVER_NO_WARC"):
        print("archiver: --no-warc: nothing was archived (a measurement run)", file=sys.stderr)
        return EXIT_OK
    if not summary.counts.captures:
        print(f"archiver: error: nothing was captured; see {summary.files.log}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def check_output(output: Path) -> None:
    """--output is a collection, or a folder that can become one; nothing else is touched."""
    if output.exists() and not output.is_dir():
        raise ConfigError(f"--output {output} is a file; give a folder for the collection")
    if output.is_dir() and any(output.iterdir()) and not Collection(output).is_collection():
        raise ConfigError(
            f"--output {output} is a folder with other files, not an archiver collection; "
            "give a new or empty folder"
        )


def print_report(run: Run, summary: RunSummary) -> None:
    collection = run.collection
    root = collection.root
    counts = summary.counts
    statuses = ", ".join(f"{code}: {n}" for code, n in counts.by_status.items()) or "none"
    errors = sum(counts.fetch_errors.values())
    print(
        f"archiver: run {summary.run_id} {summary.finish_reason} in "
        f"{summary.elapsed_seconds:.1f} s: {counts.captures} captures, "
        f"{counts.documents} documents, {errors} fetch errors"
    )
    print(f"  ended     {_ending(summary)}")
    print(f"  status    {statuses}")
    retries = counts.retries or {}
    if retries:
        asked = ", ".join(f"{what}: {n}" for what, n in retries.items())
        print(f"  429/503   {asked}")
    for given_up in summary.hosts_given_up or ():
        print(
            f"  gave up   {given_up.host}: {given_up.reason} ({given_up.skipped} URLs not fetched)"
        )
    if summary.resumes:
        print(
            f"  resumed   {summary.resumes}x: {counts.captured_before_resume} captures "
            f"before this process, {counts.captures_in_run} in the whole run"
        )
    # The summary's files are these, relative to the collection (runlog.build_summary).
    log = collection.log_for(run.run_id)
    if not summary.files.warcs:  # nothing archived (--no-warc): nothing to replay
        print(f"  log       {log}")
        return
    for name in summary.files.warcs:
        size = (root / name).stat().st_size
        print(f"  WARC      {root / name} ({size / 1e6:.2f} MB)")
    print(f"  manifest  {collection.manifest}")
    print(f"  index     {collection.index_for(run.run_id)}")
    print(f"  summary   {collection.summary_for(run.run_id)}")
    page = collection.report_for(run.run_id)
    if page.exists():  # not written on a full disk
        print(f"  report    {page}")
    print(f"  log       {log}")
    seeds = summary.settings.seeds
    seed = seeds[0] if seeds else ""
    name = collection_name(root)
    command = _command()
    print("replay:")
    print(f"  {command} replay {root}    # pywb: open http://127.0.0.1:8080/{name}/{seed}")
    print(f"  {command} wacz {root} -o {name}.wacz    # then open it in ReplayWeb.page")


def _ending(summary: RunSummary) -> str:
    return ending(
        summary.finish_reason,
        elapsed_seconds=summary.elapsed_seconds,
        warc_bytes=summary.bytes.warc,
    )


def _command() -> str:
    """How to call archiver again: its script beside this Python (a venv) if there."""
    here = Path(sys.executable).parent / "archiver"
    return str(here) if here.exists() else "archiver"
