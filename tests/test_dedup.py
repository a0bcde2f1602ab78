"""The dedup index and the 304 merge, on their own."""

from __future__ import annotations

from pathlib import Path

from archiver.collection.dedup import SqliteDedupIndex
from archiver.model.dedup import CommitMark, StoredPayload, UrlCapture, is_fresh
from archiver.web.heads import header_value, merge_not_modified

STORED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Length: 10\r\n"
    b'Date: Mon, 01 Jan 2024 00:00:00 GMT\r\nETag: "a"\r\nSet-Cookie: x=1\r\n\r\n'
)
NOT_MODIFIED = (
    b'HTTP/1.1 304 Not Modified\r\nDate: Tue, 02 Jan 2024 00:00:00 GMT\r\nETag: "a"\r\n'
    b"Content-Type: text/html\r\nCache-Control: max-age=60\r\n\r\n"
)


def test_a_304_updates_the_stored_head_as_a_cache_would():
    merged = merge_not_modified(STORED, NOT_MODIFIED)
    assert merged.startswith(b"HTTP/1.1 200 OK\r\n") and merged.endswith(b"\r\n\r\n")
    assert header_value(merged, b"date") == "Tue, 02 Jan 2024 00:00:00 GMT"
    assert header_value(merged, b"cache-control") == "max-age=60"
    # What describes the stored body stays the stored response's.
    assert header_value(merged, b"content-type") == "text/html; charset=iso-8859-1"
    assert header_value(merged, b"content-length") == "10"
    assert merged.count(b"Date:") == 1 and b"Set-Cookie: x=1" in merged


def _payload(digest: str, stored_at: float = 1000.0) -> StoredPayload:
    return StoredPayload(
        digest, "http://a.test/", "2024-01-01T00:00:00Z", "<urn:uuid:1>", "f.warc.gz", 7, stored_at
    )


def test_the_index_remembers_payloads_and_captures_across_openings(tmp_path: Path):
    index = SqliteDedupIndex.for_collection(tmp_path)
    index.add_payload(_payload("sha1:AAA"))
    capture = UrlCapture(
        "http://a.test/", "run1", 200, "sha1:AAA", "L", 0, '"a"', None, STORED, True
    )
    index.record_capture(capture)
    assert index.payload("sha1:AAA") == _payload("sha1:AAA"), "seen before it is committed"
    index.commit(CommitMark("run1", "f.warc.gz", 1234))
    index.close()
    again = SqliteDedupIndex.for_collection(tmp_path)
    assert again.committed_end("f.warc.gz") == 1234 and again.committed_end("g.warc.gz") is None
    assert again.payload("sha1:AAA") == _payload("sha1:AAA")
    assert again.payload("sha1:BBB") is None
    assert again.capture("http://a.test/") == capture
    assert list(again.known_captures()) == [capture]
    assert [c.url for c in again.documents_last_seen_in("run1")] == ["http://a.test/"]
    assert list(again.documents_last_seen_in("run2")) == []
    again.close()


def test_rows_not_committed_with_a_mark_are_not_kept(tmp_path: Path):
    """Rows describe records past the last mark until committed: a crash must not keep them."""
    index = SqliteDedupIndex.for_collection(tmp_path)
    index.add_payload(_payload("sha1:AAA"))
    index.commit(CommitMark("run1", "f.warc.gz", 100))
    index.add_payload(_payload("sha1:BBB"))
    index.close()  # as a killed run: BBB's record lies past the mark, which repair cuts
    again = SqliteDedupIndex.for_collection(tmp_path)
    assert again.payload("sha1:AAA") is not None and again.payload("sha1:BBB") is None
    assert again.forget_payloads_from("f.warc.gz", 7) == 1 and again.payload("sha1:AAA") is None
    again.close()


def test_max_age_decides_when_a_payload_is_stored_again():
    stored = _payload("sha1:AAA", stored_at=0.0)
    assert is_fresh(stored, 0, now=10**9), "0 means never too old"
    assert is_fresh(stored, 2, now=86400)
    assert not is_fresh(stored, 1, now=86401)
