"""The CDXJ index is sorted in bounded memory: runs on disk, merged, in byte order."""

from __future__ import annotations

import random
from pathlib import Path

from archiver.collection.cdxj import CdxjIndex, sorted_lines


def test_sorting_in_runs_gives_byte_order_and_leaves_no_files(tmp_path: Path):
    rng = random.Random(3)
    lines = [f'org,a)/{rng.random()} 2026 {{"u": "é{i}"}}\n'.encode() for i in range(2345)]
    (tmp_path / "sealed").write_bytes(b"".join(lines[:1000]))
    (tmp_path / "open").write_bytes(b"".join(lines[1000:]))
    paths = [tmp_path / "sealed", tmp_path / "open"]
    merged = list(sorted_lines(paths, spill_to=tmp_path, chunk=100))  # 24 runs on disk
    assert merged == sorted(lines) == list(sorted_lines(paths, spill_to=tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["open", "sealed"]


def test_a_resumed_runs_index_keeps_its_earlier_lines(tmp_path: Path):
    """Lines sealed by an earlier process of the run are sorted in with the new ones."""
    path = tmp_path / "run.cdxj"
    path.write_bytes(b"b 1 {}\nd 1 {}\n")
    index = CdxjIndex(path)
    index.add_lines(["c 2 {}\n", "a 2 {}\n"])
    index.close()
    assert path.read_bytes() == b"a 2 {}\nb 1 {}\nc 2 {}\nd 1 {}\n"
    assert not path.with_name("run.cdxj.open").exists()
