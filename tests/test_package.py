"""archiver wacz and archiver replay, proven with wacz validate, pywb and cdxj-indexer; and
the wheel pip builds, which holds the package and nothing of the tests'."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import archiver
from samplesite.server import SampleSiteServer
from tests.conftest import CrawlResult, crawl_site, run_archiver
from tests.harness.pywb import PywbReplay
from tests.test_runs import copy_site, edit_site

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def two_run_collection(tmp_path_factory: pytest.TempPathFactory) -> CrawlResult:
    """Two runs with edits between them: responses and both kinds of revisit."""
    tmp = tmp_path_factory.mktemp("package")
    root = copy_site(tmp)
    with SampleSiteServer(root=root) as server:
        assert crawl_site(server, tmp / "coll").returncode == 0
        edit_site(root)
        time.sleep(1.1)
        second = crawl_site(server, tmp / "coll")
        assert second.returncode == 0, second.stderr
    return second


@pytest.mark.e2e
def test_our_cdxj_equals_cdxj_indexers_with_revisits(two_run_collection: CrawlResult):
    ours = sorted(
        line
        for path in (two_run_collection.output / "indexes").glob("*.cdxj")
        for line in path.read_text(encoding="utf-8").splitlines()
    )
    theirs = subprocess.run(
        [str(BIN / "cdxj-indexer"), *map(str, two_run_collection.warcs)],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    # cdxj-indexer also lists a 304's metadata record (metadata://...); archiver's index
    # lists captures only.
    theirs = [line for line in theirs if '"url": "metadata://' not in line]
    assert any('"mime": "warc/revisit"' in line for line in ours)
    assert ours == sorted(theirs)


@pytest.mark.e2e
def test_wacz_validates_and_replays_in_pywb(two_run_collection: CrawlResult, tmp_path: Path):
    wacz = tmp_path / "site.wacz"
    proc = run_archiver("wacz", str(two_run_collection.output), "-o", str(wacz))
    assert proc.returncode == 0, proc.stderr
    check = subprocess.run(
        [str(BIN / "wacz"), "validate", "-f", str(wacz)], capture_output=True, text=True
    )
    assert check.returncode == 0 and "Validation succeeded" in check.stdout, check.stdout
    with zipfile.ZipFile(wacz) as z:
        names = set(z.namelist())
        package = json.loads(z.read("datapackage.json"))
        page_lines = z.read("pages/pages.jsonl").decode("utf-8").splitlines()
        stored = {i.filename for i in z.infolist() if i.compress_type == zipfile.ZIP_STORED}
    warcs = {f"archive/{p.name}" for p in two_run_collection.warcs}
    assert warcs <= names and warcs <= stored, "WARCs are stored as they are"
    assert {"indexes/index.cdx", "pages/pages.jsonl", "datapackage-digest.json"} <= names
    assert package["wacz_version"] == "1.1.1"
    pages = [json.loads(line) for line in page_lines[1:]]
    home = [p for p in pages if p["url"].endswith("/archive/etext/")]
    assert home and home[0]["title"] and "Three Main Points" in home[0]["text"]
    record = two_run_collection.response_for("/archive/etext/theory/quotes.html")
    ts = "".join(c for c in record.get("WARC-Date") if c.isdigit())[:14]
    with PywbReplay(tmp_path / "pywb", [wacz]) as pywb:
        status, _, body = pywb.fetch_id(record.get("WARC-Target-URI"), ts, decode=False)
    assert status == 200 and body == record.payload


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.e2e
def test_replay_serves_the_collection_in_place(two_run_collection: CrawlResult):
    output = two_run_collection.output
    before = sorted(p.name for p in (output / "warcs").iterdir())
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "archiver", "replay", str(output),
         "--port", str(port), "--no-frame"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        first_line = server.stdout.readline()
        assert f"http://127.0.0.1:{port}/coll/" in first_line
        record = two_run_collection.response_for("/archive/etext/theory/quotes.html")
        ts = "".join(c for c in record.get("WARC-Date") if c.isdigit())[:14]
        url = f"/coll/{ts}id_/{record.get('WARC-Target-URI')}"
        body = _get_when_up(port, url)
        assert body == record.payload
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert sorted(p.name for p in (output / "warcs").iterdir()) == before, "nothing copied"
    config = json.loads((output / "replay" / "config.yaml").read_text())
    assert config["framed_replay"] is False


def _get_when_up(port: int, path: str, timeout: float = 30) -> bytes:
    import http.client

    deadline = time.monotonic() + timeout
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", path, headers={"Accept-Encoding": "identity"})
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200, (response.status, body[:200])
            return body
        except (ConnectionRefusedError, http.client.RemoteDisconnected):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# -- the wheel ----------------------------------------------------------------------------

# What a build leaves beside the sources, and what is not part of them.
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "output", "build", "*.egg-info", "__pycache__",
    ".pytest_cache", ".ruff_cache", "artifacts",
)  # fmt: skip
DIST_INFO = f"archiver-{archiver.__version__}.dist-info"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel pip builds from a copy of the working tree: a build writes build/ beside
    the sources, and files a stale build/ still held would go into the wheel."""
    tmp = tmp_path_factory.mktemp("wheel")
    shutil.copytree(REPO, tmp / "source", ignore=NOT_SOURCES)
    env = dict(os.environ)
    if os.environ.get("ARCHIVER_TEST_NETNS"):
        # Only loopback answers here: fetch the build backend from the local indexes pip is
        # configured with, without retrying the ones that cannot answer.
        env["PIP_RETRIES"] = "0"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(tmp / "dist"), str(tmp / "source")],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    (built,) = (tmp / "dist").glob("*.whl")
    return built


@pytest.mark.e2e
def test_the_wheel_holds_the_package_and_its_template_and_no_test_code(wheel: Path):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        top_level = z.read(f"{DIST_INFO}/top_level.txt").decode()
    assert {name.split("/")[0] for name in names} == {"archiver", DIST_INFO}
    assert top_level.split() == ["archiver"]
    modules = {
        path.relative_to(REPO).as_posix()
        for path in (REPO / "archiver").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert modules <= names, sorted(modules - names)
    assert "archiver/tools/templates/report.html" in names
    test_code = ("samplesite", "spiders", "tests", "bench")
    assert not [n for n in names if any(part in test_code for part in n.split("/"))]


@pytest.mark.e2e
def test_the_wheel_names_its_license_as_an_spdx_expression(wheel: Path):
    with zipfile.ZipFile(wheel) as z:
        metadata = Parser().parsestr(z.read(f"{DIST_INFO}/METADATA").decode("utf-8"))
        entry_points = z.read(f"{DIST_INFO}/entry_points.txt").decode()
    assert metadata["License-Expression"] == "MIT"
    assert metadata["License"] is None, "no free-text license beside the expression"
    assert not [c for c in metadata.get_all("Classifier") or [] if c.startswith("License ::")]
    assert "archiver = archiver.cli.main:main" in entry_points
