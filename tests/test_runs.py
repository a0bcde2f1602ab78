"""Scheduled runs: dedup across runs, revisits that replay, conditional re-fetch, changes, lock."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from samplesite import SITE_ROOT
from samplesite.server import SampleSiteServer
from tests.conftest import CrawlResult, crawl_site, run_archiver
from tests.harness.pywb import PywbReplay
from tests.harness.validators import assert_warcs_valid
from tests.warcread import Record

# Every test here crawls the sample site twice or more: end to end.
pytestmark = pytest.mark.e2e

EDITED = ("theory/mt1.html", "faq/joining.html", "news/index.html")
ADDED = "news/2009.html"
REPRINT = "books/review-lenin-reprint.html"  # the same bytes as books/review-lenin.html
REMOVED = "countries/philippines.html"
PREFIX = "/archive/etext/"


def copy_site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    shutil.copytree(SITE_ROOT, root)
    return root


def _append(path: Path, html: bytes) -> None:
    data = path.read_bytes()
    data, n = re.subn(rb"(?i)</body>", html + b"</BODY>", data, count=1)
    assert n == 1, path
    path.write_bytes(data)


def edit_site(root: Path) -> None:
    """Between the runs: 3 pages edited (one links a new page and a reprint), 1 removed."""
    etext = root / "archive" / "etext"
    _append(etext / EDITED[0], b"<P>A paragraph added after the first run.</P>")
    _append(etext / EDITED[1], b"<P>Membership is now open by letter only.</P>")
    _append(
        etext / EDITED[2],
        b'<P><A HREF="2009.html">2009</A> <A HREF="../books/review-lenin-reprint.html">R</A></P>',
    )
    (etext / ADDED).write_bytes(
        b"<HTML><HEAD><TITLE>News 2009</TITLE></HEAD><BODY><P>New in 2009.</P></BODY></HTML>\n"
    )
    shutil.copyfile(etext / "books/review-lenin.html", etext / REPRINT)
    (etext / REMOVED).unlink()


def served_file(url: str) -> str:
    """The site file a URL serves, relative to /archive/etext/."""
    path = urlsplit(url).path.removeprefix(PREFIX)
    return path + "index.html" if path.endswith("/") or path == "" else path


def run_records(result: CrawlResult, run_id: str) -> list[Record]:
    names = set(
        json.loads((result.output / "runs" / f"{run_id}.json").read_text())["files"]["warcs"]
    )
    return [r for r in result.records if f"warcs/{r.path.name}" in names]


def run_ids(output: Path) -> list[str]:
    return sorted(p.stem for p in (output / "runs").glob("*.json"))


def _ts(record: Record) -> str:
    return "".join(c for c in record.get("WARC-Date") if c.isdigit())[:14]


def _status(record: Record) -> int:
    return int(record.http_first_line.split(b" ")[1])


def two_runs(tmp_path: Path, *, conditional: bool, edit: bool, extra: tuple[str, ...] = ()):
    root = copy_site(tmp_path)
    out = tmp_path / "coll"
    with SampleSiteServer(root=root, conditional=conditional) as server:
        first = crawl_site(server, out, PREFIX)
        assert first.returncode == 0, first.stderr
        if edit:
            edit_site(root)
        # Replay tools tell captures apart by their 14-digit timestamp: runs are days apart in
        # real use, here at least a second, so no URL has two captures in one second.
        time.sleep(1.1)
        second = crawl_site(server, out, PREFIX, *extra)
        assert second.returncode == 0, second.stderr
    return first, second


@pytest.fixture(scope="module")
def edited_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[CrawlResult, CrawlResult]:
    # A server that ignores conditional requests: every unchanged page comes back in full
    # and must be recognised by its payload digest.
    return two_runs(tmp_path_factory.mktemp("edited"), conditional=False, edit=True)


def test_second_run_stores_only_the_edited_and_added_pages(edited_runs):
    _, second = edited_runs
    (run2,) = run_ids(second.output)[1:]
    records = run_records(second, run2)
    full = [r for r in records if r.type == "response"]
    assert sorted({served_file(r.get("WARC-Target-URI")) for r in full}) == sorted([*EDITED, ADDED])
    assert len(full) == len({r.get("WARC-Payload-Digest") for r in full})
    revisits = [r for r in records if r.type == "revisit"]
    requests = [r for r in records if r.type == "request"]
    assert len(requests) == len(second.requests) == len(full) + len(revisits)
    for revisit in revisits:
        assert revisit.get("WARC-Profile").endswith("/revisit/identical-payload-digest")
        assert revisit.get("WARC-Truncated") == "length"
        for field in ("WARC-Refers-To", "WARC-Refers-To-Target-URI", "WARC-Refers-To-Date"):
            assert revisit.get(field), field
        assert revisit.payload == b"", "a revisit never stores the body again"
    assert_warcs_valid(second.warcs)


def test_the_change_report_names_exactly_the_changes(edited_runs):
    _, second = edited_runs
    proc = run_archiver("changes", str(second.output), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    by_change: dict[str, set[str]] = {}
    for page in report["pages"]:
        by_change.setdefault(page["change"], set()).add(served_file(page["url"]))
    assert by_change["changed"] == set(EDITED)
    assert by_change["new"] == {ADDED, REPRINT}
    assert by_change["gone"] == {REMOVED}
    text = run_archiver("changes", str(second.output)).stdout
    assert "A paragraph added after the first run." in text, "changed pages show a text diff"
    # The manifest and the run summary mark the same pages.
    (run2,) = run_ids(second.output)[1:]
    marks = {line["url"]: line["change"] for line in second.manifest if line["run"] == run2}
    summary = json.loads((second.output / "runs" / f"{run2}.json").read_text())
    for change in ("new", "changed", "gone"):
        assert {served_file(u) for u in summary["changes"]["pages"][change]} == by_change[change]
        assert {served_file(u) for u, c in marks.items() if c == change} == by_change[change]


def _assert_replays_originals(result: CrawlResult, run_id: str, tmp_path: Path) -> list[Record]:
    """pywb replays each revisit of *run_id*, at its own timestamp, with the original payload."""
    by_id = {r.get("WARC-Record-ID"): r for r in result.records}
    revisits = [r for r in run_records(result, run_id) if r.type == "revisit"]
    assert revisits
    with PywbReplay(tmp_path / "pywb", result.warcs) as pywb:
        for revisit in revisits:
            url = revisit.get("WARC-Target-URI")
            original = by_id[revisit.get("WARC-Refers-To")]
            assert original.get("WARC-Payload-Digest") == revisit.get("WARC-Payload-Digest")
            status, _, body = pywb.fetch_id(url, _ts(revisit), decode=False)
            if 300 <= _status(revisit) < 400:
                # pywb replays a redirect revisit with its head and no body, by design.
                assert status == _status(revisit) or status == 307, url
                continue
            assert status == _status(revisit), url
            assert body == original.entity, url
    return revisits


def test_pywb_replays_identical_payload_revisits_including_another_urls(edited_runs, tmp_path):
    _, second = edited_runs
    (run2,) = run_ids(second.output)[1:]
    revisits = _assert_replays_originals(second, run2, tmp_path)
    reprint = [r for r in revisits if served_file(r.get("WARC-Target-URI")) == REPRINT]
    assert reprint and reprint[0].get("WARC-Refers-To-Target-URI").endswith("review-lenin.html")


def test_conditional_refetch_records_304s_as_not_modified_revisits(tmp_path: Path):
    _, second = two_runs(tmp_path, conditional=True, edit=False)
    (run2,) = run_ids(second.output)[1:]
    not_modified = [r for r in second.requests if r.status == 304]
    assert len(not_modified) > 40
    for logged in not_modified:
        assert logged.header("If-None-Match") or logged.header("If-Modified-Since")
    records = run_records(second, run2)
    profiles = [r.get("WARC-Profile").rsplit("/", 1)[1] for r in records if r.type == "revisit"]
    assert profiles.count("server-not-modified") == len(not_modified)
    assert not [r for r in records if r.type == "response"], "an unchanged site stores nothing new"
    assert [r.type for r in records].count("warcinfo") == 1
    # The request records show the conditional headers that were sent.
    conditional = [r for r in records if r.type == "request" and b"If-None-Match" in r.http_head]
    assert len(conditional) == len(not_modified)
    revisits = _assert_replays_originals(second, run2, tmp_path)
    assert all(_status(r) == 200 for r in revisits if "not-modified" in r.get("WARC-Profile"))
    report = json.loads(run_archiver("changes", str(second.output), "--json").stdout)
    assert report["counts"] == {"new": 0, "changed": 0, "unchanged": 57, "gone": 0}
    lines = [line for line in second.manifest if line["run"] == run2]
    # The text of a 304 is read from the stored payload, a PDF's too.
    assert {line["mime"] for line in lines} == {"text/html", "text/plain", "application/pdf"}
    assert {line["change"] for line in lines} == {"unchanged"}
    assert_warcs_valid(second.warcs)
    # Links of unchanged pages are still followed: the same URLs as the first run.
    assert len(second.requests) == len([r for r in records if r.type == "request"])
    # Each 304 is also kept as it came, byte for byte, in a metadata record beside its revisit.
    kept = [r for r in records if r.type == "metadata"]
    assert len(kept) == len(not_modified)
    assert all(r.block.startswith(b"HTTP/1.1 304 ") for r in kept)


def _make_realistic_site(root: Path, pages: int = 40) -> None:
    """Real-world sizes: 20 KB pages of text that compresses about 2x (like prose), each with
    its own 15 KB image (images do not compress), and a logo all pages share."""
    rand = random.Random(2026)
    vocab = [
        "".join(rand.choices("etaoinshrdlucmfwypvbgk", k=rand.randint(2, 9))) for _ in range(5000)
    ]
    etext = root / "archive" / "etext"
    etext.mkdir(parents=True)
    for n in range(pages):
        links = " ".join(f'<A HREF="p{(n + k) % pages}.html">next</A>' for k in range(1, 26))
        text = " ".join(rand.choices(vocab, k=3000))[:20000]
        images = f'<IMG SRC="logo.gif"><IMG SRC="photo{n}.jpg">'
        name = "index.html" if n == 0 else f"p{n}.html"
        (etext / name).write_text(f"<HTML><BODY>{images}<P>{text}</P>{links}</BODY></HTML>")
        (etext / f"photo{n}.jpg").write_bytes(rand.randbytes(15000))
    (etext / "logo.gif").write_bytes(rand.randbytes(3000))


@pytest.mark.parametrize("conditional", [True, False], ids=["304", "full-200"])
def test_an_unchanged_site_costs_under_10_percent_the_second_time(
    conditional: bool, tmp_path: Path
):
    root = tmp_path / "site"
    _make_realistic_site(root)
    out = tmp_path / "coll"
    with SampleSiteServer(root=root, conditional=conditional) as server:
        first = crawl_site(server, out, PREFIX)
        second = crawl_site(server, out, PREFIX)
    assert first.returncode == second.returncode == 0, second.stderr
    bytes1, bytes2 = (
        json.loads((out / "runs" / f"{run}.json").read_text())["bytes"]["warc"]
        for run in run_ids(out)
    )
    ratio = bytes2 / bytes1
    answers = "304" if conditional else "full 200"
    print(f"\nrun 1 wrote {bytes1} B, run 2 {bytes2} B: {ratio:.1%} (server answered {answers})")
    # A 304 costs a third record over a full 200's revisit: the 304 itself, kept as received.
    assert ratio < (0.15 if conditional else 0.10)


def test_a_second_crawl_of_a_busy_collection_exits_at_once(sample_server, tmp_path: Path):
    out = tmp_path / "busy"
    seed = f"{sample_server.base_url.replace('127.0.0.1', 'sample.archiver.test')}{PREFIX}"
    resolve = f"sample.archiver.test:{sample_server.port}:127.0.0.1"
    first = subprocess.Popen(
        [sys.executable, "-m", "archiver", "crawl", seed, "--output", str(out),
         "--resolve", resolve, "--delay", "0.5", "--max-pages", "6"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lock = out / ".archiver.lock"
    deadline = time.monotonic() + 30
    while not (lock.exists() and lock.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    second = run_archiver("crawl", seed, "--output", str(out), "--resolve", resolve)
    elapsed = time.monotonic() - started
    assert first.poll() is None, "the first crawl must still be running"
    assert second.returncode == 1 and "busy" in second.stderr, second.stderr
    assert second.stderr.count("\n") == 1
    assert elapsed < 1.0, elapsed
    _, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert len(run_ids(out)) == 1
    assert_warcs_valid(sorted((out / "warcs").glob("*.warc.gz")))


def test_dedup_max_age_stores_old_payloads_again(tmp_path: Path):
    root = copy_site(tmp_path)
    out = tmp_path / "coll"
    with SampleSiteServer(root=root) as server:
        assert crawl_site(server, out, PREFIX).returncode == 0
        time.sleep(1.2)
        # 0.00001 days is 0.864 s: every stored payload is now too old to be referred to.
        second = crawl_site(server, out, PREFIX, "--dedup-max-age", "0.00001")
    assert second.returncode == 0, second.stderr
    run1, run2 = run_ids(out)
    summary1, summary2 = (
        json.loads((out / "runs" / f"{r}.json").read_text()) for r in (run1, run2)
    )
    assert summary2["counts"]["records"]["response"] == summary1["counts"]["records"]["response"]
    assert summary2["counts"]["conditional_requests"] == 0
    assert not [r for r in second.requests if r.header("If-None-Match")]


def test_unlinked_urls_are_rechecked_unless_told_not_to(tmp_path: Path):
    root = copy_site(tmp_path)
    out_recheck, out_no = tmp_path / "recheck", tmp_path / "no-recheck"
    with SampleSiteServer(root=root) as server:
        for out in (out_recheck, out_no):
            assert crawl_site(server, out, PREFIX).returncode == 0
        map_page = root / "archive/etext/map.html"
        map_page.write_bytes(re.sub(rb"(?i)<AREA[^>]*africa[^>]*>", b"", map_page.read_bytes()))
        rechecked = crawl_site(server, out_recheck, PREFIX)
        not_rechecked = crawl_site(server, out_no, PREFIX, "--no-recheck")
    africa = PREFIX + "mapped/africa.html"
    assert africa in {r.target for r in rechecked.requests}
    assert africa not in {r.target for r in not_rechecked.requests}
    gone = json.loads((out_no / "runs" / f"{run_ids(out_no)[1]}.json").read_text())["changes"][
        "pages"
    ]["gone"]
    assert [urlsplit(u).path for u in gone] == [africa]
