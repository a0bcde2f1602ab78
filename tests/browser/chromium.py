"""Headless Chromium for the browser tests: Debian's build, driven by Playwright, kept on loopback.

Debian's Chromium 156 reaches for Google even with the usual quiet flags
(--disable-background-networking, --disable-component-update, --disable-sync): at startup it
asks accounts.google.com for the signed-in accounts and update.googleapis.com for the
"Optimization Guide On Device Models Manifest" component, and on a page with a form it asks
content-autofill.googleapis.com about the form. Seen in a NetLog, it resolved those names
through the machine's DNS server. So every session also gets:

* ``--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1``: no host name resolves, so no
  DNS query is sent and nothing but an IP literal on loopback can be connected to. The tests
  only ever use http://127.0.0.1:PORT URLs.
* ``--optimization-guide-manifest-override=<a file holding {}>``: the model manifest comes
  from that (empty) local override instead of from the component updater.
* ``--disable-features=...,AutofillServerCommunication`` (see DISABLED_FEATURES).

Only the account check is left (Chromium 156 has no switch for it; the resolver rules stop it
before any socket is opened, and it never happens inside tests/isolated.sh's namespace, where
Chromium sees no network).

A session records every request Playwright sees (pages, frames, workers and service workers)
and writes a NetLog (``--log-net-log``), Chromium's own record of everything its network stack
did, browser-initiated requests such as favicons included. ``offsite_traffic`` reads it back.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Page, Request, sync_playwright

CHROMIUM = Path(os.environ.get("ARCHIVER_CHROMIUM", "/usr/bin/chromium"))

# The flags the project requires for every Chromium it starts (the user data dir, a fresh
# temporary folder, is given by launch_persistent_context).
REQUIRED_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LOOPBACK_ONLY_FLAGS = ["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]

# A --disable-features of our own replaces Playwright's (Chromium keeps the last one), so this
# is Playwright 1.65's list (server/chromium/chromiumSwitches.ts), which already stops the
# network-time query to clients2.google.com and preconnects to www.google.com, plus
# AutofillServerCommunication: without it Chromium asks content-autofill.googleapis.com about
# every page with a form, ReplayWeb.page's own UI included.
DISABLED_FEATURES = [
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "TcpPortRandomizationWin",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    "AutofillServerCommunication",
]

VIEWPORT = {"width": 1100, "height": 800}
_LAUNCH_TIMEOUT_MS = 30_000

# Schemes that never touch the network: the rest must go to the server under test.
_LOCAL_SCHEMES = ("data:", "blob:", "about:", "chrome:", "chrome-error:", "devtools:")
_PHASE_END = 2  # NetLog event phases: 0 none, 1 begin, 2 end


@dataclass
class Session:
    context: BrowserContext
    netlog: Path
    requests: list[str] = field(default_factory=list)  # URL of every request Playwright saw
    console: list[str] = field(default_factory=list)  # console messages and errors of pages

    def requests_not_to(self, origin: str) -> list[str]:
        return [
            url
            for url in self.requests
            if not url.startswith(_LOCAL_SCHEMES) and not url.startswith(origin + "/")
        ]


@contextmanager
def chromium_session(workdir: Path) -> Iterator[Session]:
    """Start headless Chromium with a fresh profile under ``workdir``; close it on exit.

    The NetLog is complete only once the browser has closed, so read it after the block.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    profile = Path(tempfile.mkdtemp(prefix="profile-", dir=workdir))
    netlog = workdir / "netlog.json"
    no_models = workdir / "no-model-manifest.json"
    no_models.write_text("{}\n", encoding="utf-8")
    args = [
        *REQUIRED_FLAGS,
        *LOOPBACK_ONLY_FLAGS,
        "--disable-features=" + ",".join(DISABLED_FEATURES),
        f"--optimization-guide-manifest-override={no_models}",
        f"--log-net-log={netlog}",
    ]
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=args,
            viewport=VIEWPORT,
            timeout=_LAUNCH_TIMEOUT_MS,
        )
        session = Session(context, netlog)

        def record(request: Request) -> None:
            session.requests.append(request.url)

        def watch(page: Page) -> None:
            page.on("console", lambda msg: session.console.append(f"{msg.type}: {msg.text}"))
            page.on("pageerror", lambda exc: session.console.append(f"uncaught: {exc}"))

        context.on("request", record)
        context.on("page", watch)
        try:
            yield session
        finally:
            context.close()


def offsite_traffic(netlog: Path, origin: str) -> list[str]:
    """What in a Chromium NetLog went, or tried to go, anywhere but ``origin``.

    ``origin`` is ``http://127.0.0.1:PORT``. Reported:

    * a TCP connection attempted to any other address or port;
    * a DNS query, or any UDP datagram, sent at all;
    * a URL request for one of the pages (its network isolation key names 127.0.0.1) to
      anywhere but ``origin``.

    Chromium's own background requests (isolation key of another site, e.g. the
    accounts.google.com account check) are not reported by URL: the resolver rules stop them
    before any socket is opened, and any socket they opened would be reported above. Chromium's
    IPv6 reachability probe, a UDP connect() that sends no datagram, is not traffic either.
    """
    try:
        data = json.loads(netlog.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"NetLog {netlog} unreadable (did Chromium close cleanly?): {exc}"]
    names = {number: name for name, number in data["constants"]["logEventTypes"].items()}
    allowed = urlsplit(origin).netloc
    found: list[str] = []
    for event in data["events"]:
        kind = names.get(event["type"], "")
        params = event.get("params") or {}
        if kind == "TCP_CONNECT_ATTEMPT" and "address" in params:
            if params["address"] != allowed:
                found.append(f"TCP connection to {params['address']}")
        elif kind == "DNS_TRANSACTION" and event.get("phase") != _PHASE_END:
            found.append(f"DNS query for {params.get('hostname', '(name not logged)')}")
        elif kind == "UDP_BYTES_SENT":
            found.append(f"UDP datagram sent: {params}")
        elif kind == "URL_REQUEST_START_JOB" and "url" in params:
            url = params["url"]
            for_a_page = "//127.0.0.1" in params.get("network_isolation_key", "")
            if for_a_page and not url.startswith((*_LOCAL_SCHEMES, origin + "/")):
                found.append(f"request from a page to {url}")
    return found


__all__ = ["CHROMIUM", "Session", "chromium_session", "offsite_traffic"]
