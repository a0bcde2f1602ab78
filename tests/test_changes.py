"""archiver changes: classification, comparing runs from a hand-built collection, the report."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import pytest

from archiver.cli.changes import add_parser
from archiver.collection.layout import Collection
from archiver.collection.manifest import FIELDS
from archiver.model.errors import CollectionError
from archiver.tools.changes import (
    Change,
    PageState,
    classify,
    compare_runs,
    list_runs,
    render_text,
    report_json,
    text_diff,
)

SITE = "http://a.test/"
RUN1, RUN2, RUN3 = "20260101000000", "20260102000000", "20260103000000"


def write_summary(root: Path, run_id: str, started: str) -> None:
    runs = root / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    summary = {"run_id": run_id, "started": started, "finish_reason": "finished"}
    (runs / f"{run_id}.json").write_text(json.dumps(summary), encoding="utf-8")


def line(run: str, path: str, status: int = 200, text: str = "", **extra) -> str:
    # Every field of the schema present (whatever it grows to), as the crawler writes them.
    values = dict.fromkeys(FIELDS) | {
        "url": SITE + path,
        "status": status,
        "title": path,
        "text": text,
        "digest": "sha1:" + hashlib.sha1(text.encode()).hexdigest(),
        "run": run,
    }
    return json.dumps(values | extra, ensure_ascii=False) + "\n"


def make_collection(root: Path, lines: list[str], runs: tuple[str, ...] = (RUN1, RUN2)) -> Path:
    for number, run_id in enumerate(runs, 1):
        write_summary(root, run_id, f"2026-01-0{number}T00:00:00+00:00")
    (root / "manifest.jsonl").write_text("".join(lines), encoding="utf-8")
    return root


@pytest.fixture
def collection(tmp_path: Path) -> Collection:
    """Two runs: one page of each kind, the gone ones both missing and now an error."""
    lines = [
        line(RUN1, "same.html", text="one\ntwo"),
        line(RUN1, "edited.html", text="a\nb\nc"),
        line(RUN1, "dropped.html", text="bye"),
        line(RUN1, "broken.html", text="was fine"),
        line(RUN1, "still404.html", status=404, text="not found"),
        line(RUN1, "fixed.html", status=500, text="oops"),
        line(RUN2, "same.html", text="one\ntwo"),
        line(RUN2, "edited.html", text="a\nB\nc\nd"),
        line(RUN2, "broken.html", status=404, text="not found"),
        line(RUN2, "still404.html", status=404, text="not found"),
        line(RUN2, "fixed.html", status=200, text="all good"),
        line(RUN2, "fresh.html", text="hello"),
    ]
    return Collection(make_collection(tmp_path / "coll", lines))


# --- classify -----------------------------------------------------------------------------------

OK = PageState(200, "sha1:A")


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        (None, OK, Change.NEW),
        (None, PageState(404, "sha1:A"), Change.NEW),
        (OK, None, Change.GONE),
        (PageState(404, "sha1:A"), None, Change.GONE),
        (OK, PageState(404, "sha1:B"), Change.GONE),
        (OK, PageState(500, "sha1:A"), Change.GONE),
        (PageState(301, "sha1:A"), PageState(410, "sha1:A"), Change.GONE),
        (OK, PageState(200, "sha1:A"), Change.UNCHANGED),
        (PageState(404, "sha1:A"), PageState(404, "sha1:A"), Change.UNCHANGED),
        (OK, PageState(200, "sha1:B"), Change.CHANGED),
        (OK, PageState(301, "sha1:A"), Change.CHANGED),
        (PageState(404, "sha1:A"), PageState(200, "sha1:A"), Change.CHANGED),
        (PageState(404, "sha1:A"), PageState(410, "sha1:A"), Change.CHANGED),
        (PageState(404, "sha1:A"), PageState(404, "sha1:B"), Change.CHANGED),
    ],
)
def test_classify(previous: PageState | None, current: PageState | None, expected: Change):
    assert classify(previous, current) is expected


def test_classify_needs_a_capture_on_one_side():
    with pytest.raises(ValueError):
        classify(None, None)


def test_change_values_are_the_json_strings():
    assert [str(c) for c in Change] == ["new", "changed", "unchanged", "gone"]


# --- list_runs ----------------------------------------------------------------------------------


def test_runs_are_listed_oldest_first_by_start_time_not_name(tmp_path: Path):
    # Ids sort one way, start times another: the start time decides.
    write_summary(tmp_path, "b", "2026-01-01T00:00:00+00:00")
    write_summary(tmp_path, "a", "2026-01-03T00:00:00+00:00")
    write_summary(tmp_path, "c", "2026-01-02T00:00:00")  # naive: read as UTC
    (tmp_path / "runs" / "notes.txt").write_text("not a summary")
    (tmp_path / "runs" / "x.json.tmp").write_text("{")
    (tmp_path / "runs" / "other.json").write_text('{"kind": "something else"}')
    assert list_runs(Collection(tmp_path)) == ["b", "c", "a"]


def test_no_runs_folder_means_no_runs(tmp_path: Path):
    assert list_runs(Collection(tmp_path)) == []


def test_a_damaged_summary_is_an_error_not_a_missing_run(tmp_path: Path):
    write_summary(tmp_path, RUN1, "2026-01-01T00:00:00+00:00")
    (tmp_path / "runs" / f"{RUN2}.json").write_text('{"run_id": "', encoding="utf-8")
    with pytest.raises(CollectionError, match=f"{RUN2}.json"):
        list_runs(Collection(tmp_path))


# --- compare_runs -------------------------------------------------------------------------------


def by_url(report) -> dict:
    return {page.url.removeprefix(SITE): page for page in report.pages}


def test_every_url_of_either_run_is_classified(collection: Collection):
    report = compare_runs(collection, RUN1, RUN2)
    pages = by_url(report)
    assert {name: page.change for name, page in pages.items()} == {
        "fresh.html": Change.NEW,
        "edited.html": Change.CHANGED,
        "fixed.html": Change.CHANGED,
        "same.html": Change.UNCHANGED,
        "still404.html": Change.UNCHANGED,
        "dropped.html": Change.GONE,
        "broken.html": Change.GONE,
    }
    assert report.counts == {"new": 1, "changed": 2, "unchanged": 2, "gone": 2}
    assert (pages["dropped.html"].before_status, pages["dropped.html"].after_status) == (200, None)
    assert (pages["broken.html"].before_status, pages["broken.html"].after_status) == (200, 404)
    assert (pages["fresh.html"].before_status, pages["fresh.html"].after_status) == (None, 200)
    assert pages["dropped.html"].title == "dropped.html"  # a gone page keeps its last title


def test_pages_are_sorted_by_change_then_url(collection: Collection):
    pages = compare_runs(collection, RUN1, RUN2).pages
    order = [(page.change, page.url.removeprefix(SITE)) for page in pages]
    assert order == [
        (Change.NEW, "fresh.html"),
        (Change.CHANGED, "edited.html"),
        (Change.CHANGED, "fixed.html"),
        (Change.UNCHANGED, "same.html"),
        (Change.UNCHANGED, "still404.html"),
        (Change.GONE, "broken.html"),
        (Change.GONE, "dropped.html"),
    ]


def test_changed_pages_get_a_text_diff_and_only_they(collection: Collection):
    pages = by_url(compare_runs(collection, RUN1, RUN2))
    assert pages["edited.html"].diff == ["@@ -2 +2 @@", "-b", "+B", "@@ -3,0 +4 @@", "+d"]
    assert pages["fixed.html"].diff == ["@@ -1 +1 @@", "-oops", "+all good"]
    for name in ("fresh.html", "same.html", "dropped.html", "broken.html"):
        assert pages[name].diff == []


def test_counts_always_have_all_four_kinds(tmp_path: Path):
    root = make_collection(tmp_path, [line(RUN1, "x.html"), line(RUN2, "x.html")])
    assert compare_runs(Collection(root), RUN1, RUN2).counts == {
        "new": 0,
        "changed": 0,
        "unchanged": 1,
        "gone": 0,
    }


def test_only_the_two_runs_are_compared(tmp_path: Path):
    lines = [
        line(RUN1, "x.html", text="1"),
        line(RUN2, "only-in-2.html"),
        line(RUN3, "x.html", text="3"),
    ]
    root = make_collection(tmp_path, lines, runs=(RUN1, RUN2, RUN3))
    pages = by_url(compare_runs(Collection(root), RUN1, RUN3))
    assert {name: page.change for name, page in pages.items()} == {"x.html": Change.CHANGED}


def test_a_run_with_no_manifest_yet_compares_as_empty(tmp_path: Path):
    # A run in progress (or one that captured no documents) has no lines and maybe no summary.
    root = make_collection(tmp_path, [line(RUN1, "x.html")], runs=(RUN1,))
    report = compare_runs(Collection(root), RUN1, "running-now")
    assert report.counts["gone"] == 1
    (root / "manifest.jsonl").unlink()
    assert compare_runs(Collection(root), RUN1, RUN2).pages == []


@pytest.mark.parametrize(
    "bad",
    [
        "{not json\n",
        '["a", "list"]\n',
        b'{"run": "\xff"}\n',
        json.dumps({"url": SITE, "run": RUN1, "status": "200", "digest": "sha1:A"}) + "\n",
    ],
)
def test_a_corrupt_manifest_line_is_an_error_naming_its_number(tmp_path: Path, bad: str | bytes):
    root = make_collection(tmp_path, [line(RUN1, "x.html"), line(RUN2, "x.html")])
    with open(root / "manifest.jsonl", "ab") as manifest:
        manifest.write(b"\n")  # blank lines are not records, and not errors
        manifest.write(bad if isinstance(bad, bytes) else bad.encode())
    with pytest.raises(CollectionError, match=r"manifest\.jsonl line 4 is corrupt"):
        compare_runs(Collection(root), RUN1, RUN2)


def test_a_corrupt_line_of_another_run_is_still_an_error(tmp_path: Path):
    root = make_collection(tmp_path, ["{broken\n", line(RUN1, "x.html"), line(RUN2, "x.html")])
    with pytest.raises(CollectionError, match="line 1 "):
        compare_runs(Collection(root), RUN1, RUN2)


# --- diffs --------------------------------------------------------------------------------------


def test_diff_has_no_file_headers_and_no_context():
    diff = text_diff("keep\nold\nkeep too", "keep\nnew\nkeep too", 20)
    assert diff == ["@@ -2 +2 @@", "-old", "+new"]


def test_diff_keeps_removed_lines_that_look_like_headers():
    # "-" + "--x" is "---x": the headers must be dropped by position, not by prefix.
    assert text_diff("--x\n++y", "", 20) == ["@@ -1,2 +0,0 @@", "---x", "-++y"]


def test_long_diffs_are_cut_with_a_count_of_what_was_left_out():
    before = "\n".join(f"line {i}" for i in range(10))
    after = "\n".join(f"LINE {i}" for i in range(10))  # one hunk: header, 10 -, 10 +
    diff = text_diff(before, after, 5)
    assert diff == ["@@ -1,10 +1,10 @@", *(f"-line {i}" for i in range(4)), "… 16 more lines"]
    assert text_diff(before, after, 20)[-1] == "… 1 more line"
    assert len(text_diff(before, after, 21)) == 21
    assert text_diff(before, after, 0) == ["… 21 more lines"]


def test_compare_runs_passes_the_diff_limit(collection: Collection):
    pages = by_url(compare_runs(collection, RUN1, RUN2, diff_lines=2))
    assert pages["edited.html"].diff == ["@@ -2 +2 @@", "-b", "… 3 more lines"]


def test_text_added_to_an_empty_page_is_all_additions():
    assert text_diff("", "a\nb", 20) == ["@@ -0,0 +1,2 @@", "+a", "+b"]


# --- rendering ----------------------------------------------------------------------------------


def test_text_report(collection: Collection):
    text = render_text(compare_runs(collection, RUN1, RUN2))
    assert text == (
        f"changes from {RUN1} to {RUN2}: 1 new, 2 changed, 2 unchanged, 2 gone\n"
        "new (1):\n"
        f"  {SITE}fresh.html  missing -> 200  fresh.html\n"
        "changed (2):\n"
        f"  {SITE}edited.html  200 -> 200  edited.html\n"
        "      @@ -2 +2 @@\n"
        "      -b\n"
        "      +B\n"
        "      @@ -3,0 +4 @@\n"
        "      +d\n"
        f"  {SITE}fixed.html  500 -> 200  fixed.html\n"
        "      @@ -1 +1 @@\n"
        "      -oops\n"
        "      +all good\n"
        "gone (2):\n"
        f"  {SITE}broken.html  200 -> 404  broken.html\n"
        f"  {SITE}dropped.html  200 -> missing  dropped.html\n"
    )
    assert "same.html" not in text  # unchanged pages are only counted


def test_text_report_with_nothing_changed_is_just_the_header(tmp_path: Path):
    root = make_collection(tmp_path, [line(RUN1, "x.html"), line(RUN2, "x.html")])
    assert render_text(compare_runs(Collection(root), RUN1, RUN2)) == (
        f"changes from {RUN1} to {RUN2}: 0 new, 0 changed, 1 unchanged, 0 gone\n"
    )


def test_json_report_is_plain_data_in_a_stable_shape(collection: Collection):
    data = report_json(compare_runs(collection, RUN1, RUN2))
    assert json.loads(json.dumps(data)) == data
    assert list(data) == ["from_run", "to_run", "counts", "pages"]
    assert (data["from_run"], data["to_run"]) == (RUN1, RUN2)
    assert list(data["counts"]) == ["new", "changed", "unchanged", "gone"]
    assert data["pages"][0] == {
        "url": SITE + "fresh.html",
        "change": "new",
        "before_status": None,
        "after_status": 200,
        "title": "fresh.html",
        "diff": [],
    }
    assert [p["change"] for p in data["pages"]].count("unchanged") == 2


# --- command line -------------------------------------------------------------------------------


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="archiver")
    add_parser(parser.add_subparsers(dest="command", required=True))
    parsed = parser.parse_args(["changes", *argv])
    return parsed.func(parsed)


def test_cli_compares_the_last_two_runs_by_default(tmp_path: Path, capsys):
    lines = [line(RUN1, "x.html", text="1"), line(RUN2, "x.html", text="2"), line(RUN3, "y.html")]
    root = make_collection(tmp_path, lines, runs=(RUN1, RUN2, RUN3))
    assert run_cli(str(root)) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"changes from {RUN2} to {RUN3}: 1 new, 0 changed, 0 unchanged, 1 gone\n")


def test_cli_from_and_to(tmp_path: Path, capsys):
    lines = [line(RUN1, "x.html", text="1"), line(RUN2, "x.html", text="2"), line(RUN3, "y.html")]
    root = make_collection(tmp_path, lines, runs=(RUN1, RUN2, RUN3))
    run_cli(str(root), "--from", RUN1, "--to", RUN2)
    assert capsys.readouterr().out.startswith(f"changes from {RUN1} to {RUN2}: 0 new, 1 changed")
    run_cli(str(root), "--from", RUN1)  # to the last run
    assert capsys.readouterr().out.startswith(f"changes from {RUN1} to {RUN3}:")
    run_cli(str(root), "--to", RUN2)  # from the run before it
    assert capsys.readouterr().out.startswith(f"changes from {RUN1} to {RUN2}:")


def test_cli_json(collection: Collection, capsys):
    assert run_cli(str(collection.root), "--json", "--diff-lines", "1") == 0
    data = json.loads(capsys.readouterr().out)
    assert data == report_json(compare_runs(collection, RUN1, RUN2, diff_lines=1))
    assert data["pages"][1]["diff"] == ["@@ -2 +2 @@", "… 4 more lines"]


def test_cli_can_be_called_with_a_plain_namespace(collection: Collection, capsys):
    from archiver.cli.changes import changes_command

    parsed = argparse.Namespace(
        dir=collection.root, from_run=None, to_run=None, json=False, diff_lines=20
    )
    assert changes_command(parsed) == 0
    assert "2 gone" in capsys.readouterr().out


@pytest.mark.parametrize("runs", [(), (RUN1,)])
def test_cli_needs_two_runs(tmp_path: Path, runs: tuple[str, ...]):
    root = make_collection(tmp_path, [line(RUN1, "x.html")], runs=runs)
    with pytest.raises(CollectionError, match=rf"has only {len(runs)} run\(s\); changes need two"):
        run_cli(str(root))


@pytest.mark.parametrize("option", ["--from", "--to"])
def test_cli_unknown_run_lists_the_known_ones(collection: Collection, option: str):
    with pytest.raises(CollectionError, match=f"no run 'nope'; its runs are {RUN1}, {RUN2}$"):
        run_cli(str(collection.root), option, "nope")


def test_cli_to_the_first_run_needs_from(collection: Collection):
    with pytest.raises(CollectionError, match="is the first run"):
        run_cli(str(collection.root), "--to", RUN1)


def test_cli_refuses_a_folder_that_is_not_a_collection(tmp_path: Path):
    (tmp_path / "stuff.txt").write_text("hello")
    for folder in (tmp_path, tmp_path / "does-not-exist"):
        with pytest.raises(CollectionError, match="not an archiver collection"):
            run_cli(str(folder))


def test_cli_rejects_a_negative_diff_limit(collection: Collection, capsys):
    with pytest.raises(SystemExit) as exited:
        run_cli(str(collection.root), "--diff-lines", "-1")
    assert exited.value.code == 2
    assert "not a whole number of lines" in capsys.readouterr().err


def test_errors_are_one_line(collection: Collection):
    with pytest.raises(CollectionError) as raised:
        run_cli(str(collection.root), "--from", "nope")
    assert "\n" not in str(raised.value)
