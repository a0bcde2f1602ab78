"""The replay check: every capture fetched from a real pywb and compared with its record."""

from __future__ import annotations

import hashlib
import http.client
import socket
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote, urljoin

from archiver.collection.cdxj import url_key
from archiver.collection.layout import Collection
from archiver.model.errors import ArchiverError
from archiver.tools.replay import prepare_workdir, wayback_program
from archiver.tools.verify.records import _name, _Rec, _Seen
from archiver.tools.verify.report import REPLAY, Problem

# -- replay in pywb ----------------------------------------------------------------------

_REPLAY_COLLECTION = "verify"
_ACCEPT_ENCODING = "gzip, deflate, br"  # pywb then serves every stored coding as stored
_URL_SAFE = ":/?&=;,+$!*'()@[]~%"  # URL syntax and existing escapes pass; the rest is escaped
_STARTUP_SECONDS = 60.0
_HTTP_SECONDS = 30.0
_EMPTY_SHA = hashlib.sha256(b"").digest()


class Wayback:
    """A pywb ``wayback`` serving the collection's own warcs/ and indexes/, nothing copied,
    from a temporary working folder (see replay.prepare_workdir)."""

    def __init__(self, collection: Collection) -> None:
        self.collection = collection
        self.port = 0
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Wayback:
        program = wayback_program()
        self._tmp = tempfile.TemporaryDirectory(prefix="archiver-verify-")
        work = Path(self._tmp.name)
        prepare_workdir(self.collection, work, _REPLAY_COLLECTION, framed=False)
        try:
            self._start(program, work)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _start(self, program: str, work: Path) -> None:
        # A free port is found by binding to 0 and released before wayback binds it; another
        # process may take it in between, so a failed start is retried on a new port.
        for _attempt in range(3):
            self.port = _free_port()
            with open(work / "wayback.log", "ab") as log:
                self._proc = subprocess.Popen(
                    [program, "-b", "127.0.0.1", "-p", str(self.port)],
                    cwd=work,
                    stdin=subprocess.DEVNULL,
                    stdout=log,  # a file, not a pipe nobody drains
                    stderr=subprocess.STDOUT,
                )
            if self._ready(work):
                return
            self._stop()
        raise ArchiverError(
            "pywb's wayback did not start on 127.0.0.1; its log ends:\n"
            + _tail(work / "wayback.log")
        )

    def _ready(self, work: Path) -> bool:
        deadline = time.monotonic() + _STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                return False
            try:
                status, _, _ = self.get(f"/{_REPLAY_COLLECTION}/", timeout=2.0)
            except OSError:
                time.sleep(0.1)
                continue
            if status != 200:
                # Up, but the collection did not load: no point in waiting or retrying.
                raise ArchiverError(
                    f"pywb does not serve the collection (HTTP {status}); its log ends:\n"
                    + _tail(work / "wayback.log")
                )
            return True
        return False

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        proc.wait()

    def fetch(self, url: str, ts: str) -> tuple[int, dict[str, str], bytes]:
        path = f"/{_REPLAY_COLLECTION}/{ts}id_/{quote(url, safe=_URL_SAFE)}"
        return self.get(path, {"Accept-Encoding": _ACCEPT_ENCODING})

    def get(
        self, path: str, headers: dict[str, str] | None = None, timeout: float = _HTTP_SECONDS
    ) -> tuple[int, dict[str, str], bytes]:
        # http.client has no proxy support, so *_proxy variables cannot divert loopback.
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path, headers=headers or {})
            resp = conn.getresponse()
            body = resp.read()  # undoes pywb's own chunking, nothing else
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
        finally:
            conn.close()


def _tail(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-2000:]
    except OSError:
        return "(no log)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check_replay(collection: Collection, seen: _Seen) -> tuple[int, list[Problem]]:
    """Fetch every capture from a real pywb and compare status and body with the record."""
    captures = sorted(
        (r for _i, r in seen.captures() if r.status is not None and r.uri.startswith("http")),
        key=lambda r: (r.file, r.offset),
    )
    if not captures:
        return 0, []
    if not collection.indexes.is_dir():
        message = "no indexes/ folder: pywb has no index to replay from"
        return 0, [Problem(REPLAY, "indexes", None, message)]
    groups = _replay_groups(seen)
    problems = []
    with Wayback(collection) as pywb:
        for rec in captures:
            why = _replay_problem(pywb, rec, groups[(url_key(rec.uri), rec.ts)], seen)
            if why:
                problems.append(Problem(REPLAY, f"warcs/{rec.file}", rec.offset, why))
    return len(captures), problems


def _replay_groups(seen: _Seen) -> dict[tuple[str, str], list[_Rec]]:
    # pywb addresses captures by SURT key and second: captures sharing both are one address,
    # and it may serve any of them.
    groups: dict[tuple[str, str], list[_Rec]] = defaultdict(list)
    for _rec_id, rec in seen.captures():
        groups[(url_key(rec.uri), rec.ts)].append(rec)
    return groups


def _replay_problem(pywb: Wayback, rec: _Rec, group: list[_Rec], seen: _Seen) -> str | None:
    try:
        status, headers, body = pywb.fetch(rec.uri, rec.ts)
    except (OSError, http.client.HTTPException) as exc:
        return f"{_name(rec)}: pywb did not answer ({exc})"
    served = _served_timestamp(headers)
    if served and served != rec.ts:
        # pywb falls back to the next closest capture when one does not load (an unresolved
        # revisit, say): the body may even match, but this capture did not replay.
        return f"{_name(rec)} at {rec.ts}: pywb served the capture of {served} instead"
    got = (status, hashlib.sha256(body).digest())
    wanted = [w for other in group for w in _acceptable(other, seen, other.uri == rec.uri)]
    if any(w_status == got[0] and w_sha in (None, got[1]) for w_status, w_sha in wanted):
        return None
    expected = ", ".join(sorted({str(s) for s, _ in wanted})) or "nothing"
    return (
        f"{_name(rec)} at {rec.ts}: pywb answered HTTP {status} with {len(body)} bytes that are "
        f"not the stored payload (expected HTTP {expected} with it)"
    )


def _served_timestamp(headers: dict[str, str]) -> str | None:
    """The capture pywb actually served, from its Content-Location (``.../<ts>id_/<url>``)."""
    location = headers.get("content-location", "")
    marker = location.find("id_/")
    if marker < 0:
        return None
    return location[:marker].rsplit("/", 1)[-1] or None


def _acceptable(rec: _Rec, seen: _Seen, asked: bool) -> list[tuple[int, bytes | None]]:
    """(status, sha256 of body, or None for any body) pywb may answer when serving ``rec``.

    ``asked`` says whether ``rec``'s own URL was requested, rather than another URL pywb
    files under the same SURT key and second.
    """
    if _redirects_to_itself(rec):
        # One SURT key for /faq and /faq/: pywb answers with its own redirect to the target,
        # and serves the target's capture, not this one, when the target is asked for.
        return [(307, None)] if asked else []
    referred = seen.by_id.get(rec.link or "") if rec.type == "revisit" else rec
    status = rec.status
    if status is not None and 300 <= status < 400 and rec.type == "revisit":
        return [(status, _EMPTY_SHA)]  # pywb does not look a 3xx revisit's payload up
    if referred is None or referred.body_sha is None or status is None:
        return []
    return [(status, referred.body_sha)]


def _redirects_to_itself(rec: _Rec) -> bool:
    if rec.status is None or not 300 <= rec.status < 400 or not rec.location:
        return False
    target = urljoin(rec.uri, rec.location)
    return target != rec.uri and url_key(target) == url_key(rec.uri)
