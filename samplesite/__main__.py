"""python -m samplesite: serve the sample site in the foreground until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from samplesite.server import SampleSiteServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m samplesite", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--root", type=Path, help="serve this folder instead of the bundled site")
    parser.add_argument("--cert", type=Path, help="PEM certificate: serve HTTPS")
    parser.add_argument("--key", type=Path, help="PEM private key for --cert")
    parser.add_argument("--log", type=Path, help="append one JSON line per request to this file")
    args = parser.parse_args(argv)
    if (args.cert is None) != (args.key is None):
        parser.error("--cert and --key go together")

    server = SampleSiteServer(
        root=args.root,
        host=args.host,
        port=args.port,
        certfile=args.cert,
        keyfile=args.key,
        request_log=args.log,
    )
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    server.start()
    print(f"serving sample site at {server.base_url}/", flush=True)
    try:
        # A timed wait keeps the main thread returning to the interpreter, where signal
        # handlers run.
        while not stopping.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
