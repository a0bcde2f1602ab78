"""``archiver replay DIR``: serve a collection with pywb on 127.0.0.1."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from archiver.collection.layout import Collection
from archiver.tools.replay import collection_name, prepare_workdir, seeds_of, wayback_program


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "replay",
        help="serve a collection with pywb on 127.0.0.1",
        description="Serve the collection's WARCs with pywb, in place, until interrupted.",
    )
    parser.add_argument("dir", type=Path, metavar="DIR", help="the collection folder")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (8080)")
    parser.add_argument("--name", help="collection name in replay URLs (default: folder name)")
    parser.add_argument(
        "--no-frame", action="store_true", help="replay without pywb's frame (framed_replay off)"
    )
    parser.set_defaults(func=replay_command)


def replay_command(parsed: argparse.Namespace) -> int:
    collection = Collection(parsed.dir)
    name = parsed.name or collection_name(collection.root)
    workdir = prepare_workdir(
        collection, collection.root / "replay", name, framed=not parsed.no_frame
    )
    program = wayback_program()
    base = f"http://{parsed.host}:{parsed.port}/{name}/"
    print(f"archiver: replaying {collection.root} at {base}  (Ctrl-C stops)")
    for seed in seeds_of(collection):
        print(f"  open {base}{seed}")
    sys.stdout.flush()
    # pywb becomes this process: Ctrl-C, SIGTERM and service managers reach it directly.
    os.chdir(workdir)
    os.execv(program, [program, "-b", parsed.host, "-p", str(parsed.port)])
