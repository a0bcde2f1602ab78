"""An HTTP/1.1 server for the bundled sample site that logs every request it receives.

Stdlib only, so tests and operators can run it anywhere. Keep-alive is on (crawlers reuse
connections), every Host is served (crawlers map made-up names to 127.0.0.1), and TLS is optional.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import socketserver
import ssl
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import IO
from urllib.parse import unquote, urlsplit

from samplesite import hostile, resources
from samplesite.requestlog import LoggedRequest

SITE_ROOT = Path(__file__).resolve().parent / "site"
SERVER_NAME = "archiver-samplesite"
MAX_REQUEST_BODY = 1 << 20


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections are dropped after this many seconds
    server: _HTTPServer

    def version_string(self) -> str:
        return SERVER_NAME

    def log_message(self, format: str, *args: object) -> None:
        # The request log replaces http.server's stderr lines.
        pass

    def handle(self) -> None:
        # The listening socket does not handshake on accept (that would run in the accept loop
        # and let one slow client stall everyone); do it here, in this connection's thread.
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.do_handshake()
            except (ssl.SSLError, OSError):
                return
        super().handle()

    def handle_one_request(self) -> None:
        # The handler object lives as long as the connection: drop the previous request's
        # headers so a malformed follow-up request is not logged with them.
        vars(self).pop("headers", None)
        super().handle_one_request()

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = do_GET

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # http.server calls this for requests it cannot parse; route them through the same
        # path so they are logged and framed like every other response.
        self.close_connection = True
        if self.request_version == self.default_request_version:
            # http.server treats a request line it could not read as HTTP/0.9 and would send
            # the error with no status line; every client we meet speaks HTTP/1.x.
            self.request_version = "HTTP/1.0"
        title = message or HTTPStatus(code).phrase
        self._send(resources.error_reply(code, title, explain or title))

    def _dispatch(self) -> None:
        self._drain_request_body()
        target = self._raw_target()
        if "://" in target.split("?", 1)[0]:  # absolute-form, as sent to proxies
            parts = urlsplit(target)
            raw_path, query = parts.path or "/", parts.query
        else:
            raw_path, _, query = target.partition("?")
        try:
            reply = resources.respond(
                resources.Request(
                    method=self.command,
                    path=unquote(raw_path, errors="strict"),
                    query=query,
                    headers=self.headers,
                    scheme="https" if isinstance(self.connection, ssl.SSLSocket) else "http",
                    host=self.headers.get("Host") or self.server.site.authority,
                    root=self.server.site.root,
                    conditional=self.server.site.conditional,
                    robots=self.server.site.robots,
                    asked=self.server.site.asked,
                )
            )
        except UnicodeDecodeError:
            reply = resources.error_reply(400, "Bad Request", "The path is not valid UTF-8.")
        except Exception as exc:  # one broken handler must not take the connection down silently
            print(f"samplesite: error answering {target!r}: {exc!r}", file=sys.stderr)
            reply = resources.error_reply(500, "Internal Server Error", "Handler failed.")
        self._send(reply)

    def _drain_request_body(self) -> None:
        # Unread body bytes would be parsed as the next request on a kept-alive connection.
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if 0 < length <= MAX_REQUEST_BODY:
            self.rfile.read(length)
        elif length:
            self.close_connection = True

    def _raw_target(self) -> str:
        # self.path is rewritten by http.server (e.g. leading "//" collapsed); the log and the
        # routing need what the client actually sent.
        words = self.requestline.split()
        return words[1] if len(words) >= 2 else ""

    def _send(self, reply: resources.Reply) -> None:
        entity = reply.entity
        bodyless = self.command == "HEAD" or reply.status in (204, 304) or 100 <= reply.status < 200
        sent = b"" if bodyless else entity
        headers = getattr(self, "headers", None)
        peer_ip, peer_port = self.client_address[:2]
        # Logged before the first byte goes out, so a client that has read its response can
        # rely on finding the entry.
        self.server.site.record(
            LoggedRequest(
                method=self.command or "",
                target=self._raw_target(),
                host=(headers.get("Host") or "") if headers is not None else "",
                headers=list(headers.raw_items()) if headers is not None else [],
                status=reply.status,
                body_sha1=hashlib.sha1(sent).hexdigest(),
                timestamp=time.time(),
                client=f"{peer_ip}:{peer_port}",
            )
        )
        if reply.stream is not None:
            self.close_connection = True  # nothing can follow a self-framed response
            reply.stream(self.connection)
            return
        self.send_response_only(reply.status)
        self.send_header("Date", self.date_time_string())
        self.send_header("Server", SERVER_NAME)
        for name, value in reply.headers:
            self.send_header(name, value)
        if reply.chunks is not None:
            self.send_header("Transfer-Encoding", "chunked")
        elif reply.status not in (204, 304) and reply.status >= 200:
            self.send_header("Content-Length", str(len(entity)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if bodyless:
            return
        if reply.chunks is None:
            self.wfile.write(entity)
            return
        for chunk in reply.chunks:
            # One write per chunk so each really leaves as its own piece of the stream.
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], site: SampleSiteServer) -> None:
        self.site = site
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup for server_name; it is not needed
        # and stalls where there is no resolver.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request: socket.socket, client_address: object) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients hang up, time out and fail handshakes all the time; that is not news.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError | ssl.SSLError):
            return
        super().handle_error(request, client_address)


class SampleSiteServer:
    """Serves the sample site (or another folder) on 127.0.0.1 in a background thread."""

    def __init__(
        self,
        root: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        certfile: Path | None = None,
        keyfile: Path | None = None,
        request_log: Path | None = None,
        conditional: bool = True,
        robots: str = "normal",
    ) -> None:
        """``conditional=False``: ignore If-None-Match / If-Modified-Since, as many servers do.

        ``robots``: what /robots.txt answers, one of `hostile.ROBOTS_VARIANTS`.
        """
        if (certfile is None) != (keyfile is None):
            raise ValueError("give both certfile and keyfile for TLS, or neither")
        if robots not in hostile.ROBOTS_VARIANTS:
            raise ValueError(f"robots must be one of {', '.join(hostile.ROBOTS_VARIANTS)}")
        self.root = (root or SITE_ROOT).resolve()
        self.host = host
        self.port = port
        self.certfile = certfile
        self.keyfile = keyfile
        self.request_log = request_log
        self.conditional = conditional
        self.robots = robots
        self.asked = hostile.Asked()  # per resource: how many times it was requested
        self.requests: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._log_file: IO[str] | None = None
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.certfile else "http"

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.authority}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def start(self) -> None:
        if self._httpd is not None:
            raise RuntimeError("the sample site server is already running")
        httpd = _HTTPServer((self.host, self.port), self)
        if self.certfile and self.keyfile:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.certfile, self.keyfile)
            context.set_alpn_protocols(["http/1.1"])  # this server speaks no h2
            httpd.socket = context.wrap_socket(
                httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        if self.request_log is not None:
            self._log_file = self.request_log.open("a", encoding="utf-8")
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"samplesite:{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_open_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None

    def record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.requests.append(entry)
            if self._log_file is not None:
                self._log_file.write(entry.to_json() + "\n")
                self._log_file.flush()

    def __enter__(self) -> SampleSiteServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
