"""The frontier on its own: what a resumed run reads back, and what a crash keeps."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from archiver.collection.frontier import ROLE_PAGE, ROLE_ROBOTS, Entry, Frontier
from archiver.model.fingerprint import Fingerprint


def test_what_was_committed_is_read_back_in_order(tmp_path: Path):
    frontier = Frontier.for_collection(tmp_path)
    frontier.begin("run1", Fingerprint(seeds=("http://a.test/",)))
    page = Entry("a.test/", "http://a.test/", ROLE_PAGE, "L", 0, seed=True)
    robots = Entry(
        "a.test/robots.txt", "http://a.test/robots.txt", ROLE_ROBOTS, "E", 0,
        for_origin="http://a.test", hops=0,
    )  # fmt: skip
    linked = Entry("a.test/b", "http://a.test/b", ROLE_PAGE, "L", 1, referer="http://a.test/")
    assert frontier.add(page) and frontier.add(robots) and frontier.add(linked)
    assert not frontier.add(page), "a key is admitted once"
    frontier.settle_robots("http://a.test", 200, b"User-agent: *\nDisallow: /x\n")
    frontier.add_scope_prefix("https://www.a.test/")
    frontier.commit()
    frontier.close()

    again = Frontier.for_collection(tmp_path)
    assert again.run_id == "run1" and again.fingerprint == Fingerprint(seeds=("http://a.test/",))
    assert list(again.entries()) == [page, robots, linked]
    assert "a.test/b" in again and "a.test/c" not in again
    assert list(again.robots()) == [("http://a.test", 200, b"User-agent: *\nDisallow: /x\n")]
    assert again.scope_prefixes() == ["https://www.a.test/"]
    assert again.count(ROLE_PAGE, "L") == 2 and again.resumed() == 1 and again.resumed() == 2
    again.finish()
    assert not list(tmp_path.iterdir()), "a finished run leaves no frontier files"


def test_a_crash_keeps_what_was_committed_and_nothing_else(tmp_path: Path):
    """A process killed with uncommitted additions: the next one sees only the committed."""
    script = f"""
import os, signal
from pathlib import Path
from archiver.collection.frontier import Entry, Frontier
from archiver.model.fingerprint import Fingerprint
f = Frontier.for_collection(Path({str(tmp_path)!r}))
f.begin("run1", Fingerprint())
f.add(Entry("k1", "http://a.test/1", "page", "L", 0))
f.commit()
f.add(Entry("k2", "http://a.test/2", "page", "L", 0))
os.kill(os.getpid(), signal.SIGKILL)
"""
    crashed = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert crashed.returncode == -9, crashed.stderr
    frontier = Frontier.for_collection(tmp_path)
    assert [e.key for e in frontier.entries()] == ["k1"]
    frontier.close()


def test_begin_forgets_an_abandoned_run(tmp_path: Path):
    frontier = Frontier.for_collection(tmp_path)
    frontier.begin("run1", Fingerprint())
    frontier.add(Entry("k1", "http://a.test/1", ROLE_PAGE, "L", 0))
    frontier.settle_robots("http://a.test", 404, b"")
    frontier.commit()
    frontier.begin("run2", Fingerprint())
    assert frontier.run_id == "run2" and not list(frontier.entries())
    assert not list(frontier.robots())
    frontier.close()
