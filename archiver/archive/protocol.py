"""What the crawl process and the archive worker say to each other, and how a capture becomes
committed across the two processes. This is the one description of that protocol.

The processes::

    crawl process (Scrapy)                          archive worker (archiver.archive.process)
    ----------------------                          -----------------------------------------
    Open(config, frontier)  ----------------------> opens WARC writer, journal, dedup index
                            <---------------------- Ready   (or Failed + Closed: nothing opens)
    Capture, Capture, ...   ----------------------> reads text and links, decides, writes
                            <---------------------- Links(base, depth, links) per page read here
                            <---------------------- Stats, Log (about once a second)
                            <---------------------- Sync    (a checkpoint is due)
    Synced                  ---------------------->         (every Links sent is committed)
    Drain                   ---------------------->
                            <---------------------- Drained (after every Links it owes)
    Close(links_committed)  ----------------------> last checkpoint, files finished
                            <---------------------- Closed(failure)
    (the pipe ends without Closed: the crawl process makes Died itself)

What keeps an archive whole:

1. A page's links are in the frontier before its capture can be committed. When the crawl
   process reads a page itself, it commits the frontier before the capture leaves it. When
   the worker reads it, the worker sends the page's links back (``Links``) and the crawl
   process commits them as they come.
2. A checkpoint (archiver.archive.journal, which fixes the order of fsyncs and writes on disk)
   commits every capture written so far. Before one, the worker sends ``Sync`` if it sent any
   ``Links`` since the last confirmation, and waits for ``Synced``: every link it sent is then
   committed, and the checkpoint fsyncs the frontier's files. Captures that come meanwhile wait.
3. At the end the crawl process sends ``Drain``, takes every ``Links`` until ``Drained`` (which
   comes after them) and commits them, then sends ``Close``, which says either that every link
   is committed or that the frontier could not be written. In the second case nothing more is
   committed: the next run's repair cuts what was written since the last checkpoint, and the
   resumed run fetches it again.
4. A write error (a full disk) is reported once (``Failed``); the worker then archives nothing
   more, and the crawl process stops the crawl.
5. The worker holds a copy of the collection lock's descriptor: while it lives, no other run
   can take the collection, even if the crawl process died first. If the crawl process dies,
   the worker dies with it (Linux's parent-death signal, else the end of its input pipe)
   without a further checkpoint, exactly as if one process had died.

Captures go down a multiprocessing pipe in the order the crawl's callbacks made them; the
worker's messages come back through archiver.archive.channel, which never blocks the worker.
Every message is a plain dataclass, pickled: both processes import this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archiver.collection.warc import Revisit, WrittenExchange
from archiver.model.changes import Change
from archiver.model.dedup import StoredPayload, UrlCapture
from archiver.model.document import Document
from archiver.model.exchange import Exchange
from archiver.model.links import Link, LinkKind
from archiver.model.stops import StopReason


@dataclass(frozen=True, slots=True)
class ArchiveConfig:
    """Everything the archive worker needs to know about the run: plain, picklable values."""

    root: Path  # the collection folder
    run_id: str
    index_class: str  # the dedup index's class (ARCHIVER_DEDUP_INDEX)
    warc_prefix: str
    warc_size: int
    warcinfo: dict[str, str]
    dedup_max_age: float  # days; 0: never expires
    checkpoint_captures: int
    checkpoint_seconds: float


@dataclass(slots=True, repr=False)
class Capture:
    """One HTTP exchange on its way to the archive, with what the crawl knows of it."""

    exchange: Exchange
    # The body to read for text (Content-Encoding undone; for a 304, the stored payload it
    # confirms) and its Content-Type; None: no text wanted (a sitemap), or the crawl process
    # read it already (``document`` is set). Otherwise the archive worker reads it.
    content: bytes | None = None
    content_type: str | None = None
    # Set when the crawl process wants the links of ``content`` back from the worker (an
    # HTML page or style sheet): the URL they resolve against, and the Referer they are
    # followed with. The worker reads text and links in one parse and sends them back
    # (``Links``) before the capture can be committed.
    links_base: str | None = None
    kind: LinkKind = LinkKind.NAVIGATION  # what a re-check schedules it as
    depth: int = 0  # link hops from a seed
    previous: UrlCapture | None = None  # this URL's last capture in an earlier run
    # A 304 answered a conditional request: the stored payload it confirmed.
    not_modified: StoredPayload | None = None
    # Set by the archive worker (archiver.archive.archivist).
    payload_digest: str = ""
    revisit: Revisit | None = None
    change: Change | None = None
    document: Document | None = None  # set for HTML, plain-text and PDF documents
    links: list[Link] = field(default_factory=list)  # read when links_base is set
    written: WrittenExchange | None = None

    def __repr__(self) -> str:
        # Scrapy logs items; the bodies and heads would drown the log.
        return f"<Capture {self.exchange.status} {self.exchange.url}>"


# -- the crawl process to the worker ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Open:
    """The first message: the run to archive. The worker answers Ready, or Failed and Closed."""

    config: ArchiveConfig
    frontier_path: Path  # the crawl's frontier, whose files each checkpoint fsyncs


@dataclass(frozen=True, slots=True)
class Synced:
    """The answer to Sync: every link sent before that Sync is committed to the frontier."""


@dataclass(frozen=True, slots=True)
class Drain:
    """Answer Drained once every capture sent before this is archived."""


@dataclass(frozen=True, slots=True)
class Close:
    """The last message. ``links_committed`` False: the frontier failed, commit nothing more."""

    links_committed: bool


ToWorker = Open | Capture | Synced | Drain | Close


# -- the worker to the crawl process ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ready:
    """The archive is open: the crawl may begin."""


@dataclass(frozen=True, slots=True)
class Links:
    """A page's links, read here: the crawl process follows and commits them."""

    base: str  # the capture's links_base: the page's URL, the Referer its links are sent with
    depth: int  # the page's depth
    links: list[tuple[str, LinkKind]]


@dataclass(frozen=True, slots=True)
class Sync:
    """A checkpoint is due: answer Synced once every Links sent so far is committed."""


@dataclass(frozen=True, slots=True)
class Drained:
    """The answer to Drain; every Links owed came before it."""


@dataclass(frozen=True, slots=True)
class Stats:
    """What the worker counted since its last report, and the values it sets (crawl stats keys)."""

    added: dict[str, int]
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Log:
    """A log record of the worker's, logged by the crawl process as its own."""

    level: int
    logger: str
    text: str


@dataclass(frozen=True, slots=True)
class Failed:
    """A write failed; nothing more is archived, and the crawl stops."""

    reason: StopReason  # DISK_FULL or WRITE_ERROR
    text: str


@dataclass(frozen=True, slots=True)
class Closed:
    """The last message: every file finished, or left for the next run's repair."""

    failure: StopReason | None  # why the last checkpoint failed; None: it did not


@dataclass(frozen=True, slots=True)
class Died:
    """Made by the crawl process when the worker's pipe ends without Closed."""

    exit_code: int | None


FromWorker = Ready | Links | Sync | Drained | Stats | Log | Failed | Closed | Died
