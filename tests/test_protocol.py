"""The protocol between the crawl process and the archive worker (archiver/archive/protocol.py):
every message crosses a real pipe whole, and a real worker process holds up its side of the
conversation, the commit rules included. The crawl process's side is played by the test,
with Captures made as tests/test_archivist.py makes them: no Scrapy, no HTTP.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import multiprocessing
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any, get_args

import pytest

import __main__
from archiver.archive.channel import Inbox, Outbox
from archiver.archive.protocol import (
    Capture,
    Close,
    Closed,
    Died,
    Drain,
    Drained,
    Failed,
    FromWorker,
    Links,
    Log,
    Open,
    Ready,
    Stats,
    Sync,
    Synced,
    ToWorker,
)
from archiver.archive.worker import ArchiveWorker
from archiver.collection.dedup import SqliteDedupIndex
from archiver.collection.lock import CollectionLock
from archiver.collection.repair import repair_collection
from archiver.model.dedup import StoredPayload, UrlCapture
from archiver.model.document import Document
from archiver.model.links import LinkKind
from archiver.model.stops import StopReason
from archiver.tools.verify import render_text, verify_collection
from tests.pdfs import pages_pdf
from tests.test_archivist import (
    GIF,
    RUN_1,
    SITE,
    capture,
    config,
    index_lines,
    make_collection,
    manifest,
    page,
    records,
)
from tests.workerprobe import REPORT

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NAV, REQ = LinkKind.NAVIGATION, LinkKind.REQUISITE

# -- every message, through a real pipe ---------------------------------------------------


def every_message(root: Path) -> list[Any]:
    """One of each message (two where a field has two kinds of value), fields all set."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"
    stored = StoredPayload("sha1:AAAA", SITE + "/", "2026-11-25T00:00:00.000000Z",
                           "<urn:uuid:1>", "test.warc.gz", 1234, 1.5e9)  # fmt: skip
    previous = UrlCapture(SITE + "/", RUN_1, 200, "sha1:AAAA", NAV, 0, '"v1"', None, head, True)
    full = capture("/", page("Home", "/a.html"))
    full.kind, full.depth, full.previous, full.not_modified = REQ, 2, previous, stored
    full.document = Document("windows-1252", "meta", "iso-8859-1", "Home", "Home\nText")
    return [
        Open(config(root), root / "frontier.sqlite3"),
        full,
        capture("/logo.gif", GIF, content_type="image/gif"),
        Synced(),
        Drain(),
        Close(True),
        Close(False),
        Ready(),
        Links(SITE + "/", 1, [(SITE + "/a.html", NAV), (SITE + "/logo.gif", REQ)]),
        Sync(),
        Drained(),
        Stats({"archiver/captures": 2}, {"archiver/warc_files": ["a.warc.gz"]}),
        Log(logging.WARNING, "archiver.archive.archivist", "http://site.test/a.pdf: no text"),
        Failed(StopReason.DISK_FULL, "[Errno 28] No space left on device"),
        Closed(None),
        Closed(StopReason.WRITE_ERROR),
        Died(-9),
    ]


def test_every_message_class_is_covered():
    kinds = {type(message) for message in every_message(Path("/collection"))}
    assert kinds == set(get_args(ToWorker)) | set(get_args(FromWorker))


def test_every_message_crosses_the_workers_channel_whole_and_equal(tmp_path: Path):
    sent = every_message(tmp_path)
    read, write = os.pipe()
    outbox, inbox = Outbox(write), Inbox(read)
    try:
        for message in sent:
            outbox.send(message)
        received: list[Any] = []
        while len(received) < len(sent):
            received += inbox.receive()
            outbox.flush()
    finally:
        outbox.close()
        inbox.close()
    assert received == sent
    assert [type(m) for m in received] == [type(m) for m in sent]
    links = next(m for m in received if isinstance(m, Links))
    assert [kind for _, kind in links.links] == [NAV, REQ]  # the enum members themselves
    assert all(kind is NAV or kind is REQ for _, kind in links.links)
    failed = next(m for m in received if isinstance(m, Failed))
    assert failed.reason is StopReason.DISK_FULL
    capture_sent = next(m for m in received if isinstance(m, Capture))
    assert capture_sent.kind is REQ and capture_sent.previous.kind is NAV


def test_messages_to_the_worker_cross_its_multiprocessing_pipe_equal(tmp_path: Path):
    to_worker = [m for m in every_message(tmp_path) if isinstance(m, get_args(ToWorker))]
    receiving, sending = multiprocessing.get_context("spawn").Pipe(duplex=False)
    with receiving, sending:
        received = []
        for message in to_worker:
            sending.send(message)
            received.append(receiving.recv())
    assert received == to_worker


# -- a real worker process ----------------------------------------------------------------


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[ArchiveWorker]:
    """A worker process started as the crawl process starts it, the collection locked."""
    make_collection(tmp_path)
    lock = CollectionLock(tmp_path)
    lock.acquire(RUN_1)
    started = ArchiveWorker(lock_fd=lock.fileno())
    yield started
    if started.process.is_alive():  # the test failed half-way through the conversation
        started.process.kill()
    started.process.join()
    lock.release()


def said(
    worker: ArchiveWorker, until: type, heard: list[FromWorker] | None = None, timeout: float = 60
) -> list[FromWorker]:
    """What the worker says, up to the first ``until`` (and what came with it); its Stats
    and Log, which come about once a second, are left out (and kept in ``heard``)."""
    messages: list[FromWorker] = []
    deadline = time.monotonic() + timeout
    while not any(isinstance(message, until) for message in messages):
        assert not worker.ended, f"the worker ended without {until.__name__}: {messages}"
        left = deadline - time.monotonic()
        assert left > 0, f"no {until.__name__} from the worker in {timeout} s: {messages}"
        select.select([worker.fileno()], [], [], left)
        received = worker.receive()
        if heard is not None:
            heard += received
        messages += [m for m in received if not isinstance(m, Stats | Log)]
    return messages


def finish(worker: ArchiveWorker, *, links_committed: bool = True) -> list[FromWorker]:
    """Close: everything the worker says until it ends."""
    messages: list[FromWorker] = []
    worker.finish(messages.extend, links_committed=links_committed)
    return messages


def added(messages: list[FromWorker]) -> dict[str, int]:
    """The counts the worker's Stats messages added up to."""
    counts: dict[str, int] = {}
    for message in messages:
        if isinstance(message, Stats):
            for key, count in message.added.items():
                counts[key] = counts.get(key, 0) + count
    return counts


def assert_verifies(root: Path) -> None:
    report = verify_collection(root)
    assert report.ok, render_text(report)


def test_a_worker_archives_a_run_and_commits_only_what_the_crawl_confirmed(
    tmp_path: Path, worker: ArchiveWorker
):
    worker.open(config(tmp_path, checkpoint_captures=2), tmp_path / "frontier.sqlite3")
    assert worker.ready  # Open -> Ready
    home = capture("/", page("Home", "/a.html", "/logo.gif"))
    other = capture("/a.html", page("A", "/"))
    other.depth = 1
    worker.submit(home)
    worker.submit(other)
    heard: list[FromWorker] = []

    # Each page's links come back; then a checkpoint is due (2 captures), and the worker
    # asks whether the crawl process has committed them before it commits anything.
    assert said(worker, Sync, heard) == [
        Links(SITE + "/", 0, [(SITE + "/a.html", NAV), (SITE + "/logo.gif", REQ)]),
        Links(SITE + "/a.html", 1, [(SITE + "/", NAV)]),
        Sync(),
    ]
    time.sleep(0.2)
    assert manifest(tmp_path) == [] and index_lines(tmp_path, open_=True) == []
    worker.synced()
    worker.submit(capture("/logo.gif", GIF, content_type="image/gif"))  # no links wanted
    worker.drain()
    assert said(worker, Drained, heard) == [Drained()]
    # The checkpoint came between Synced and Drained: the two pages are committed.
    assert [line["url"] for line in manifest(tmp_path)] == [SITE + "/", SITE + "/a.html"]
    assert len(index_lines(tmp_path, open_=True)) == 2

    ending = finish(worker)
    assert [m for m in ending if not isinstance(m, Stats | Log)] == [Closed(None)]
    assert worker.process.exitcode == 0
    totals = [m.values for m in ending if isinstance(m, Stats)][-1]
    assert totals["archiver/checkpoints"] == 2 and totals["archiver/index_lines"] == 3
    counts = added(heard + ending)  # what the crawl's stats gain, from the worker's reports
    assert counts["archiver/captures"] == 3 and counts["archiver/manifest_lines"] == 2
    (warc,) = (tmp_path / "warcs").iterdir()
    assert totals["archiver/warc_files"] == [warc.name] and not warc.name.endswith(".open")
    assert [r.get("WARC-Target-URI") for r in records(tmp_path, "response")] == [
        SITE + "/",
        SITE + "/a.html",
        SITE + "/logo.gif",
    ]
    assert len(index_lines(tmp_path)) == 3 and index_lines(tmp_path, open_=True) == []
    assert_verifies(tmp_path)


def test_when_links_are_not_committed_nothing_past_the_last_checkpoint_is(
    tmp_path: Path, worker: ArchiveWorker
):
    worker.open(config(tmp_path, checkpoint_captures=2), tmp_path / "frontier.sqlite3")
    for path in ("/a.html", "/b.html"):
        worker.submit(capture(path, page(path)))
    said(worker, Sync)
    worker.synced()
    worker.submit(capture("/c.html", page("/c.html", "/d.html")))
    worker.drain()
    assert said(worker, Drained) == [Links(SITE + "/c.html", 0, [(SITE + "/d.html", NAV)]),
                                     Drained()]  # fmt: skip

    # The crawl process could not commit /c.html's links (a full disk): Close(False).
    ending = finish(worker, links_committed=False)
    assert [m for m in ending if not isinstance(m, Stats | Log)] == [Closed(None)]
    (warc,) = (tmp_path / "warcs").iterdir()
    assert warc.name.endswith(".open"), "left for the next run's repair"
    assert [line["url"] for line in manifest(tmp_path)] == [SITE + "/a.html", SITE + "/b.html"]
    assert len(index_lines(tmp_path, open_=True)) == 2 and index_lines(tmp_path) == []
    c_response = records(tmp_path, "response")[-1]
    assert c_response.get("WARC-Target-URI") == SITE + "/c.html"
    with closing(SqliteDedupIndex.for_collection(tmp_path)) as marks:
        assert marks.committed_end(warc.name.removesuffix(".open")) == c_response.offset
        assert marks.capture(SITE + "/c.html") is None
        repair_collection(tmp_path, marks)
    assert [r.get("WARC-Target-URI") for r in records(tmp_path, "response")] == [
        SITE + "/a.html",
        SITE + "/b.html",
    ]
    assert_verifies(tmp_path)


# -- what the worker process imports ------------------------------------------------------

# However the crawl process was started, the worker imports only its own modules. (Started by
# multiprocessing's spawn, it ran the parent's main script again as __mp_main__: `archiver`'s
# argparse, `scrapy`'s Scrapy and Twisted.) The driver plays the crawl process's part as each
# launcher would start it.
LAUNCHERS = {
    "python -m archiver crawl": None,
    "archiver crawl": BIN / "archiver",
    "scrapy crawl": BIN / "scrapy",
}


def small_site() -> list[Capture]:
    """A tiny crawl's worth of captures: pages, a style sheet, an image, a PDF, a redirect,
    a 404, a plain-text file, each of the kind that is read in the worker."""
    pdf = pages_pdf([["The program"]], title="Program")
    items = [
        capture("/", page("Home", "/a.html", "/style.css", "/logo.gif", "/program.pdf")),
        capture("/a.html", page("A", "/old.html", "/readme.txt", "/missing.html")),
        capture("/style.css", b"body { background: url(/bg.gif) }", content_type="text/css"),
        capture("/logo.gif", GIF, content_type="image/gif"),
        capture("/program.pdf", pdf, content_type="application/pdf"),
        capture("/old.html", page("Moved"), status=301, headers=((b"Location", b"/a.html"),)),
        capture("/readme.txt", b"Read me.\n", content_type="text/plain; charset=us-ascii"),
        capture("/missing.html", page("Not Found"), status=404),
    ]
    items[2].links_base = items[2].exchange.url
    return items


def drive_a_small_crawl(root: Path, main_script: str | None) -> None:
    """The crawl process's side of a small run. Run in a process of its own (``python -c``),
    whose ``__main__`` is made to look as the launcher leaves it."""
    if main_script:
        __main__.__file__ = main_script
    else:
        __main__.__spec__ = importlib.util.find_spec("archiver.__main__")
    frontier = make_collection(root)
    lock = CollectionLock(root)
    lock.acquire(RUN_1)
    worker = ArchiveWorker(lock_fd=lock.fileno())
    probe = "tests.workerprobe.ModuleReportingIndex"
    worker.open(config(root, index_class=probe, checkpoint_captures=3), frontier)
    assert worker.ready
    for item in small_site():
        worker.submit(item)
    worker.drain()

    def answer(messages: list[FromWorker]) -> None:
        for message in messages:
            if isinstance(message, Sync):
                worker.synced()
            assert not isinstance(message, Failed | Died), message

    drained = False
    while not drained:
        messages = worker.receive(wait=True)
        answer(messages)
        drained = any(isinstance(message, Drained) for message in messages)
    worker.finish(answer)
    assert worker.process.exitcode == 0
    lock.release()


@pytest.mark.parametrize(
    "launcher",
    list(LAUNCHERS),
)
def test_the_worker_process_imports_no_scrapy_twisted_or_argparse(tmp_path: Path, launcher: str):
    script = LAUNCHERS[launcher]
    driver = (
        "import sys; from pathlib import Path;"
        " from tests.test_protocol import drive_a_small_crawl;"
        " drive_a_small_crawl(Path(sys.argv[1]), sys.argv[2])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", driver, str(tmp_path), str(script or "")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert_verifies(tmp_path)
    assert len(records(tmp_path, "response")) == len(small_site())

    modules = json.loads((tmp_path / REPORT).read_text())
    # The report is the worker's: it archived the run, text and links read there.
    assert {"archiver.archive.process", "archiver.archive.archivist", "pypdf", "lxml"} <= set(
        modules
    )
    assert "tests.test_protocol" not in modules and "pytest" not in modules
    forbidden = sorted(m for m in modules if m.split(".")[0] in {"scrapy", "twisted", "argparse"})
    assert forbidden == []
