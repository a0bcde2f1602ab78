"""The archive replays in a real browser, with the origin server gone.

The sample site is crawled, its server stopped, and headless Chromium (Debian's package,
driven by Playwright) opens the collection:

* through pywb (framed_replay off): every HTML page of the archive, asserting from the DOM that
  every image decoded, that the site's stylesheets applied, and that no request went anywhere
  but the pywb server;
* through ReplayWeb.page: a WACZ of the collection, served with ReplayWeb.page's files by a
  small Range-capable server, asserting that the home page's images load inside the replay.

Screenshots are kept in tests/artifacts/. tests/browser/setup.sh installs Chromium and
ReplayWeb.page; these tests skip only when Chromium is not installed.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from samplesite.server import SampleSiteServer
from tests.browser import rwp
from tests.browser.chromium import CHROMIUM, chromium_session, offsite_traffic
from tests.browser.rwp import make_wacz, replaywebpage
from tests.conftest import ARTIFACTS, CrawlResult, crawl_site

SEED_PATH = "/archive/etext/"

pytestmark = [
    pytest.mark.e2e,  # a crawl of the sample site, replayed in Chromium
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is not installed and tests/browser/setup.sh could not install it "
        "(it needs root and apt-get: apt-get install chromium fonts-dejavu-core)",
    ),
]

# Every <img> of the document: how it ended up. naturalWidth is 0 for an image that did not
# load or did not decode.
_IMAGES_JS = """() => Array.from(document.images, img => ({
    src: img.currentSrc || img.src, complete: img.complete, width: img.naturalWidth}))"""

# Every subresource the document fetched (stylesheets, scripts, images, CSS images and
# @imports) that was not answered 200. Not Chromium's own probe for the replay server's
# /favicon.ico, which no archived page asks for (a page's icon would be under the collection's
# prefix) and which now and then shows up among a page's entries (2 runs in about 10).
_NOT_200_JS = """() => performance.getEntriesByType("resource")
    .filter(e => e.responseStatus !== 200 && e.name !== `${location.origin}/favicon.ico`)
    .map(e => `${e.responseStatus} ${e.name}`)"""

# Styles on the home page that only the site's own stylesheets set: /css/site.css gives <hr>
# no border and a rule.gif background; /archive/etext/style.css gives <body> a font and
# bg-paper.png, and <li> the bullet.gif marker. Without them <hr> has a 1px inset border, and
# <body> the default font and no background image.
_STYLES_JS = """() => {
    const body = getComputedStyle(document.body);
    const hr = getComputedStyle(document.querySelector("hr"));
    const li = getComputedStyle(document.querySelector("li"));
    return {bodyFont: body.fontFamily, bodyBackground: body.backgroundImage,
            liMarker: li.listStyleImage, hrBorder: hr.borderTopWidth,
            hrBackground: hr.backgroundImage};
}"""


# -- the archive ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> CrawlResult:
    """The sample site crawled from /archive/etext/, its server stopped afterwards."""
    with SampleSiteServer() as server:
        result = crawl_site(server, tmp_path_factory.mktemp("browser") / "coll", SEED_PATH)
    assert result.returncode == 0, result.stderr
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", server.port), 2):
        pass  # the origin is gone: whatever replays now comes from the archive
    return result


def _html_pages(result: CrawlResult) -> list[dict]:
    """Manifest entries of the HTML pages captured with 200, the seed first."""
    pages = [m for m in result.manifest if m["status"] == 200 and m["mime"] == "text/html"]
    home = result.base_url + SEED_PATH
    return sorted(pages, key=lambda m: m["url"] != home)


@contextmanager
def replay_server(collection: Path, workdir: Path) -> Iterator[str]:
    """Serve ``collection`` with ``archiver replay --no-frame`` until the block ends.

    Yields the replay prefix ``http://127.0.0.1:PORT/NAME/``; a page is at
    ``prefix + TIMESTAMP + "/" + URL``. *workdir* is unused: the command works in place.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "archiver", "replay", str(collection), "--host", "127.0.0.1",
         "--port", str(port), "--no-frame", "--name", "coll"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    prefix = f"http://127.0.0.1:{port}/coll/"
    try:
        _wait_until_serving(prefix, server)
        yield prefix
    finally:
        server.terminate()
        server.wait(timeout=20)


def _wait_until_serving(url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    import http.client

    parts = urlsplit(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, "archiver replay exited"
        try:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
            conn.request("GET", parts.path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"archiver replay did not answer {url} in {timeout} s")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# -- pywb ----------------------------------------------------------------------------------


def _evaluate_settled(page: Page, script: str) -> list:
    """Run ``script`` in every frame of the page once it has stopped navigating.

    A meta refresh (news/moved.html) navigates again after the load event, which destroys the
    frame being read; then wait for the next page to load and read that one.
    """
    for _attempt in range(5):
        page.wait_for_load_state("load")
        try:
            return [item for frame in page.frames for item in frame.evaluate(script)]
        except PlaywrightError as exc:
            if "navigat" not in str(exc) and "destroyed" not in str(exc):
                raise
    raise AssertionError(f"{page.url} kept navigating")


def test_pywb_replays_every_page_from_the_archive_alone(archived: CrawlResult, tmp_path: Path):
    pages = _html_pages(archived)
    assert len(pages) > 40 and pages[0]["url"] == archived.base_url + SEED_PATH
    problems: list[str] = []
    images_seen = 0
    home_images: list[dict] = []
    styles: dict = {}
    with (
        replay_server(archived.output, tmp_path / "pywb") as prefix,
        chromium_session(tmp_path / "chromium") as browser,
    ):
        page = browser.context.new_page()
        for entry in pages:
            url = f"{prefix}{entry['timestamp']}/{entry['url']}"
            response = page.goto(url, wait_until="load")
            if response is None or response.status != 200:
                problems.append(f"{entry['url']}: replay answered {response and response.status}")
                continue
            images = _evaluate_settled(page, _IMAGES_JS)
            images_seen += len(images)
            problems += [
                f"{entry['url']}: <img> {img['src']} did not load"
                for img in images
                if not (img["complete"] and img["width"] > 0)
            ]
            problems += [f"{entry['url']}: {bad}" for bad in _evaluate_settled(page, _NOT_200_JS)]
            if entry is pages[0]:
                home_images = images
                styles = page.evaluate(_STYLES_JS)
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=ARTIFACTS / "pywb-home.png", full_page=True)
        origin = _origin(prefix)
        offsite = browser.requests_not_to(origin)
        requests = len(browser.requests)

    assert not problems, "\n".join(problems)
    # The home page's logo and its "third point" image; more on other pages.
    assert [img["src"].rsplit("/", 1)[1] for img in home_images] == ["logo.gif", "thirdpoint.gif"]
    assert images_seen >= 8
    assert styles["bodyFont"] == "Georgia, Times, serif", styles  # style.css
    assert styles["bodyBackground"].endswith('/archive/etext/img/bg-paper.png")'), styles
    assert "/archive/etext/img/bullet.gif" in styles["liMarker"], styles
    assert styles["hrBorder"] == "0px", styles  # /css/site.css
    assert styles["hrBackground"].endswith('/images/rule.gif")'), styles
    # Nothing left the replay server: not by the pages' own count, nor by Chromium's.
    assert requests > len(pages)
    assert offsite == []
    assert offsite_traffic(tmp_path / "chromium" / "netlog.json", origin) == []


# -- ReplayWeb.page ------------------------------------------------------------------------


def test_replaywebpage_replays_the_wacz_from_a_range_server(archived: CrawlResult, tmp_path: Path):
    home = archived.base_url + SEED_PATH
    wacz = make_wacz(archived.output, tmp_path / "site.wacz")
    with replaywebpage(wacz, tmp_path, home) as replay:
        frame = replay.frame
        frame.wait_for_function(
            "() => document.readyState === 'complete'"
            " && Array.from(document.images).every(img => img.complete)"
        )
        images = frame.evaluate(_IMAGES_JS)
        styles = frame.evaluate(_STYLES_JS)
        title = frame.title()
        ARTIFACTS.mkdir(exist_ok=True)
        replay.page.screenshot(path=ARTIFACTS / "rwp-home.png")
        offsite = replay.browser.requests_not_to(replay.server.base_url)
    served = replay.server.log

    assert title == "MIM etext archive", f"ReplayWeb.page {rwp.version()} showed {title!r}"
    assert [img["src"].rsplit("/", 1)[1] for img in images] == ["logo.gif", "thirdpoint.gif"]
    assert all(img["complete"] and img["width"] > 0 for img in images), images
    assert styles["bodyFont"] == "Georgia, Times, serif", styles
    assert styles["hrBorder"] == "0px", styles
    # The WACZ was read in pieces, as a remote one would be, never fetched whole.
    wacz_reads = [s for s in served if s.path == rwp.WACZ_PATH]
    assert wacz_reads and all(s.status == 206 for s in wacz_reads), wacz_reads
    assert offsite == []
    assert offsite_traffic(replay.browser.netlog, replay.server.base_url) == []
