"""Check WARC files with four independent tools, run as subprocesses.

Each tool is run the way a person would run it from a shell, and its verdict is taken
from its exit status *and* its output, because none of them is trustworthy on its own.
What each one does with the pinned versions (FastWARC 2.0, warcio 1.8, Warcat 2.2),
found by running them on hand-made good and broken WARCs (see tests/test_harness.py):

``gzip -t FILE``
    Tests the gzip framing of the whole file (every member, CRC and length).  It is
    the only cheap tool here that always notices a truncated file: a missing trailer, a
    member cut short, or an empty file.  It knows nothing about WARC; an uncompressed
    ``.warc`` fails it, which is intended since the archiver writes per-record gzip.

``warcio check -v FILE``
    Recomputes block and payload digests.  Prints one ``offset N WARC-Record-ID ID TYPE``
    line per record followed by indented messages; exits 1 on a failed digest or an
    ``ArchiveLoadFailed`` ("saw exception ... skipping rest of file").  Blind spots:
    * revisit records are never checked ("digest present but not checked (revisit)"),
      not even their block digest;
    * a truncated file passes with exit 0: a record whose block is cut short is reported
      as "digest present but not checked" (the digest is only compared once the whole
      block has been read), a record cut inside its headers as "no digest to check",
      and a record missing altogether is simply not listed;
    * an empty file passes with exit 0 and no records.
    So the verdict here is an allow-list over the per-record messages: only "digest
    pass", "no digest to check" and "digest present but not checked (revisit)" are
    accepted; anything else (``... digest failed``, the bare "digest present but not
    checked" of a truncated block, unknown algorithms, exceptions) fails, as does a file
    with no records.

``fastwarc check -p FILE``
    Verifies block digests and, with ``-p``, payload digests.  The summary on stdout
    lists only the IDs of failed records, so the helper adds ``-q -o DETAILS`` to get
    one ``<record-id>: <block>, <payload>`` line per record, where ``<block>`` is
    ``OK``/``FAIL``/``NO_DIGEST`` and ``<payload>`` ``PAYLOAD_OK``/``PAYLOAD_FAIL``/
    ``PAYLOAD_NO_DIGEST``; it exits 1 if any record has a FAIL.  False positive: for a
    revisit record it hashes the (empty) payload of the revisit itself, so a valid
    identical-payload-digest revisit always shows ``PAYLOAD_FAIL``.  Such records are
    excepted when the block part is not ``FAIL`` (the block digest of a revisit *is*
    checked correctly and still counts); record types come from ``fastwarc index``,
    matched to the check lines by position and record ID.  Blind spots: a truncated
    block fails its block digest, but a record cut inside its headers can show
    ``NO_DIGEST``, a missing record is not listed, and an empty file exits 0 -- so a file
    with no records fails here too.

``python -m warcat verify FILE``
    Checks block and payload digests plus some WARC conformance rules (mandatory
    fields, unique record IDs, WARC-Profile on revisits, WARC-Concurrent-To/Refers-To
    pointing at records seen earlier *in the same file*).  Each problem is logged to
    stderr as ``Record <id> failed validation`` plus a traceback ending in
    ``warcat.tool.VerifyProblem: ('<message>', '<section>', <major>)``; at the end it
    exits 1 with ``Validation failed. Problems: N.``.  Anything it cannot parse (a
    truncated gzip member: ``EOFError``; an empty or non-WARC file: ``ValueError``)
    ends in an uncaught traceback and exit 1, so it does catch truncation.  Same false
    positive as FastWARC: ``Bad payload digest.`` on every revisit.  Those problems are
    excepted when the record's type, from ``python -m warcat list``, is revisit; every
    other problem, and any exit that is not exactly N parsed problems, fails.  Note its
    ordering rule: a request record whose WARC-Concurrent-To names a response written
    *after* it is a problem ("Concurrent Record ID ... not seen yet"), as is a revisit
    whose WARC-Refers-To names a record in another file.  warcat chooses gzip decoding
    by the ``.gz`` suffix; a gzip file named otherwise is verified through a ``.gz``
    symlink, because ``--force-read-gzip`` makes it report bad digests everywhere.

Digest encodings: base32 (``sha1:`` or ``sha256:``, as warcio writes them) passes all
three digest checkers.  Hex digests are false failures in warcat, base64 digests false
failures in FastWARC; warcio accepts all three.

Chunked bodies: a response kept as transferred, chunk framing included (its HTTP head says
``Transfer-Encoding: chunked``), has the entity's payload digest, the chunks' data joined,
as the WARC standard defines the payload (iipc/warc-specifications#22).  All three digest
checkers digest the stored bytes instead, framing included (warcio#75), so each reports a
payload failure on exactly those records: warcio ``payload digest failed ...``, FastWARC
``PAYLOAD_FAIL``, warcat ``Bad payload digest.``.  That one complaint is excepted for a
record whose head says chunked *and* whose payload digest is right for its de-chunked
body, checked here with tests/warcread.py (which shares no code with the archiver); a
block digest failure, or a payload digest that is wrong de-chunked too, still fails.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from ..warcread import iter_records, sha1_b32

# Tools come from the venv running the tests, never from whatever is first on PATH.
_BIN = Path(sys.executable).parent
_TIMEOUT = 60.0

TOOL_GZIP = "gzip -t"
TOOL_WARCIO = "warcio check"
TOOL_FASTWARC = "fastwarc check -p"
TOOL_WARCAT = "warcat verify"


@dataclass
class ValidatorResult:
    tool: str
    path: Path
    ok: bool
    output: str  # combined stdout/stderr plus the helper's own reasoning, for messages
    # Records whose failures were discarded as known false positives, one line each
    # ("<record-id> (revisit): <what the tool said>", or "(chunked)"), so tests can see
    # what was waived.
    excepted: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        verdict = "ok" if self.ok else "FAILED"
        return f"{self.tool} {verdict}: {self.path}"


@dataclass
class _Run:
    returncode: int | None  # None: timed out or could not be started
    stdout: str
    stderr: str
    note: str = ""

    def transcript(self, cmd: Sequence[str], *, show_stdout: bool = True) -> str:
        parts = [f"$ {' '.join(cmd)}", f"[exit status: {self.returncode}]"]
        if self.note:
            parts.append(self.note)
        if show_stdout and self.stdout.strip():
            parts.append("[stdout]\n" + _clip(self.stdout))
        if self.stderr.strip():
            parts.append("[stderr]\n" + _clip(self.stderr))
        return "\n".join(parts)


def _clip(text: str, max_lines: int = 150) -> str:
    # A crawl WARC can hold thousands of records; an assertion message that long hides
    # the point.  The parsed problem list, always printed in full, names every failure.
    lines = text.rstrip().splitlines()
    if len(lines) <= max_lines:
        return "\n".join(lines)
    head = max_lines // 2
    skipped = len(lines) - 2 * head
    return "\n".join([*lines[:head], f"... ({skipped} lines omitted) ...", *lines[-head:]])


def _run(cmd: Sequence[str]) -> _Run:
    try:
        proc = subprocess.run(
            list(cmd),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=_TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        # subprocess.run has already killed and reaped the child at this point.
        return _Run(
            None, _as_text(exc.stdout), _as_text(exc.stderr), f"timed out after {_TIMEOUT:.0f} s"
        )
    except OSError as exc:
        return _Run(None, "", "", f"could not run: {exc}")
    return _Run(proc.returncode, proc.stdout, proc.stderr)


def _as_text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data


# -- gzip -t ---------------------------------------------------------------------------


def _check_gzip(path: Path) -> ValidatorResult:
    gzip_exe = shutil.which("gzip")
    if gzip_exe is None:
        return ValidatorResult(TOOL_GZIP, path, False, "system gzip not found on PATH")
    cmd = [gzip_exe, "-t", str(path)]
    run = _run(cmd)
    return ValidatorResult(TOOL_GZIP, path, run.returncode == 0, run.transcript(cmd))


# -- warcio check ----------------------------------------------------------------------

_WARCIO_RECORD = re.compile(r"^  offset (\d+) WARC-Record-ID (\S*) (\S*)$")
# Per-record messages that mean "nothing wrong".  Everything else fails, including the
# bare "digest present but not checked" that warcio prints for a block cut short.
_WARCIO_OK_MESSAGES = frozenset(
    {"digest pass", "no digest to check", "digest present but not checked (revisit)"}
)
_WARCIO_PAYLOAD_FAILED = "payload digest failed"


def _check_warcio(path: Path, chunked: dict[str, bool]) -> ValidatorResult:
    cmd = [str(_BIN / "warcio"), "check", "-v", str(path)]
    run = _run(cmd)
    problems: list[str] = []
    excepted: list[str] = []
    if "Traceback" in run.stderr:
        problems.append("warcio crashed")

    records = 0
    current = "(before first record)"
    record_id = ""
    for line in run.stdout.splitlines():
        match = _WARCIO_RECORD.match(line)
        if match:
            records += 1
            record_id = match.group(2)
            current = f"{record_id} ({match.group(3)}) at offset {match.group(1)}"
        elif line.startswith("    "):
            message = line.strip()
            if message.startswith(_WARCIO_PAYLOAD_FAILED) and chunked.get(record_id):
                excepted.append(f"{record_id} (chunked): {message}")
            elif message not in _WARCIO_OK_MESSAGES:
                problems.append(f"{current}: {message}")
        elif line.startswith("  "):
            # "saw exception ArchiveLoadFailed: ..." / "skipping rest of file"
            problems.append(line.strip())
        # An unindented line is the file name heading; it is not inspected because a
        # path may contain words like "invalid".
    if records == 0:
        problems.append("no records found (empty or unreadable file)")
    # warcio exits 1 on any digest failure, an excepted one included.
    if run.returncode != 0 and (run.returncode != 1 or not excepted or problems):
        problems.insert(0, f"exit status {run.returncode}")
    return _result(TOOL_WARCIO, path, run.transcript(cmd), problems, excepted)


# -- fastwarc check -p -----------------------------------------------------------------

_FASTWARC_STATUS = re.compile(r"^(OK|FAIL|NO_DIGEST), (PAYLOAD_OK|PAYLOAD_FAIL|PAYLOAD_NO_DIGEST)$")


def _check_fastwarc(path: Path, chunked: dict[str, bool]) -> ValidatorResult:
    exe = str(_BIN / "fastwarc")
    with tempfile.TemporaryDirectory(prefix="fastwarc-check-") as tmp:
        details_path = Path(tmp) / "details.txt"
        # -q drops the progress bar (stderr noise); -o writes the per-record verdicts
        # that the plain summary leaves out.
        cmd = [exe, "check", "-p", "-q", "-o", str(details_path), str(path)]
        run = _run(cmd)
        try:
            details = details_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            details = ""
    index_cmd = [exe, "index", "-f", "offset,warc-record-id,warc-type", str(path)]
    index_run = _run(index_cmd)

    transcript = "\n".join(
        [
            run.transcript(cmd),
            "[per-record details]",
            _clip(details),
            # The index is only used for record types; show it only if it went wrong.
            index_run.transcript(index_cmd, show_stdout=index_run.returncode != 0),
        ]
    )
    problems: list[str] = []
    excepted: list[str] = []

    if run.returncode not in (0, 1):
        problems.append(f"exit status {run.returncode}")
    if "Error" in run.stderr or "Traceback" in run.stderr:
        # A ClickException ("Error: Invalid WARC header") also exits 1; it must not be
        # mistaken for "only excepted digest failures".
        problems.append("fastwarc reported an error")

    entries: list[tuple[str, str, str]] = []
    for line in details.splitlines():
        if not line.strip():
            continue
        record_id, sep, status = line.rpartition(": ")
        match = _FASTWARC_STATUS.match(status)
        if not sep or not match:
            problems.append(f"unrecognised fastwarc output line: {line!r}")
            continue
        entries.append((record_id, match.group(1), match.group(2)))
    if not entries:
        problems.append("no records found (empty or unreadable file)")

    types = _fastwarc_types(index_run, [e[0] for e in entries])
    for position, (record_id, block, payload) in enumerate(entries):
        failed = []
        if block == "FAIL":
            failed.append("block digest")
        if payload == "PAYLOAD_FAIL":
            failed.append("payload digest")
        if not failed:
            continue
        rec_type = types[position] if types is not None else None
        if failed == ["payload digest"] and rec_type == "revisit":
            # The identical-payload-digest revisit carries the *original's* payload
            # digest while its own payload is empty, so this failure is expected.
            excepted.append(f"{record_id} (revisit): {block}, {payload}")
        elif failed == ["payload digest"] and chunked.get(record_id):
            # The payload digest is the de-chunked entity's; fastwarc digests the framing.
            excepted.append(f"{record_id} (chunked): {block}, {payload}")
        else:
            problems.append(
                f"{record_id} ({rec_type or 'type unknown'}): {' and '.join(failed)} failed"
            )

    if run.returncode == 1 and not problems and not excepted:
        problems.append("exit status 1 without any failing record")
    if run.returncode == 0 and excepted:
        # Cannot happen with fastwarc 2.0; if it does, the parsing above is wrong.
        problems.append("exit status 0 although records failed; output format changed?")
    return _result(TOOL_FASTWARC, path, transcript, problems, excepted)


def _fastwarc_types(index_run: _Run, record_ids: list[str]) -> list[str] | None:
    """WARC-Type of each checked record, or None if they cannot be matched with certainty."""
    if index_run.returncode != 0:
        return None
    rows = []
    for line in index_run.stdout.splitlines():
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                return None
    # Both commands walk the file in the same order; insisting that the IDs line up
    # position by position means a duplicate ID cannot lend one record another's type.
    if [row.get("warc-record-id") for row in rows] != record_ids:
        return None
    return [str(row.get("warc-type", "")) for row in rows]


# -- warcat verify ---------------------------------------------------------------------

_WARCAT_PROBLEM = re.compile(r"^Record (.*) failed validation$")
_WARCAT_REASON = re.compile(r"^warcat\.tool\.VerifyProblem: \('(.*?)', ")
_WARCAT_SUMMARY = re.compile(r"^Validation failed\. Problems: (\d+)\.$")
_WARCAT_LIST_RECORD = re.compile(r"^Record: (.*)$")
_WARCAT_LIST_TYPE = re.compile(r"^  Type: (.*)$")
_WARCAT_BAD_PAYLOAD = "Bad payload digest."


def _check_warcat(
    path: Path, chunked: dict[str, bool], earlier: Sequence[Path] = ()
) -> ValidatorResult:
    """warcat over *earlier* files and then *path*, in one process.

    warcat fails a WARC-Refers-To or WARC-Concurrent-To naming a record it has not read yet;
    the revisits of a scheduled run refer to records in earlier files of the collection, so
    those files are read first (their own problems were reported when they were checked).
    """
    warcat = [sys.executable, "-m", "warcat"]
    with tempfile.TemporaryDirectory(prefix="warcat-") as tmp:
        targets = []
        for index, file in enumerate([*earlier, path]):
            target = file
            if _is_gzip(file) and file.suffix != ".gz":
                # warcat decides on gzip from the file name.  Its --force-read-gzip option is
                # no substitute: it reports bad digests on every record of a valid file.
                target = Path(tmp) / f"{index}-{file.name}.gz"
                target.symlink_to(file.resolve())
            targets.append(str(target))
        cmd = [*warcat, "verify", *targets]
        run = _run(cmd)
        list_cmd = [*warcat, "list", *targets]
        list_run = _run(list_cmd)
    # The listing is long and only used for record types; show it only if it went wrong.
    transcript = "\n".join(
        [run.transcript(cmd), list_run.transcript(list_cmd, show_stdout=list_run.returncode != 0)]
    )

    problems: list[str] = []
    excepted: list[str] = []
    reported: list[tuple[str, str]] = []
    pending: str | None = None
    summary_count: int | None = None
    for line in run.stderr.splitlines():
        if match := _WARCAT_PROBLEM.match(line):
            if pending is not None:
                reported.append((pending, "(reason not found)"))
            pending = match.group(1)
        elif (match := _WARCAT_REASON.match(line)) and pending is not None:
            reported.append((pending, match.group(1)))
            pending = None
        elif match := _WARCAT_SUMMARY.match(line):
            summary_count = int(match.group(1))
    if pending is not None:
        reported.append((pending, "(reason not found)"))

    if run.returncode == 0:
        if reported:
            problems.append("exit status 0 but problems were logged")
    elif summary_count is None:
        # An uncaught exception (truncated gzip, unparsable record, ...).
        problems.append(f"exit status {run.returncode} without a verification summary")
    elif summary_count != len(reported):
        problems.append(f"warcat counted {summary_count} problems, {len(reported)} were parsed")

    types = _warcat_types(list_run)
    for record_id, reason in reported:
        rec_types = types.get(record_id, set()) if types is not None else set()
        if reason == _WARCAT_BAD_PAYLOAD and rec_types == {"revisit"}:
            # Same false positive as fastwarc: the revisit's own payload is empty.
            excepted.append(f"{record_id} (revisit): {reason}")
        elif reason == _WARCAT_BAD_PAYLOAD and chunked.get(record_id):
            # Same as warcio and fastwarc: it digests the chunk framing, not the entity.
            excepted.append(f"{record_id} (chunked): {reason}")
        else:
            kind = "/".join(sorted(rec_types)) or "type unknown"
            problems.append(f"{record_id} ({kind}): {reason}")
    return _result(TOOL_WARCAT, path, transcript, problems, excepted)


def _warcat_types(list_run: _Run) -> dict[str, set[str]] | None:
    """Record ID -> WARC-Types seen with that ID, or None if the listing failed."""
    if list_run.returncode != 0:
        return None
    types: dict[str, set[str]] = {}
    current: str | None = None
    for line in list_run.stdout.splitlines():
        if match := _WARCAT_LIST_RECORD.match(line):
            current = match.group(1)
        elif (match := _WARCAT_LIST_TYPE.match(line)) and current is not None:
            types.setdefault(current, set()).add(match.group(1))
            current = None
    return types


def _chunked_responses(paths: Sequence[Path]) -> dict[str, bool]:
    """Record ID -> whether its payload digest is its de-chunked body's, for every response
    of ``paths`` stored chunked (as its Transfer-Encoding header says)."""
    found: dict[str, bool] = {}
    for path in paths:
        try:
            records = list(iter_records(path))
        except (AssertionError, ValueError, OSError, zlib.error):
            continue  # a damaged file: the tools say so, and nothing is excepted in it
        for record in records:
            if record.type != "response":
                continue
            record_id = record.get("WARC-Record-ID") or ""
            try:
                if not record.chunked:
                    continue
                entity = record.entity
            except (AssertionError, ValueError):  # no HTTP head, or not chunk framing
                found[record_id] = False
                continue
            found[record_id] = record.get("WARC-Payload-Digest") == sha1_b32(entity)
    return found


def _is_gzip(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(2) == b"\x1f\x8b"
    except OSError:
        return False


# -- public API ------------------------------------------------------------------------


def _result(
    tool: str, path: Path, transcript: str, problems: list[str], excepted: list[str]
) -> ValidatorResult:
    lines = [transcript]
    if excepted:
        lines.append("[excepted as known false positives]")
        lines.extend(f"  {e}" for e in excepted)
    if problems:
        lines.append("[problems]")
        lines.extend(f"  {p}" for p in problems)
    return ValidatorResult(tool, path, not problems, "\n".join(lines), excepted)


def validate_warc(path: Path, earlier: Sequence[Path] = ()) -> list[ValidatorResult]:
    """Run all four validators on one WARC file; one result per tool, in a fixed order.

    *earlier* are the collection's files before this one, which its revisits may refer to.
    """
    path = Path(path)
    if not path.is_file():
        return [
            ValidatorResult(tool, path, False, f"no such file: {path}")
            for tool in (TOOL_GZIP, TOOL_WARCIO, TOOL_FASTWARC, TOOL_WARCAT)
        ]
    # A warcat run reads the earlier files too, and reports on their records as well.
    chunked = _chunked_responses([*earlier, path])
    # The tools are independent processes, mostly Python start-up time; running them
    # side by side keeps suites that validate many WARCs fast.
    checks = (
        _check_gzip,
        partial(_check_warcio, chunked=chunked),
        partial(_check_fastwarc, chunked=chunked),
        partial(_check_warcat, chunked=chunked, earlier=earlier),
    )
    with ThreadPoolExecutor(max_workers=len(checks)) as pool:
        return list(pool.map(lambda check: check(path), checks))


def assert_warcs_valid(paths: Iterable[Path]) -> None:
    """Raise AssertionError naming every failed (tool, file) pair with the tool's output.

    *paths* in the order they were written (names sort so): each is checked with the files
    before it as context for cross-file references.
    """
    paths = list(paths)
    if not paths:
        raise AssertionError("assert_warcs_valid: no WARC files given")
    failures = [r for i, p in enumerate(paths) for r in validate_warc(p, paths[:i]) if not r.ok]
    if failures:
        blocks = [f"=== {r.tool} FAILED on {r.path}\n{r.output}" for r in failures]
        raise AssertionError(
            f"{len(failures)} validator failure(s) over {len(paths)} WARC file(s):\n\n"
            + "\n\n".join(blocks)
        )
