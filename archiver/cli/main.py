"""The ``archiver`` command line. ``main(args)`` is a function tests call directly."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from archiver import __version__
from archiver.cli import changes, crawl, replay, report, status, verify, wacz
from archiver.cli.exits import EXIT_FAILED, EXIT_USAGE
from archiver.collection.lock import CollectionBusy
from archiver.model.errors import ArchiverError, CollectionUnwritable

if TYPE_CHECKING:
    pass


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that says where the help is (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"archiver: error: {message}; see '{self.prog} --help'\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="archiver", description="Archive websites into WARC files with a text manifest."
    )
    parser.add_argument("--version", action="version", version=f"archiver {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    crawl.add_parser(commands)
    changes.add_parser(commands)
    replay.add_parser(commands)
    report.add_parser(commands)
    status.add_parser(commands)
    verify.add_parser(commands)
    wacz.add_parser(commands)
    return parser


def main(args: Sequence[str] | None = None) -> int:
    parser = build_parser()
    parsed = parser.parse_args(args)
    try:
        return parsed.func(parsed)
    except (CollectionBusy, CollectionUnwritable) as exc:
        # Not bad input: the same command works once the run ends, or with space.
        print(f"archiver: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except ArchiverError as exc:
        print(f"archiver: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
