"""The verify report: the names of the checks, the problems found, and their rendering."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

GZIP = "gzip"
RECORD = "record"
DIGEST = "digest"
PAIRING = "pairing"
ENCODING = "encoding"
REVISIT = "revisit"
OPEN_FILE = "open-file"
MANIFEST = "manifest"
INDEX = "index"
REPLAY = "replay"

_TEXT_LIMIT = 50  # problems listed per section in the text report; --json lists all


@dataclass
class Problem:
    check: str  # one of the names above
    path: str  # relative to the collection folder
    offset: int | None  # byte offset of the gzip member (WARC files)
    message: str
    line: int | None = None  # 1-based line number (manifest and index files)


@dataclass
class FileReport:
    path: str  # warcs/NAME.warc.gz
    records: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class VerifyReport:
    files: list[FileReport]
    collection_problems: list[Problem]
    manifest_lines: int = 0
    index_files: int = 0
    index_lines: int = 0
    open_files: int = 0
    replayed: int | None = None  # captures fetched from pywb; None without --replay

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)

    @property
    def problems(self) -> list[Problem]:
        return [p for f in self.files for p in f.problems] + self.collection_problems

    @property
    def problem_count(self) -> int:
        return len(self.problems)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "counts": {
                "files": len(self.files),
                "records": self.records,
                "problems": self.problem_count,
                "manifest_lines": self.manifest_lines,
                "index_files": self.index_files,
                "index_lines": self.index_lines,
                "replayed": self.replayed,
            },
            "files": [{**asdict(f), "ok": f.ok} for f in self.files],
            "collection_problems": [asdict(p) for p in self.collection_problems],
        }


# -- output ----------------------------------------------------------------------------


def render_text(report: VerifyReport) -> str:
    lines = []
    for f in report.files:
        lines.append(_status_line(f.ok, f.path, _count(f.records, "record"), f.problems))
        lines += _problem_lines(f.problems)
    for label, checks, summary in _sections(report):
        problems = [p for p in report.collection_problems if p.check in checks]
        lines.append(_status_line(not problems, label, summary, problems))
        lines += _problem_lines(problems)
    verdict = "OK" if report.ok else _count(report.problem_count, "problem")
    files, records = _count(len(report.files), "file"), _count(report.records, "record")
    lines.append(f"verified {files}, {records}: {verdict}")
    return "\n".join(lines) + "\n"


def _sections(report: VerifyReport) -> list[tuple[str, tuple[str, ...], str]]:
    sections: list[tuple[str, tuple[str, ...], str]] = [
        ("manifest.jsonl", (MANIFEST,), _count(report.manifest_lines, "line")),
        (
            "indexes/",
            (INDEX,),
            f"{_count(report.index_files, 'file')}, {_count(report.index_lines, 'line')}",
        ),
        ("collection", (OPEN_FILE,), _count(report.open_files, ".open file") + " left"),
    ]
    if report.replayed is not None:
        replayed = _count(report.replayed, "capture") + " replayed in pywb"
        sections.append(("replay", (REPLAY,), replayed))
    return sections


def _status_line(ok: bool, label: str, summary: str, problems: list[Problem]) -> str:
    if ok:
        return f"ok  {label}  {summary}"
    return f"FAIL  {label}  {summary}, {_count(len(problems), 'problem')}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _problem_lines(problems: list[Problem]) -> list[str]:
    lines = [f"    {_describe(p)}" for p in problems[:_TEXT_LIMIT]]
    if len(problems) > _TEXT_LIMIT:
        lines.append(f"    ... and {len(problems) - _TEXT_LIMIT} more (--json lists all)")
    return lines


def _describe(problem: Problem) -> str:
    where = problem.path
    if problem.line is not None:
        where += f" line {problem.line}"
    if problem.offset is not None:
        where += f" offset {problem.offset}"
    return f"[{problem.check}] {where}: {problem.message}"
