"""A tiny static HTTP server on 127.0.0.1 that answers HTTP Range requests (RFC 9110 14).

ReplayWeb.page reads a WACZ in pieces: its service worker asks for byte ranges of the
zip (the central directory, then the index, then single records), so the server must answer
``Range: bytes=a-b`` with ``206 Partial Content``. ``http.server``'s handlers do not.

Only the files it is given are served, by URL path; everything else is 404. Every request is
recorded (method, path, Range header, status) for the test to look at.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "application/javascript",
    ".wacz": "application/wacz",
    ".json": "application/json",
}
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Served:
    method: str
    path: str
    range: str | None
    status: int


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, *, body: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        file = self.server.files.get(path)
        header = self.headers.get("Range")
        if file is None:
            self._reply(404, {}, b"not found\n", body)
            return self._record(path, header, 404)
        size = file.stat().st_size
        start, end, status = 0, size - 1, 200
        if header is not None:
            match = _RANGE.fullmatch(header.strip())
            # One range only (what browsers and ReplayWeb.page send); anything else gets the
            # whole file, which RFC 9110 allows a server to do.
            if match and (match[1] or match[2]):
                if match[1]:
                    start = int(match[1])
                    end = min(int(match[2]), size - 1) if match[2] else size - 1
                else:  # suffix range: the last N bytes
                    start = max(size - int(match[2]), 0)
                if start >= size or start > end:
                    self._reply(416, {"Content-Range": f"bytes */{size}"}, b"", body)
                    return self._record(path, header, 416)
                status = 206
        headers = {
            "Content-Type": _TYPES.get(file.suffix, "application/octet-stream"),
            "Accept-Ranges": "bytes",
            "Cache-Control": "no-store",
        }
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        self._record(path, header, status)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        if body:
            with file.open("rb") as f:
                f.seek(start)
                left = end - start + 1
                while left > 0:
                    chunk = f.read(min(_CHUNK, left))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    left -= len(chunk)

    def _reply(self, status: int, headers: dict[str, str], data: bytes, body: bool) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _record(self, path: str, header: str | None, status: int) -> None:
        with self.server.lock:
            self.server.log.append(Served(self.command, path, header, status))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, files: dict[str, Path]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files = files
        self.log: list[Served] = []
        self.lock = threading.Lock()


class RangeServer:
    """Serve ``files`` ({"/url/path": Path}) on 127.0.0.1 at a free port, in a thread."""

    def __init__(self, files: dict[str, Path]) -> None:
        self._server = _Server({path: Path(file) for path, file in files.items()})
        self.port = int(self._server.server_address[1])
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def log(self) -> list[Served]:
        with self._server.lock:
            return list(self._server.log)

    def __enter__(self) -> RangeServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
