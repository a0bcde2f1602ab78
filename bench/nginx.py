"""Debian's nginx serving a folder on 127.0.0.1, run by the benchmark without touching /etc/nginx.

nginx runs in the foreground (``daemon off``) as a child of the benchmark, from a config
written into a scratch folder that also holds its pid file, error log and every temp path, so
it needs no system paths and leaves nothing behind. It serves static files with nginx's
defaults for validators (ETag and Last-Modified on), as a plain web server would.
"""

from __future__ import annotations

import contextlib
import grp
import http.client
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench import procfs

NGINX_CANDIDATES = ("/usr/sbin/nginx",)
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0

CONFIG = """\
daemon off;
master_process on;
worker_processes 1;
pid {scratch}/nginx.pid;
error_log {scratch}/error.log warn;
{user}
events {{
    worker_connections 1024;
}}

http {{
    # Only the types the generated site has; /etc/nginx/mime.types is not needed.
    types {{
        text/html html;
        text/css css;
        text/plain txt;
        image/gif gif;
    }}
    default_type application/octet-stream;
{access_log}
    sendfile on;
    tcp_nopush on;
    # wget keeps one connection for the whole crawl: never make it reconnect midway.
    keepalive_requests 1000000;
    keepalive_timeout 65s;

    client_body_temp_path {scratch}/client_body;
    proxy_temp_path {scratch}/proxy;
    fastcgi_temp_path {scratch}/fastcgi;
    uwsgi_temp_path {scratch}/uwsgi;
    scgi_temp_path {scratch}/scgi;

    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        root {root};
        index index.html;
    }}
}}
"""


# When each request began and ended, and what was sent: enough to tell how many were in flight
# at once. $request_time runs from the first byte read from the client to the last one sent.
TIMING_LOG = """\
    log_format timing '$msec $request_time $status $body_bytes_sent $request_uri';
    access_log {path} timing;"""


class NginxError(RuntimeError):
    """nginx is missing, did not start, or did not serve the site."""


@dataclass
class Nginx:
    """A running nginx: its master process, the port it serves on, and its scratch folder."""

    process: subprocess.Popen[bytes]
    port: int
    scratch: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def cpu_seconds(self) -> float:
        """CPU time nginx has used so far, master and workers, read from /proc."""
        pids = [self.process.pid, *procfs.descendants(self.process.pid)]
        return sum(procfs.cpu_seconds(pid) for pid in pids)


def find_nginx() -> str:
    found = shutil.which("nginx") or next(
        (path for path in NGINX_CANDIDATES if os.access(path, os.X_OK)), None
    )
    if found is None:
        raise NginxError("nginx is not installed; `make bench` installs it (apt-get install nginx)")
    return found


def version(binary: str) -> str:
    """``nginx/1.22.1``: nginx -v prints it on stderr."""
    result = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False)
    return result.stderr.strip().removeprefix("nginx version: ")


def free_port() -> int:
    """A port nothing listens on now. nginx binds it a moment later; a clash is reported."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _user_line(root: Path) -> str:
    # Started by root, nginx drops its workers to "nobody", who may not be able to read the
    # site. Run the workers as the site's owner instead; a non-root nginx ignores the line.
    if os.geteuid() != 0:
        return ""
    owner = root.stat()
    return f"user {pwd.getpwuid(owner.st_uid).pw_name} {grp.getgrgid(owner.st_gid).gr_name};"


def _write_config(scratch: Path, root: Path, port: int, access_log: Path | None) -> Path:
    config = scratch / "nginx.conf"
    # Off unless asked for: a line per page would be work for nginx during a crawl of pages.
    logging = "    access_log off;" if access_log is None else TIMING_LOG.format(path=access_log)
    config.write_text(
        CONFIG.format(
            scratch=scratch,
            root=root.resolve(),
            port=port,
            user=_user_line(root),
            access_log=logging,
        )
    )
    return config


def _serves(port: int, timeout: float = 1.0) -> bool:
    """Whether nginx, and not some other server that took the port first, answers 200 on /."""
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        connection.request("HEAD", "/")
        response = connection.getresponse()
        connection.close()
    except OSError:
        return False
    return response.status == 200 and (response.getheader("Server") or "").startswith("nginx")


def _error_log(scratch: Path) -> str:
    with contextlib.suppress(OSError):
        return (scratch / "error.log").read_text().strip()
    return ""


class PortTaken(NginxError):
    """Another program bound the free port before nginx did."""


def start(
    root: Path, binary: str | None = None, attempts: int = 3, access_log: Path | None = None
) -> Nginx:
    """Start nginx serving ``root`` on a free port; return once ``/`` answers 200.

    ``access_log``: a file to log each request to, in the ``TIMING_LOG`` format (``/`` is
    requested once at start-up, to see that nginx serves)."""
    binary = binary or find_nginx()
    for _ in range(attempts - 1):
        with contextlib.suppress(PortTaken):
            return _start_on(root, binary, free_port(), access_log)
    return _start_on(root, binary, free_port(), access_log)


def _start_on(root: Path, binary: str, port: int, access_log: Path | None) -> Nginx:
    scratch = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    config = _write_config(scratch, root, port, access_log)
    # -e: the error log from the very start, before the config is read, so nginx never tries
    # /var/log/nginx/error.log; -p: relative paths resolve in the scratch folder. Its stderr
    # repeats the error log, which is quoted should it fail.
    command = [binary, "-e", str(scratch / "error.log"), "-p", str(scratch), "-c", str(config)]
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    server = Nginx(process, port, scratch)
    try:
        _wait_until_serving(server)
    except BaseException:
        stop(server)
        raise
    return server


def _wait_until_serving(server: Nginx) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            status, message = server.process.returncode, _error_log(server.scratch)
            error = PortTaken if "Address already in use" in message else NginxError
            last = message.splitlines()[-1] if message else "nothing in its error log"
            raise error(f"nginx exited with status {status}: {last}")
        if _serves(server.port):
            return
        time.sleep(0.05)
    raise NginxError(f"nginx did not serve {server.base_url} within {START_TIMEOUT} s")


def stop(server: Nginx) -> None:
    """Graceful shutdown (SIGQUIT lets workers finish), then SIGKILL if it hangs."""
    process = server.process
    if process.poll() is None:
        workers = procfs.descendants(process.pid)
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            # A killed master leaves its workers behind: end them too, by their own pids.
            for pid in workers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            process.kill()
            process.wait()
    shutil.rmtree(server.scratch, ignore_errors=True)


@contextlib.contextmanager
def serving(
    root: Path, binary: str | None = None, access_log: Path | None = None
) -> Iterator[Nginx]:
    server = start(root, binary, access_log=access_log)
    try:
        yield server
    finally:
        stop(server)
