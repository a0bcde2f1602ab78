"""Fixtures: the bundled sample site on 127.0.0.1, and crawls of it by the real command line.

Every crawl runs `archiver crawl` in a subprocess (Twisted's reactor runs once per process),
with the site's real-looking hostname mapped to loopback by --resolve. Nothing leaves
127.0.0.0/8.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from samplesite.requestlog import LoggedRequest
from samplesite.server import SampleSiteServer
from tests.warcread import Record, iter_records

SAMPLE_HOST = "sample.archiver.test"
ARTIFACTS = Path(__file__).parent / "artifacts"


@dataclass
class CrawlResult:
    output: Path
    returncode: int
    stdout: str
    stderr: str
    requests: list[LoggedRequest]  # what the origin server received during the crawl
    base_url: str  # the URL prefix the crawl used, with the mapped hostname
    _records: list[Record] | None = field(default=None, repr=False)

    @property
    def warcs(self) -> list[Path]:
        return sorted((self.output / "warcs").glob("*.warc.gz"))

    @property
    def records(self) -> list[Record]:
        if self._records is None:
            self._records = [r for path in self.warcs for r in iter_records(path)]
        return self._records

    def of_type(self, warc_type: str) -> list[Record]:
        return [r for r in self.records if r.type == warc_type]

    def response_for(self, path: str) -> Record:
        url = self.base_url + path
        found = [r for r in self.of_type("response") if r.get("WARC-Target-URI") == url]
        assert len(found) == 1, f"{len(found)} responses for {url}"
        return found[0]

    @property
    def manifest(self) -> list[dict]:
        with open(self.output / "manifest.jsonl", encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    def summary(self) -> dict:
        (path,) = (self.output / "runs").glob("*.json")
        return json.loads(path.read_text(encoding="utf-8"))


# archiver's defaults before the polite ones (2 requests per host, AutoThrottle): the tests
# of everything but politeness crawl loopback servers as fast as before. A test's own
# --concurrency or --delay, given later, wins; tests of politeness pass fast=False.
FAST = ("--concurrency", "8", "--delay", "0")


def run_archiver(
    *args: str, cwd: Path | None = None, timeout: float = 300, fast: bool = True
) -> subprocess.CompletedProcess:
    if fast and args[:1] == ("crawl",):
        args = ("crawl", *FAST, *args[1:])
    return subprocess.run(
        [sys.executable, "-m", "archiver", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def crawl_site(
    server: SampleSiteServer, output: Path, seed_path: str = "/archive/etext/", *extra: str
) -> CrawlResult:
    scheme = "https" if server.base_url.startswith("https") else "http"
    base = f"{scheme}://{SAMPLE_HOST}:{server.port}"
    before = len(server.requests)
    proc = run_archiver(
        "crawl",
        base + seed_path,
        "--output",
        str(output),
        "--resolve",
        f"{SAMPLE_HOST}:{server.port}:127.0.0.1",
        *extra,
    )
    return CrawlResult(
        output, proc.returncode, proc.stdout, proc.stderr, server.requests[before:], base
    )


@pytest.fixture(scope="session")
def sample_crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrawlResult]:
    """One crawl of the sample site from /archive/etext/, shared by the read-only tests."""
    with SampleSiteServer() as server:
        result = crawl_site(server, tmp_path_factory.mktemp("sample") / "coll")
        assert result.returncode == 0, result.stderr
        yield result


@pytest.fixture
def sample_server() -> Iterator[SampleSiteServer]:
    with SampleSiteServer() as server:
        yield server


__all__ = ["ARTIFACTS", "FAST", "CrawlResult", "crawl_site", "run_archiver"]
