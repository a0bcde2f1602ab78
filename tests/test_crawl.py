"""What the crawl fetches, and that the result replays: scope, links, redirects, TLS, rotation."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin

import pytest
from surt import surt

from samplesite.server import SampleSiteServer
from tests.conftest import SAMPLE_HOST, CrawlResult, crawl_site, run_archiver
from tests.harness.pywb import PywbReplay
from tests.harness.validators import assert_warcs_valid
from tests.tlscert import make_self_signed

# Every test here crawls the sample site: end to end.
pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent


def _fetched(result: CrawlResult) -> set[str]:
    return {r.target for r in result.requests}


def test_every_warc_passes_the_independent_validators(sample_crawl: CrawlResult):
    assert sample_crawl.warcs
    assert_warcs_valid(sample_crawl.warcs)


def test_links_of_every_kind_are_followed(sample_crawl: CrawlResult):
    fetched = _fetched(sample_crawl)
    # Reached only through the element named: image map, frames, iframe, srcset, CSS,
    # background attributes, embeds, <base href>, meta refresh, file.php URLs.
    for path in (
        "/archive/etext/mapped/africa.html",
        "/archive/etext/frames/nav.html",
        "/archive/etext/frames/main.html",
        "/archive/etext/img/star-2x.png",
        "/archive/etext/print.css",
        "/archive/etext/img/print-logo.gif",
        "/archive/etext/img/paper.gif",
        "/archive/etext/media/intro.swf",
        "/archive/etext/media/anthem.mid",
        "/archive/etext/applets/Clock.class",
        "/archive/etext/news/moved-target.html",
        "/archive/etext/docs/program.pdf",
        "/archive/etext/file.php?railfile=letter1.html",
    ):
        assert path in fetched, path


def test_requisites_outside_the_prefix_are_fetched_but_pages_are_not(sample_crawl: CrawlResult):
    fetched = _fetched(sample_crawl)
    for requisite in ("/css/site.css", "/images/logo.gif", "/images/icon.ico", "/js/menu.js"):
        assert requisite in fetched
    assert "/about.html" not in fetched
    assert "/" not in fetched


def test_redirects_are_followed_as_new_captures(sample_crawl: CrawlResult):
    by_target = {r.target: r.status for r in sample_crawl.requests}
    assert by_target["/archive/etext/old-index.html"] == 301
    assert by_target["/archive/etext/news/latest.html"] == 302
    assert by_target["/archive/etext/news/2008.html"] == 200
    assert sample_crawl.summary()["counts"]["redirects_followed"] >= 2


def test_non_http_and_out_of_scope_links_are_never_requested(sample_crawl: CrawlResult):
    hosts = {r.host for r in sample_crawl.requests}
    assert hosts == {f"{SAMPLE_HOST}:{sample_crawl.requests[0].host.rsplit(':', 1)[1]}"}
    for target in _fetched(sample_crawl):
        assert target.startswith("/") and "passwd" not in target and "javascript" not in target
    counts = sample_crawl.summary()["counts"]
    assert counts["links"]["out_of_scope"] > 0  # the external host and /about.html
    assert counts["fetch_errors"] == {}


def test_run_summary_and_collection_layout(sample_crawl: CrawlResult):
    summary = sample_crawl.summary()
    root = sample_crawl.output
    assert summary["finish_reason"] == "finished"
    assert summary["counts"]["captures"] == len(sample_crawl.requests)
    assert summary["counts"]["exchanges_captured"] == summary["counts"]["captures"]
    assert summary["counts"]["by_status"]["200"] > 30
    assert summary["bytes"]["warc"] == sum(p.stat().st_size for p in sample_crawl.warcs)
    for name in summary["files"]["warcs"] + [summary["files"]["index"], summary["files"]["log"]]:
        assert (root / name).is_file(), name
    assert "run " + summary["run_id"] in sample_crawl.stdout
    assert " replay " in sample_crawl.stdout and " wacz " in sample_crawl.stdout


def test_cdxj_index_is_sorted_and_equals_cdxj_indexers(sample_crawl: CrawlResult):
    (index,) = (sample_crawl.output / "indexes").glob("*.cdxj")
    ours = index.read_text(encoding="utf-8").splitlines()
    assert ours == sorted(ours)
    indexer = Path(sys.executable).parent / "cdxj-indexer"
    theirs = subprocess.run(
        [str(indexer), *map(str, sample_crawl.warcs)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert ours == sorted(theirs)


def test_pywb_replays_every_capture_byte_for_byte(sample_crawl: CrawlResult, tmp_path: Path):
    responses = sample_crawl.of_type("response")
    with PywbReplay(tmp_path, sample_crawl.warcs) as pywb:
        for record in responses:
            url = record.get("WARC-Target-URI")
            ts = "".join(c for c in record.get("WARC-Date") if c.isdigit())[:14]
            status, headers, raw = pywb.fetch_id(url, ts, decode=False)
            location = _self_redirect(record)
            if location:
                # SURT folds /faq and /faq/ into one key, so pywb answers a capture that
                # redirects to itself with its own redirect to the target's capture.
                assert status == 307 and headers["location"].endswith("id_/" + location), url
                continue
            # pywb serves the entity: a body stored chunked, de-chunked.
            assert raw == record.entity, url
            status, headers, decoded = pywb.fetch_id(url, ts, decode=True)
            expected = record.entity
            if b"\r\ncontent-encoding: gzip\r\n" in record.http_head.lower():
                expected = gzip.decompress(record.entity)
            assert decoded == expected, url
    gzipped = [r for r in responses if b"Content-Encoding: gzip" in r.http_head]
    chunked = [r for r in responses if r.get("WARC-Target-URI").endswith("chunked.html")]
    assert gzipped and chunked


def _self_redirect(record) -> str | None:
    if not record.http_first_line.split(b" ")[1].startswith(b"3"):
        return None
    location = dict((k.lower(), v) for k, v in record.http_headers()).get(b"location")
    if location is None:
        return None
    target = urljoin(record.get("WARC-Target-URI"), location.decode("latin-1"))
    return target if surt(target) == surt(record.get("WARC-Target-URI")) else None


@pytest.mark.parametrize("days", [30, -10], ids=["self-signed", "expired"])
def test_self_signed_or_expired_tls_does_not_stop_the_capture(days: int, tmp_path: Path):
    # The certificate names 127.0.0.1, not the crawled host: a name mismatch on top.
    cert, key = make_self_signed(tmp_path / "tls", days=days)
    with SampleSiteServer(certfile=cert, keyfile=key) as server:
        result = crawl_site(server, tmp_path / "coll", "/archive/etext/", "--max-pages", "5")
    assert result.returncode == 0, result.stderr
    assert result.response_for("/archive/etext/").get("WARC-Target-URI").startswith("https://")
    assert len(result.of_type("request")) == len(result.requests) >= 5
    assert_warcs_valid(result.warcs)


def test_warc_files_rotate_at_the_size_limit(sample_server: SampleSiteServer, tmp_path: Path):
    result = crawl_site(sample_server, tmp_path / "rot", "/archive/etext/", "--warc-size", "30000")
    assert result.returncode == 0, result.stderr
    assert len(result.warcs) >= 3
    serials = [p.name.split("-")[2] for p in result.warcs]
    assert serials == sorted(serials) and len(set(serials)) == len(serials)
    for path in result.warcs:
        records = [r for r in result.records if r.path == path]
        assert records[0].type == "warcinfo"
        types = [r.type for r in records[1:]]
        responses = types.count("response") + types.count("revisit")
        assert types.count("request") == responses, "pairs never span files"
    assert len(result.of_type("request")) == len(result.requests)


def test_max_pages_and_max_depth_bound_the_crawl(sample_server: SampleSiteServer, tmp_path: Path):
    result = crawl_site(sample_server, tmp_path / "d0", "/archive/etext/", "--max-depth", "1")
    assert result.returncode == 0, result.stderr
    fetched = _fetched(result)
    assert "/archive/etext/theory/" in fetched or "/archive/etext/theory/index.html" in fetched
    assert "/archive/etext/mapped/africa.html" not in fetched  # two hops: home -> map -> area


def test_scrapy_crawl_uses_the_same_capture(sample_server: SampleSiteServer, tmp_path: Path):
    scrapy = Path(sys.executable).parent / "scrapy"
    listing = subprocess.run([str(scrapy), "list"], cwd=REPO, capture_output=True, text=True)
    assert {"archive", "mim_etext"} <= set(listing.stdout.split())
    out = tmp_path / "scrapy"
    seed = f"http://{SAMPLE_HOST}:{sample_server.port}/archive/etext/"
    proc = subprocess.run(
        [
            str(scrapy),
            "crawl",
            "archive",
            "-a",
            f"seeds={seed}",
            "-s",
            f"ARCHIVER_OUTPUT={out}",
            "-s",
            f"ARCHIVER_RESOLVE={SAMPLE_HOST}:{sample_server.port}:127.0.0.1",
            "-s",
            "ARCHIVER_MAX_PAGES=3",
            "-s",
            "LOG_LEVEL=WARNING",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert list((out / "warcs").glob("*.warc.gz")) and (out / "manifest.jsonl").stat().st_size
    assert_warcs_valid(sorted((out / "warcs").glob("*.warc.gz")))


def _listening_inodes() -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # TCP_LISTEN
                inodes.add(fields[9])
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(target[8:-1])
    return found


def test_the_crawl_never_listens_on_a_port(sample_server: SampleSiteServer, tmp_path: Path):
    seed = f"http://{SAMPLE_HOST}:{sample_server.port}/archive/etext/"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "archiver",
            "crawl",
            seed,
            "--output",
            str(tmp_path / "p"),
            "--resolve",
            f"{SAMPLE_HOST}:{sample_server.port}:127.0.0.1",
            "--delay",
            "0.2",
            "--max-pages",
            "8",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    checks = 0
    try:
        while proc.poll() is None:
            time.sleep(0.2)
            try:
                listening = _socket_inodes(proc.pid) & _listening_inodes()
            except FileNotFoundError:
                break
            checks += 1
            assert not listening, "the crawler opened a listening socket"
    finally:
        proc.wait(timeout=120)
    assert proc.returncode == 0
    assert checks >= 5, "the crawl ended before it could be watched"


class _RedirectAll(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        self.send_response(301)
        self.send_header("Location", self.target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_seed_redirecting_to_another_host_brings_its_target_into_scope(
    sample_server: SampleSiteServer, tmp_path: Path
):
    """The real target answers http://bare-host/ with a 301 to https://www.; the crawl goes on."""
    _RedirectAll.target = f"http://{SAMPLE_HOST}:{sample_server.port}/archive/etext/"
    old_site = ThreadingHTTPServer(("127.0.0.1", 0), _RedirectAll)
    thread = threading.Thread(target=old_site.serve_forever, daemon=True)
    thread.start()
    try:
        port = old_site.server_address[1]
        proc = run_archiver(
            "crawl", f"http://old.archiver.test:{port}/archive/etext/",
            "--output", str(tmp_path / "r"),
            "--resolve", f"old.archiver.test:{port}:127.0.0.1",
            "--resolve", f"{SAMPLE_HOST}:{sample_server.port}:127.0.0.1",
        )  # fmt: skip
    finally:
        old_site.shutdown()
    assert proc.returncode == 0, proc.stderr
    fetched = {r.target for r in sample_server.requests}
    assert "/archive/etext/theory/quotes.html" in fetched
    assert "/about.html" not in fetched, "the added scope is the target's folder, not its host"


def test_no_warc_crawls_the_same_urls_and_archives_nothing(
    sample_crawl: CrawlResult, tmp_path: Path
):
    """--no-warc is for measuring what archiving costs: the same fetches, nothing written."""
    with SampleSiteServer() as server:
        measured = crawl_site(server, tmp_path / "coll", "/archive/etext/", "--no-warc")
    assert measured.returncode == 0, measured.stderr
    assert "--no-warc: nothing was archived" in measured.stderr
    assert not list((tmp_path / "coll" / "warcs").iterdir())
    assert not (tmp_path / "coll" / "manifest.jsonl").exists()
    # Fetches differ only in order (and in nothing else: the crawl is the same).
    assert sorted(r.target for r in measured.requests) == sorted(
        r.target for r in sample_crawl.requests
    )


def _scrapy_crawl(server: SampleSiteServer, out: Path, *settings: str) -> None:
    seed = f"http://{SAMPLE_HOST}:{server.port}/archive/etext/"
    args = ["-s", f"ARCHIVER_OUTPUT={out}", "-s", "LOG_LEVEL=WARNING"]
    args += ["-s", f"ARCHIVER_RESOLVE={SAMPLE_HOST}:{server.port}:127.0.0.1"]
    for setting in settings:
        args += ["-s", setting]
    scrapy = Path(sys.executable).parent / "scrapy"
    proc = subprocess.run(
        [str(scrapy), "crawl", "archive", "-a", f"seeds={seed}", *args],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def _documents(out: Path) -> dict[str, dict]:
    """Each manifest line by URL, without what differs between two runs of one crawl."""
    documents = {}
    for line in (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        document = json.loads(line)
        for varies in ("timestamp", "record_id", "warc_filename", "warc_offset", "warc_length"):
            del document[varies]
        del document["run"]
        documents[document["url"]] = document
    return documents


def test_pages_read_by_either_process_give_the_same_documents_and_links(tmp_path: Path):
    """The archive worker reads pages (text and links) while it keeps up; past its backlog the
    crawl process reads them itself. Either way the crawl and the manifest are the same."""
    with SampleSiteServer() as server:
        _scrapy_crawl(server, tmp_path / "worker", "ARCHIVER_WORKER_BACKLOG=1000000")
        by_worker = sorted(r.target for r in server.requests)
        _scrapy_crawl(server, tmp_path / "crawl", "ARCHIVER_WORKER_BACKLOG=0")
        by_crawl = sorted(r.target for r in server.requests[len(by_worker) :])
    assert by_worker == by_crawl and len(by_worker) > 50
    worker_documents, crawl_documents = (
        _documents(tmp_path / "worker"), _documents(tmp_path / "crawl"),
    )  # fmt: skip
    assert worker_documents.keys() == crawl_documents.keys()
    for url, document in worker_documents.items():
        assert document == crawl_documents[url]
    summaries = [
        json.loads(next((tmp_path / name / "runs").glob("*.json")).read_text())
        for name in ("worker", "crawl")
    ]
    read_in_crawl = [summary["counts"]["pages_read_in_crawl"] for summary in summaries]
    assert read_in_crawl[0] == 0
    # The PDF is read by the worker even when the crawl process reads every other page.
    pdfs = [url for url, document in crawl_documents.items() if document["charset_source"] == "pdf"]
    assert [summary["counts"]["pdf_text"] for summary in summaries] == [{"ok": 1}, {"ok": 1}]
    assert len(pdfs) == 1 and "what we believe" in crawl_documents[pdfs[0]]["text"]
    # And the style sheets, for their links.
    assert read_in_crawl[1] >= len(crawl_documents) - len(pdfs)
