"""ReplayWeb.page in headless Chromium: a WACZ opened in its ``<replay-web-page>`` embed.

A Range server (rangeserver.py) serves, on 127.0.0.1, only:

    /               rwp-index.html filled in: the embed, for one URL (and timestamp)
    /ui.js          ReplayWeb.page's UI
    /replay/ui.js   the same; the app frame's page looks for it there first
    /replay/sw.js   its service worker (wabac.js), scope /replay/
    /site.wacz      the archive, read by the service worker in byte ranges

The top page is not controlled by the service worker. It holds ReplayWeb.page's app frame
(``/replay/?source=...#url=...&ts=...``), which is, and which holds the replay frame
(``/replay/w/COLL/[:WACZHASH/]TIMESTAMPmp_/URL``): the archived page, rewritten, run under
wombat. A ``fetch`` from the app frame is answered by the service worker without wombat in the
way, which is how ``Replay.fetch`` reads what the replay serves for any URL and modifier.

After loading a page, ReplayWeb.page says which URL and timestamp it shows: the app frame sends
a "urlchange" message, which the embed passes on as an ``rwp-url-change`` event (and writes into
the app frame's URL hash). The top page records those events and the ``rwp-page-loading`` ones.
"""

from __future__ import annotations

import base64
import html
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Frame, Page

from tests.browser.chromium import Session, chromium_session
from tests.browser.rangeserver import RangeServer
from tests.conftest import run_archiver

BROWSER_DIR = Path(__file__).parent
RWP_DIR = BROWSER_DIR / "node_modules" / "replaywebpage"
WACZ_PATH = "/site.wacz"

_SERVICE_WORKER_ACTIVE_JS = """async () => {
    const registration = await navigator.serviceWorker.getRegistration("./replay/");
    return registration?.active?.state === "activated";
}"""

# Runs in the top page before its own scripts: keeps the embed's events, oldest first.
_RECORD_EVENTS_JS = """window.__rwpEvents = [];
addEventListener("DOMContentLoaded", () => {
    const embed = document.querySelector("replay-web-page");
    for (const name of ["rwp-url-change", "rwp-page-loading"]) {
        embed?.addEventListener(name, event => window.__rwpEvents.push({...event.detail}));
    }
});"""

# Runs in the app frame: the service worker's answer for a URL, the body in base64.
_FETCH_JS = """async (url) => {
    if (!navigator.serviceWorker.controller) {
        throw new Error("the app frame is not controlled by ReplayWeb.page's service worker");
    }
    const response = await fetch(url, {cache: "no-store"});
    const bytes = new Uint8Array(await response.arrayBuffer());
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
        binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    return {status: response.status, headers: [...response.headers], body: btoa(binary)};
}"""

# .../w/COLL/ or .../w/COLL/:WACZHASH/, then the timestamp and mp_/URL.
_REPLAY_FRAME_URL = re.compile(r"(?P<prefix>.*/w/[^/]+/(?::[0-9a-f]+/)?)(?P<ts>\d{14})mp_/")


def version() -> str:
    return str(json.loads((RWP_DIR / "package.json").read_text(encoding="utf-8"))["version"])


def make_wacz(collection: Path, out: Path) -> Path:
    """The collection packaged by ``archiver wacz``."""
    proc = run_archiver("wacz", str(collection), "-o", str(out))
    assert proc.returncode == 0 and out.is_file(), proc.stderr
    return out


@dataclass(frozen=True)
class Fetched:
    """The service worker's answer: header names lower-cased, as fetch gives them."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Replay:
    """ReplayWeb.page open on one URL: the top page and the replay frame showing the URL."""

    browser: Session
    server: RangeServer
    page: Page
    frame: Frame

    @property
    def app(self) -> Frame:
        """ReplayWeb.page's app frame, controlled by its service worker."""
        parent = self.frame.parent_frame
        assert parent is not None, f"the replay frame {self.frame.url} has no parent"
        return parent

    @property
    def prefix(self) -> str:
        """Where the replay frame's collection is: PREFIX + TIMESTAMP + MODIFIER + "/" + URL."""
        match = _REPLAY_FRAME_URL.match(self.frame.url)
        assert match, f"not a replay frame URL: {self.frame.url}"
        return match["prefix"]

    @property
    def timestamp(self) -> str:
        """The timestamp in the replay frame's URL: the one it was asked for or sent to."""
        match = _REPLAY_FRAME_URL.match(self.frame.url)
        assert match, f"not a replay frame URL: {self.frame.url}"
        return match["ts"]

    def fetch(self, timestamp: str, url: str, modifier: str = "id_") -> Fetched:
        """What the service worker answers for ``url`` at ``timestamp`` with ``modifier``
        (``id_``: the archived response, not rewritten)."""
        answer = self.app.evaluate(_FETCH_JS, f"{self.prefix}{timestamp}{modifier}/{url}")
        return Fetched(answer["status"], dict(answer["headers"]), base64.b64decode(answer["body"]))

    def shown(self, settle: float = 0.5, timeout: float = 30.0) -> dict:
        """What ReplayWeb.page says it shows (url, ts, title): its last ``rwp-url-change``, once
        a ``rwp-page-loading`` said the page loaded and no event came for ``settle`` seconds.

        The replayed page tells the app its capture date after loading; the app sends a new
        url-change only when that differs from the timestamp it asked for.
        """
        deadline = time.monotonic() + timeout
        count, quiet_since = -1, time.monotonic()
        while True:
            events = self.page.evaluate("() => window.__rwpEvents")
            now = time.monotonic()
            if len(events) != count:
                count, quiet_since = len(events), now
            loaded = any(e["type"] == "page-loading" and not e["loading"] for e in events)
            if loaded and now - quiet_since >= settle:
                return [e for e in events if e["type"] == "urlchange"][-1]
            if now > deadline:
                raise AssertionError(f"ReplayWeb.page reported no loaded page: {events}")
            self.page.wait_for_timeout(50)

    def story(self) -> str:
        return story(self.browser, self.server)


def story(browser: Session, server: RangeServer) -> str:
    """What happened, for a failure message."""
    lines = ["console:", *browser.console, "served:", *map(str, server.log)]
    return "\n".join([*lines, "requests:", *browser.requests])


def wait_for(page: Page, script: str, what: str, timeout: float = 30.0) -> None:
    """Poll ``script`` until it is true. (wait_for_function does not await a Promise.)"""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        page.wait_for_timeout(50)


def replay_frame(page: Page, url: str, story: Callable[[], str], timeout: float = 30.0) -> Frame:
    """The frame ReplayWeb.page shows ``url`` in (…/mp_/URL), nested in its shadow DOM."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for frame in page.frames:
            if frame.url.endswith("mp_/" + url):
                return frame
        page.wait_for_timeout(100)
    frames = "\n".join(f.url for f in page.frames)
    raise AssertionError(
        f"no replay frame for {url} after {timeout:.0f} s; frames:\n{frames}\n{story()}"
    )


@contextmanager
def replaywebpage(wacz: Path, workdir: Path, url: str, ts: str = "") -> Iterator[Replay]:
    """Open ``wacz`` in ReplayWeb.page on ``url`` (at ``ts``; the latest capture when empty),
    in a Chromium session under ``workdir/chromium``; yield once the replay frame has loaded.

    The session's NetLog (``workdir/chromium/netlog.json``) is complete only after the block.
    """
    if not (RWP_DIR / "sw.js").is_file():
        pytest.fail(f"ReplayWeb.page is not installed in {RWP_DIR}: run tests/browser/setup.sh")
    workdir.mkdir(parents=True, exist_ok=True)
    index = workdir / "index.html"
    index.write_text(
        (BROWSER_DIR / "rwp-index.html")
        .read_text(encoding="utf-8")
        .replace("{SOURCE}", WACZ_PATH.lstrip("/"))
        .replace("{URL}", html.escape(url))
        .replace("{TS}", html.escape(ts)),
        encoding="utf-8",
    )
    files = {
        "/": index,
        "/ui.js": RWP_DIR / "ui.js",
        "/replay/ui.js": RWP_DIR / "ui.js",
        "/replay/sw.js": RWP_DIR / "sw.js",
        WACZ_PATH: wacz,
    }
    with RangeServer(files) as server, chromium_session(workdir / "chromium") as browser:
        page = browser.context.new_page()
        page.add_init_script(_RECORD_EVENTS_JS)
        # On a first visit ReplayWeb.page 2.5.3 races its own service worker: now and then the
        # embed's frame is fetched from the server (404) just before the worker takes control,
        # and the embed then gives up. So let the worker install, then load the page again, as
        # a returning visitor does.
        page.goto(server.base_url + "/")
        wait_for(page, _SERVICE_WORKER_ACTIVE_JS, "ReplayWeb.page's service worker to activate")
        page.reload()
        frame = replay_frame(page, url, lambda: story(browser, server))
        frame.wait_for_load_state("load")
        yield Replay(browser, server, page, frame)


__all__ = ["RWP_DIR", "Fetched", "Replay", "make_wacz", "replaywebpage", "version"]
