"""``python -m samplesite.wait HOST PORT``: return once a server accepts connections.

`make run` starts the sample server in the background and must not crawl before it listens.
"""

import socket
import sys
import time


def wait_for(host: str, port: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    if not wait_for(host, port):
        print(f"nothing listens on {host}:{port} after 15 s", file=sys.stderr)
        sys.exit(1)
