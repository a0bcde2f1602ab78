"""Replay WARC files in a real pywb ``wayback`` server, for end-to-end tests.

``PywbReplay`` builds a collection with ``wb-manager init``/``add`` (the WARCs are
*copied* into ``collections/<name>/archive`` under their base names -- a repeated name
becomes ``<stem>-1.warc.gz`` -- and indexed to CDXJ), writes ``config.yaml`` and runs
``wayback -b 127.0.0.1 -p <port>`` with the work directory as cwd; the server log goes
to ``<workdir>/wayback.log``.  Use a fresh work directory: ``wb-manager init`` refuses
an existing collection.

What pywb 2.10 does in identity (``id_``) replay, found by replaying hand-made WARCs
(the rules live in ``pywb/rewrite/content_rewriter.py`` and ``header_rewriter.py``):

* The body is the stored HTTP payload, unmodified, when the stored Content-Encoding is
  acceptable to the client: ``Content-Encoding: gzip`` and the stored Content-Length are
  passed through and the body is the gzip bytes from the WARC.  "Acceptable" is a
  substring test of the stored coding against the request's Accept-Encoding; if it
  fails (e.g. no Accept-Encoding at all), pywb decompresses the body itself and renames
  the headers to ``X-Archive-Orig-Content-Encoding``/``X-Archive-Orig-Content-Length``.
  ``fetch_id`` therefore always sends ``Accept-Encoding: gzip, deflate, br`` so that
  ``decode=False`` sees the stored bytes, and undoes the coding locally for
  ``decode=True``.  Beware codings outside that list: ``Content-Encoding: x-gzip`` is
  not a substring of it, so pywb renames the header to X-Archive-Orig-Content-Encoding
  but, having no x-gzip decoder, still sends the gzip bytes -- replayed with no
  Content-Encoding at all, so ``decode=True`` cannot undo it.
* A stored ``Transfer-Encoding: chunked`` payload is de-chunked by pywb, and the header
  is renamed ``X-Archive-Orig-Transfer-Encoding``; chunked + gzip gives the gzip bytes.
  pywb then sends the body with its *own* chunked framing when no Content-Length was
  stored; http.client undoes that, so the body returned here never contains chunk
  framing either way.
* Headers pywb considers unsafe to replay (Date, Server, ETag, Cache-Control, Vary,
  ...) come back prefixed ``X-Archive-Orig-``; Content-Type, Content-Encoding,
  Content-Length, Set-Cookie and Location (not rewritten in ``id_`` mode) keep their
  names.  pywb adds its own Date, Memento-Datetime, Link and Content-Location (which
  shows the capture actually served).
* A timestamp need not be exact: the closest capture is served directly (no redirect).
  Redirects stored in the WARC are returned as-is; http.client does not follow them.

Revisit records (what the archiver must write for them to replay):

* ``WARC-Refers-To-Target-URI`` is required.  pywb looks the original up in the index
  by that URL, closest to ``WARC-Refers-To-Date`` (optional; without it the revisit's
  own date is used), filtered to non-revisit captures whose index digest equals the
  revisit's ``WARC-Payload-Digest``.  Without the URI, or if no capture of that URL has
  that digest (so the revisit must repeat the original's WARC-Payload-Digest exactly,
  same algorithm and encoding), the replay is HTTP 503 "Original for revisit record
  could not be loaded".
* ``WARC-Refers-To`` (the record ID) is not used, and the WARC-Profile is not checked.
* A 304's ``metadata`` record (``WARC-Target-URI: metadata://host/path``, the 304 as
  received) is indexed by ``wb-manager add`` under the page's own SURT key and second, as
  the scheme is not part of the key: ``cdx`` lists it beside the revisit, with mime
  ``application/http``. Replay still serves the revisit: at the same timestamp its line
  sorts first (``"http...`` before ``"metadata...``).
* The original must be in the same collection (any of its WARCs).
* The status and headers come from the revisit's own HTTP block when it has one, with
  the original's payload bytes; so a revisit of a gzip response whose own headers lack
  ``Content-Encoding: gzip`` replays gzip bytes *without* the header.  Only a revisit
  with an empty block borrows the original's headers.  A 3xx revisit replays with an
  empty body without looking the original up.
"""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from urllib.parse import quote, urlencode

# Tools come from the venv running the tests, never from whatever is first on PATH.
_BIN = Path(sys.executable).parent

_STARTUP_TIMEOUT = 60.0
_MANAGER_TIMEOUT = 120.0
_STOP_TIMEOUT = 10.0
_HTTP_TIMEOUT = 30.0

# Offer every coding pywb can decode so that it never decodes on our behalf: it strips a
# Content-Encoding only when the stored coding is not a substring of Accept-Encoding.
_ACCEPT_ENCODING = "gzip, deflate, br"

# Characters left alone when a target URL is put into a replay path: URL syntax and
# existing %-escapes must survive, anything else (spaces, non-ASCII) is %-encoded because
# http.client refuses to send it raw.
_URL_SAFE = ":/?&=;,+$!*'()@[]~%"


class PywbError(RuntimeError):
    """pywb could not be set up, started or queried."""


class PywbReplay:
    """A throw-away pywb collection holding ``warcs``, served on 127.0.0.1.

    Use as a context manager; ``base_url`` is valid inside the ``with`` block.
    """

    def __init__(
        self,
        workdir: Path,
        warcs: Iterable[Path],
        *,
        collection: str = "test",
        framed_replay: bool = False,
    ) -> None:
        self.workdir = Path(workdir)
        self.warcs = [Path(w).resolve() for w in warcs]
        self.collection = collection
        self.framed_replay = framed_replay
        self.base_url = ""
        self.port = 0
        self.log_path = self.workdir / "wayback.log"
        self._proc: subprocess.Popen[bytes] | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> PywbReplay:
        if not self.warcs:
            raise ValueError("PywbReplay needs at least one WARC")
        missing = [str(w) for w in self.warcs if not w.is_file()]
        if missing:
            raise FileNotFoundError(f"WARCs not found: {missing}")

        self.workdir.mkdir(parents=True, exist_ok=True)
        self._manager("init", self.collection)
        warcs = [str(w) for w in self.warcs if w.suffix != ".wacz"]
        waczs = [str(w) for w in self.warcs if w.suffix == ".wacz"]
        if warcs:
            self._manager("add", self.collection, *warcs)
        if waczs:  # a WACZ is unpacked: its WARCs and its CDXJ index join the collection
            self._manager("add", "--unpack-wacz", self.collection, *waczs)
        # Non-framed replay keeps plain URLs (no top frame) for any test that looks at
        # rewritten pages; id_ replay is unaffected either way.
        (self.workdir / "config.yaml").write_text(
            f"framed_replay: {'true' if self.framed_replay else 'false'}\n", encoding="utf-8"
        )
        try:
            self._start()
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop()

    def _manager(self, *args: str) -> None:
        cmd = [str(_BIN / "wb-manager"), *args]
        try:
            proc = subprocess.run(
                cmd,
                cwd=self.workdir,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=_MANAGER_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise PywbError(f"{' '.join(cmd)} timed out after {_MANAGER_TIMEOUT:.0f} s") from exc
        if proc.returncode != 0:
            raise PywbError(
                f"{' '.join(cmd)} exited with {proc.returncode}:\n{proc.stdout}{proc.stderr}"
            )

    def _start(self) -> None:
        # The port is picked by binding to 0 and released before wayback binds it, so
        # another process can grab it in between; retry with a fresh port if that happens.
        last_error = ""
        for _attempt in range(3):
            self.port = _free_port()
            self.base_url = f"http://127.0.0.1:{self.port}"
            with self.log_path.open("ab") as log:
                self._proc = subprocess.Popen(
                    [str(_BIN / "wayback"), "-b", "127.0.0.1", "-p", str(self.port)],
                    cwd=self.workdir,
                    stdin=subprocess.DEVNULL,
                    # A file, not a pipe: nobody drains a pipe while tests run, and a full
                    # pipe would block the server.
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            if self._wait_ready():
                return
            last_error = self._log_tail()
            self._stop()
        raise PywbError(f"wayback did not start on 127.0.0.1; log tail:\n{last_error}")

    def _wait_ready(self) -> bool:
        assert self._proc is not None
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            try:
                status, _, _ = self._request("GET", f"/{self.collection}/", {}, timeout=2.0)
            except OSError:
                time.sleep(0.1)
                continue
            if status == 200:
                return True
            time.sleep(0.1)
        return False

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
        # wait() reaps the child even after kill(), so no zombie is left behind.
        proc.wait()

    def _log_tail(self, limit: int = 4000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-limit:]
        except OSError:
            return "(no log)"

    # -- queries -------------------------------------------------------------------------

    def cdx(self, url: str) -> list[dict]:
        """The collection's CDX lines for ``url`` (exact match unless it ends in ``*``)."""
        query = urlencode({"url": url, "output": "json"})
        status, _, body = self._request("GET", f"/{self.collection}/cdx?{query}", {})
        if status == 404:
            return []
        if status != 200:
            raise PywbError(f"cdx query for {url!r} returned HTTP {status}: {body[:500]!r}")
        return [json.loads(line) for line in body.decode("utf-8").splitlines() if line.strip()]

    def fetch_id(
        self, url: str, timestamp: str, *, decode: bool
    ) -> tuple[int, dict[str, str], bytes]:
        """Replay ``url`` at ``timestamp`` in identity (``id_``) mode.

        Returns ``(status, headers, body)``; header names are lower-cased and repeated
        headers joined with ``", "``.  ``decode=False`` gives the body exactly as pywb sent
        it (only HTTP chunking undone); ``decode=True`` also undoes every Content-Encoding
        pywb declared, giving the entity content.
        """
        path = f"/{self.collection}/{timestamp}id_/{quote(url, safe=_URL_SAFE)}"
        status, headers, body = self._request("GET", path, {"Accept-Encoding": _ACCEPT_ENCODING})
        if decode:
            body = decode_content(body, headers.get("content-encoding", ""))
        return status, headers, body

    def _request(
        self, method: str, path: str, headers: dict[str, str], *, timeout: float = _HTTP_TIMEOUT
    ) -> tuple[int, dict[str, str], bytes]:
        # http.client rather than urllib: it has no proxy support at all, so *_proxy
        # environment variables cannot divert loopback requests.
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, headers=headers)
            resp = conn.getresponse()
            # read() undoes Transfer-Encoding: chunked and nothing else.
            body = resp.read()
            merged: dict[str, str] = {}
            for name, value in resp.getheaders():
                key = name.lower()
                merged[key] = f"{merged[key]}, {value}" if key in merged else value
            return resp.status, merged, body
        finally:
            conn.close()


def decode_content(body: bytes, content_encoding: str) -> bytes:
    """Undo a Content-Encoding header value (codings applied in order, so undo in reverse)."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    for coding in reversed(codings):
        if coding in ("gzip", "x-gzip"):
            body = gzip.decompress(body)
        elif coding == "deflate":
            # RFC 9110 deflate is zlib-wrapped, but some servers send raw deflate.
            try:
                body = zlib.decompress(body)
            except zlib.error:
                body = zlib.decompress(body, -zlib.MAX_WBITS)
        elif coding == "br":
            import brotli  # pywb depends on it; imported lazily as few tests need it

            body = brotli.decompress(body)
        elif coding != "identity":
            raise ValueError(f"cannot undo Content-Encoding {coding!r}")
    return body


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


__all__ = ["PywbError", "PywbReplay", "decode_content"]
