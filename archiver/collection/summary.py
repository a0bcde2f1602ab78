"""The run summary ``runs/<run-id>.json``: what one run did, written once when it ends.

``RunSummary`` is its one writer (``format``) and its one reader (``parse``). The summary has
grown over archiver's versions, and a collection keeps the summaries of every run, so ``parse``
takes any JSON object: a field that is missing or not of its type reads as None (a section as
None, a count table as empty), which readers show as "not recorded". Only a file that is not
UTF-8, not JSON or not a JSON object is refused (``SummaryError``).
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from archiver.model.stops import StopReason


class SummaryError(ValueError):
    """A file that cannot be read as a run summary; ``str()`` says why."""


class NotASummary(SummaryError):
    """JSON, but not an object: some other file, not a damaged summary."""


# --- sections -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunSettings:
    """The settings that decided what the run captured (crawl.options.CrawlOptions.recorded)."""

    seeds: tuple[str, ...] = ()
    scope: tuple[str, ...] = ()
    allow_hosts: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_pages: int | None = None
    max_depth: int | None = None
    robots: str | None = None
    user_agent: str | None = None
    concurrency: int | None = None
    delay: float | None = None
    warc_size: int | None = None
    warc_prefix: str | None = None
    resolve: tuple[str, ...] = ()
    recheck: bool | None = None
    dedup_max_age_days: float | None = None

    @classmethod
    def from_json(cls, data: object) -> RunSettings:
        """The settings as recorded (a dict of the keys above); a key not there reads as None."""
        d = _dict(data)
        return cls(
            seeds=_strings(d.get("seeds")),
            scope=_strings(d.get("scope")),
            allow_hosts=_strings(d.get("allow_hosts")),
            exclude=_strings(d.get("exclude")),
            max_pages=_int(d.get("max_pages")),
            max_depth=_int(d.get("max_depth")),
            robots=_str(d.get("robots")),
            user_agent=_str(d.get("user_agent")),
            concurrency=_int(d.get("concurrency")),
            delay=_number(d.get("delay")),
            warc_size=_int(d.get("warc_size")),
            warc_prefix=_str(d.get("warc_prefix")),
            resolve=_strings(d.get("resolve")),
            recheck=_bool(d.get("recheck")),
            dedup_max_age_days=_number(d.get("dedup_max_age_days")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "seeds": list(self.seeds),
            "scope": list(self.scope),
            "allow_hosts": list(self.allow_hosts),
            "exclude": list(self.exclude),
            "max_pages": self.max_pages,
            "max_depth": self.max_depth,
            "robots": self.robots,
            "user_agent": self.user_agent,
            "concurrency": self.concurrency,
            "delay": self.delay,
            "warc_size": self.warc_size,
            "warc_prefix": self.warc_prefix,
            "resolve": list(self.resolve),
            "recheck": self.recheck,
            "dedup_max_age_days": self.dedup_max_age_days,
        }


Tally = Mapping[str, int]  # counts by status, MIME type, reason...: name -> count


@dataclass(frozen=True, slots=True)
class RunCounts:
    """The run's counts, from the crawl stats. None: not recorded by the archiver that wrote it."""

    captures: int | None = None  # this process's, when the run was resumed
    captures_in_run: int | None = None  # the run's index lines: every process of the run
    captured_before_resume: int | None = None
    # Seen by the capture middleware; differs from captures only if one was lost.
    exchanges_captured: int | None = None
    documents: int | None = None  # manifest lines
    # Read for text and links by the crawl process, as the archive worker was behind.
    pages_read_in_crawl: int | None = None
    pdf_text: Tally = field(default_factory=dict)  # PDFs by how their text was read
    by_status: Tally = field(default_factory=dict)  # "200" -> captures
    by_mime: Tally = field(default_factory=dict)
    fetch_errors: Tally = field(default_factory=dict)  # no HTTP response, by reason
    robots_disallowed: int | None = None
    links: Tally = field(default_factory=dict)  # links not followed, by why
    # Links and redirects not followed as crawler traps, by kind; None: a summary written
    # before trap refusals were listed (they were among the log's lines only).
    traps: Tally | None = None
    redirects_followed: int | None = None
    # 429/503 answers by "<status>/<what was done>" (hosthealth.RetryReason): retried after
    # Retry-After or a backoff, or not; None: a summary written before retries existed.
    retries: Tally | None = None
    records: Tally = field(default_factory=dict)  # "response" / "revisit" -> records
    dedup: Tally = field(default_factory=dict)  # dedup decisions
    conditional_requests: int | None = None
    rechecked: int | None = None

    @classmethod
    def from_json(cls, data: object) -> RunCounts:
        d = _dict(data)
        return cls(
            captures=_int(d.get("captures")),
            captures_in_run=_int(d.get("captures_in_run")),
            captured_before_resume=_int(d.get("captured_before_resume")),
            exchanges_captured=_int(d.get("exchanges_captured")),
            documents=_int(d.get("documents")),
            pages_read_in_crawl=_int(d.get("pages_read_in_crawl")),
            pdf_text=_tally(d.get("pdf_text")),
            by_status=_tally(d.get("by_status")),
            by_mime=_tally(d.get("by_mime")),
            fetch_errors=_tally(d.get("fetch_errors")),
            robots_disallowed=_int(d.get("robots_disallowed")),
            links=_tally(d.get("links")),
            traps=_tally(d["traps"]) if "traps" in d else None,
            redirects_followed=_int(d.get("redirects_followed")),
            retries=_tally(d["retries"]) if "retries" in d else None,
            records=_tally(d.get("records")),
            dedup=_tally(d.get("dedup")),
            conditional_requests=_int(d.get("conditional_requests")),
            rechecked=_int(d.get("rechecked")),
        )

    def to_json(self) -> dict[str, Any]:
        traps = {"traps": dict(self.traps)} if self.traps is not None else {}
        retries = {"retries": dict(self.retries)} if self.retries is not None else {}
        return {
            "captures": self.captures,
            "captures_in_run": self.captures_in_run,
            "captured_before_resume": self.captured_before_resume,
            "exchanges_captured": self.exchanges_captured,
            "documents": self.documents,
            "pages_read_in_crawl": self.pages_read_in_crawl,
            "pdf_text": dict(self.pdf_text),
            "by_status": dict(self.by_status),
            "by_mime": dict(self.by_mime),
            "fetch_errors": dict(self.fetch_errors),
            "robots_disallowed": self.robots_disallowed,
            "links": dict(self.links),
            **traps,
            "redirects_followed": self.redirects_followed,
            **retries,
            "records": dict(self.records),
            "dedup": dict(self.dedup),
            "conditional_requests": self.conditional_requests,
            "rechecked": self.rechecked,
        }


@dataclass(frozen=True, slots=True)
class PageChanges:
    """Every page of the run by its change against the run before (model.changes.Change)."""

    compared_with: str | None  # the run before; None for a collection's first run
    counts: Tally  # change -> pages, exact
    pages: Mapping[str, tuple[str, ...]]  # change -> URLs, at most a limit of each
    all_pages_listed: bool  # False when some kind has more pages than are named

    @classmethod
    def from_json(cls, data: object) -> PageChanges | None:
        if not isinstance(data, dict):
            return None
        pages = _dict(data.get("pages"))
        listed = data.get("all_pages_listed", True)
        return cls(
            _str(data.get("compared_with")),
            _tally(data.get("counts")),
            {str(kind): _strings(urls) for kind, urls in pages.items()},
            bool(listed),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "compared_with": self.compared_with,
            "counts": dict(self.counts),
            "pages": {kind: list(urls) for kind, urls in self.pages.items()},
            "all_pages_listed": self.all_pages_listed,
        }


@dataclass(frozen=True, slots=True)
class SlowUrl:
    url: str
    seconds: float | None  # from sending the request to the last byte of the answer
    status: int | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SlowUrl:
        return cls(
            _str(data.get("url")) or "", _number(data.get("seconds")), _int(data.get("status"))
        )

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "seconds": self.seconds, "status": self.status}


@dataclass(frozen=True, slots=True)
class LargeUrl:
    url: str
    bytes: int | None  # the payload's
    mime: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LargeUrl:
        return cls(_str(data.get("url")) or "", _int(data.get("bytes")), _str(data.get("mime")))

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "bytes": self.bytes, "mime": self.mime}


@dataclass(frozen=True, slots=True)
class FailedUrl:
    url: str
    reason: str | None  # "HTTP 404", or why no answer came (DNS, refused, timeout...)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FailedUrl:
        return cls(_str(data.get("url")) or "", _str(data.get("reason")))

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class GivenUpHost:
    """A host the run stopped asking: it kept failing, or asked for a longer wait than the
    run grants (archiver.crawl.hosthealth)."""

    host: str
    reason: str | None  # "connection refused x5", "HTTP 503 x3, timeout x2"...
    skipped: int | None  # requests not sent to it afterwards (its queued URLs, dropped)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GivenUpHost:
        return cls(
            _str(data.get("host")) or "", _str(data.get("reason")), _int(data.get("skipped"))
        )

    def to_json(self) -> dict[str, Any]:
        return {"host": self.host, "reason": self.reason, "skipped": self.skipped}


@dataclass(frozen=True, slots=True)
class TimelinePoint:
    """Running totals, sampled while the run ran."""

    t: float  # seconds since the start
    captures: int  # so far
    bytes: int  # WARC bytes so far

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TimelinePoint:
        t, captures, size = (
            _number(data.get("t")),
            _int(data.get("captures")),
            _int(data.get("bytes")),
        )
        return cls(0 if t is None else t, captures or 0, size or 0)

    def to_json(self) -> dict[str, Any]:
        return {"t": self.t, "captures": self.captures, "bytes": self.bytes}


@dataclass(frozen=True, slots=True)
class RunBytes:
    warc: int | None = None  # WARC bytes written
    payload_by_mime: Tally = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: object) -> RunBytes:
        d = _dict(data)
        return cls(_int(d.get("warc")), _tally(d.get("payload_by_mime")))

    def to_json(self) -> dict[str, Any]:
        return {"warc": self.warc, "payload_by_mime": dict(self.payload_by_mime)}


@dataclass(frozen=True, slots=True)
class RunFiles:
    """The run's files, relative to the collection folder."""

    warcs: tuple[str, ...] = ()  # written by this process of the run
    index: str | None = None
    manifest: str | None = None
    log: str | None = None

    @classmethod
    def from_json(cls, data: object) -> RunFiles:
        d = _dict(data)
        return cls(
            _strings(d.get("warcs")),
            _str(d.get("index")),
            _str(d.get("manifest")),
            _str(d.get("log")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "warcs": list(self.warcs),
            "index": self.index,
            "manifest": self.manifest,
            "log": self.log,
        }


# --- the summary --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunSummary:
    run_id: str | None  # None: the file names no run, so it is no summary archiver wrote
    collection: str | None = None  # the collection folder, as the run was given it
    started: str | None = None  # ISO 8601 with its UTC offset, as written
    ended: str | None = None
    elapsed_seconds: float | None = None
    finish_reason: StopReason | None = None
    # Resumed after a kill, a stop or a full disk: counts are this process's, but
    # counts.captures_in_run (the run's index lines) covers every process of the run.
    resumes: int = 0
    # The lock record of an earlier run that died without releasing it, cleared by this one.
    stale_lock_cleared: dict[str, Any] | None = None
    settings: RunSettings = field(default_factory=RunSettings)
    # Hosts paced by their robots.txt Crawl-delay -> the seconds used (capped); None: a
    # summary written before Crawl-delay was honoured.
    crawl_delays: Mapping[str, float] | None = None
    counts: RunCounts = field(default_factory=RunCounts)
    changes: PageChanges | None = None
    # None: not recorded (an older archiver); the crawl keeps a bounded number of each.
    slowest: tuple[SlowUrl, ...] | None = None
    largest: tuple[LargeUrl, ...] | None = None
    errors: tuple[FailedUrl, ...] | None = None
    errors_listed_all: bool | None = None
    # None: not recorded (an older archiver); empty: no host was given up.
    hosts_given_up: tuple[GivenUpHost, ...] | None = None
    timeline: tuple[TimelinePoint, ...] | None = None
    bytes: RunBytes = field(default_factory=RunBytes)
    files: RunFiles = field(default_factory=RunFiles)

    @property
    def resumable(self) -> bool:
        """Every end but a finished run leaves a frontier that the next run resumes."""
        return self.finish_reason is not StopReason.FINISHED

    @property
    def started_at(self) -> datetime | None:
        """The start as an aware time (a naive one read as UTC); None if absent or not a time."""
        return _time(self.started)

    def format(self) -> str:
        """The summary file's text: indented JSON, UTF-8 unescaped, keys in a fixed order."""
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    def to_json(self) -> dict[str, Any]:
        delays = {"crawl_delays": dict(self.crawl_delays)} if self.crawl_delays is not None else {}
        # Written when recorded, so that an older summary reads and writes back byte for byte.
        given_up = (
            {"hosts_given_up": _rows(self.hosts_given_up)}
            if self.hosts_given_up is not None
            else {}
        )
        return {
            "run_id": self.run_id,
            "collection": self.collection,
            "started": self.started,
            "ended": self.ended,
            "elapsed_seconds": self.elapsed_seconds,
            "finish_reason": self.finish_reason,
            "resumes": self.resumes,
            "resumable": self.resumable,
            "stale_lock_cleared": self.stale_lock_cleared,
            "settings": self.settings.to_json(),
            **delays,
            "counts": self.counts.to_json(),
            "changes": self.changes.to_json() if self.changes is not None else None,
            "slowest": _rows(self.slowest),
            "largest": _rows(self.largest),
            "errors": _rows(self.errors),
            "errors_listed_all": self.errors_listed_all,
            **given_up,
            "timeline": _rows(self.timeline),
            "bytes": self.bytes.to_json(),
            "files": self.files.to_json(),
        }

    @classmethod
    def parse(cls, text: str | builtins.bytes) -> RunSummary:
        """A summary file's text (or bytes) read back; SummaryError if it is not a summary."""
        try:
            if isinstance(text, builtins.bytes):
                text = text.decode("utf-8")
            data = json.loads(text)
        except ValueError as exc:  # bad UTF-8 or bad JSON
            raise SummaryError(str(exc)) from exc
        if not isinstance(data, dict):
            raise NotASummary("not a JSON object")
        return cls.from_json(data)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunSummary:
        """The summary of a decoded JSON object, whatever archiver version wrote it."""
        return cls(
            run_id=_str(data.get("run_id")),
            collection=_str(data.get("collection")),
            started=_str(data.get("started")),
            ended=_str(data.get("ended")),
            elapsed_seconds=_number(data.get("elapsed_seconds")),
            finish_reason=_reason(data.get("finish_reason")),
            resumes=_int(data.get("resumes")) or 0,
            stale_lock_cleared=_dict_or_none(data.get("stale_lock_cleared")),
            settings=RunSettings.from_json(data.get("settings")),
            crawl_delays=_seconds(data["crawl_delays"]) if "crawl_delays" in data else None,
            counts=RunCounts.from_json(data.get("counts")),
            changes=PageChanges.from_json(data.get("changes")),
            slowest=_list_of(SlowUrl, data.get("slowest")),
            largest=_list_of(LargeUrl, data.get("largest")),
            errors=_list_of(FailedUrl, data.get("errors")),
            errors_listed_all=_bool(data.get("errors_listed_all")),
            hosts_given_up=_list_of(GivenUpHost, data.get("hosts_given_up")),
            timeline=_list_of(TimelinePoint, data.get("timeline")),
            bytes=RunBytes.from_json(data.get("bytes")),
            files=RunFiles.from_json(data.get("files")),
        )


# --- reading JSON values of the expected type -----------------------------------------------


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int | None:
    return value if type(value) is int else None  # a bool is no count


def _number(value: object) -> float | None:
    # An int stays an int: what was read is written back as it was.
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dict_or_none(value: object) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _strings(value: object) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _tally(value: object) -> dict[str, int]:
    return {str(k): v for k, v in _dict(value).items() if type(v) is int}


def _seconds(value: object) -> dict[str, float]:
    return {str(k): v for k, v in _dict(value).items() if _number(v) is not None}


def _reason(value: object) -> StopReason | None:
    if not isinstance(value, str) or not value:
        return None
    return StopReason(value)  # a reason this version does not know is kept as written


def _time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


_Row = TypeVar("_Row", SlowUrl, LargeUrl, FailedUrl, GivenUpHost, TimelinePoint)


def _list_of(row: type[_Row], value: object) -> tuple[_Row, ...] | None:
    """Rows of the *row* class, read from a JSON list of objects; None if there is no list."""
    if not isinstance(value, list):
        return None
    return tuple(row.from_json(item) for item in value if isinstance(item, dict))


def _rows(rows: tuple[_Row, ...] | None) -> list[dict[str, Any]] | None:
    return [row.to_json() for row in rows] if rows is not None else None
