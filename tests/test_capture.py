"""Capture fidelity: every exchange the server saw is in the WARC, as it went over the wire."""

from __future__ import annotations

import gzip
import hashlib
import re
from collections import Counter
from urllib.parse import urlsplit

import pytest

from tests.conftest import CrawlResult
from tests.warcread import sha1_b32

# Every test here reads the shared crawl of the sample site: end to end.
pytestmark = pytest.mark.e2e


def _target(record) -> str:
    return record.http_first_line.split(b" ")[1].decode("ascii")


def test_logged_requests_and_warc_request_records_are_the_same_set(sample_crawl: CrawlResult):
    logged = Counter((r.method, r.target, r.host) for r in sample_crawl.requests)
    recorded = Counter()
    for record in sample_crawl.of_type("request"):
        method = record.http_first_line.split(b" ")[0].decode("ascii")
        host = dict((k.lower(), v) for k, v in record.http_headers())[b"host"].decode("ascii")
        recorded[(method, _target(record), host)] += 1
    assert recorded == logged
    assert len(logged) >= 40, "the sample site should give a real crawl"
    assert max(logged.values()) == 1, "no URL is fetched twice"


def test_request_records_hold_the_headers_actually_sent(sample_crawl: CrawlResult):
    by_target = {_target(r): r for r in sample_crawl.of_type("request")}
    for logged in sample_crawl.requests:
        record = by_target[logged.target]
        sent = [(k.lower(), v) for k, v in logged.headers]
        stored = [
            (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in record.http_headers()
        ]
        assert stored == sent, logged.target
        assert record.http_first_line == f"GET {logged.target} HTTP/1.1".encode()
    names = {k.lower() for k, _ in sample_crawl.requests[-1].headers}
    assert {"user-agent", "accept-encoding", "host"} <= names


def test_cookies_set_by_the_server_appear_in_later_request_records(sample_crawl: CrawlResult):
    with_cookie = [r for r in sample_crawl.of_type("request") if b"Cookie: " in r.http_head]
    assert with_cookie, "the home page sets cookies; later requests must carry and record them"


def test_query_strings_are_kept_in_the_request_line(sample_crawl: CrawlResult):
    targets = {_target(r) for r in sample_crawl.of_type("request")}
    assert any(t.startswith("/archive/etext/file.php?railfile=") for t in targets)


def test_response_payloads_are_the_bytes_the_server_sent(sample_crawl: CrawlResult):
    sent = {r.target: r.body_sha1 for r in sample_crawl.requests}
    for record in sample_crawl.of_type("response"):
        target = urlsplit(record.get("WARC-Target-URI")).path
        query = urlsplit(record.get("WARC-Target-URI")).query
        key = target + ("?" + query if query else "")
        assert hashlib.sha1(record.entity).hexdigest() == sent[key], key
    # A revisit stores no body; its digest must still be that of the body the server sent.
    for record in sample_crawl.of_type("revisit"):
        parts = urlsplit(record.get("WARC-Target-URI"))
        key = parts.path + ("?" + parts.query if parts.query else "")
        assert record.get("WARC-Payload-Digest") == sha1_b32(bytes.fromhex(sent[key]), raw=True)


def test_gzip_response_stays_gzip_with_its_content_encoding(sample_crawl: CrawlResult):
    record = sample_crawl.response_for("/archive/etext/news/compressed.html")
    assert b"\r\nContent-Encoding: gzip\r\n" in record.http_head
    assert record.payload[:2] == b"\x1f\x8b"
    assert b"<" in gzip.decompress(record.payload)


def test_chunked_response_is_stored_chunked_with_its_transfer_encoding(sample_crawl: CrawlResult):
    # As it went over the wire (issue 15): the framing and the header that says so stay
    # together; the payload digest is the entity's, what replay serves.
    record = sample_crawl.response_for("/archive/etext/news/chunked.html")
    assert b"transfer-encoding: chunked" in record.http_head.lower()
    assert re.match(rb"^[0-9a-fA-F]+(;[^\r\n]*)?\r\n", record.payload), "the chunk framing stays"
    assert record.entity.lstrip().lower().startswith((b"<html", b"<!doctype"))
    assert record.get("WARC-Payload-Digest") == sha1_b32(record.entity)


def test_repeated_headers_and_non_utf8_header_bytes_survive(sample_crawl: CrawlResult):
    record = sample_crawl.response_for("/archive/etext/")
    cookies = [v for k, v in record.http_headers() if k.lower() == b"set-cookie"]
    assert len(cookies) >= 2
    assert any(b"\xe9" in v for _, v in record.http_headers()), "the raw 0xE9 byte must be kept"


def test_status_lines_carry_code_and_reason(sample_crawl: CrawlResult):
    lines = {r.http_first_line for r in sample_crawl.of_type("response")}
    for expected in (
        b"HTTP/1.1 200 OK",
        b"HTTP/1.1 301 Moved Permanently",
        b"HTTP/1.1 302 Found",
        b"HTTP/1.1 404 Not Found",
        b"HTTP/1.1 500 Internal Server Error",
    ):
        assert expected in lines


def test_request_and_response_share_date_and_uri_and_are_linked(sample_crawl: CrawlResult):
    records = sample_crawl.of_type("response") + sample_crawl.of_type("revisit")
    responses = {r.get("WARC-Record-ID"): r for r in records}
    requests = sample_crawl.of_type("request")
    assert len(requests) == len(responses)
    for request in requests:
        response = responses[request.get("WARC-Concurrent-To")]
        assert request.get("WARC-Date") == response.get("WARC-Date")
        assert request.get("WARC-Target-URI") == response.get("WARC-Target-URI")


def test_digests_ip_and_warcinfo_links(sample_crawl: CrawlResult):
    for path in sample_crawl.warcs:
        records = [r for r in sample_crawl.records if r.path == path]
        assert records[0].type == "warcinfo"
        assert [r.type for r in records].count("warcinfo") == 1
        info_id = records[0].get("WARC-Record-ID")
        info = records[0].block.decode("utf-8")
        for field in (
            "software: archiver/",
            "robots: obey",
            "format: WARC File Format 1.1",
            "http-header-user-agent: ",
            "archiver-settings: ",
        ):
            assert field in info
        for record in records[1:]:
            assert record.version == "WARC/1.1"
            assert record.get("WARC-Warcinfo-ID") == info_id
            assert record.get("WARC-Block-Digest") == sha1_b32(record.block)
            if record.type == "response":
                assert record.get("WARC-Payload-Digest") == sha1_b32(record.entity)
                assert record.get("WARC-IP-Address") == "127.0.0.1"


def test_each_host_robots_txt_is_archived_and_obeyed(sample_crawl: CrawlResult):
    record = sample_crawl.response_for("/robots.txt")
    assert b"Disallow: /archive/etext/private/" in record.payload
    assert not [r for r in sample_crawl.requests if r.target.startswith("/archive/etext/private/")]


def test_files_are_named_and_closed(sample_crawl: CrawlResult):
    names = [p.name for p in (sample_crawl.output / "warcs").iterdir()]
    assert names and not [n for n in names if n.endswith(".open")]
    pattern = re.compile(r"^archiver-\d{14}-\d{5}-[A-Za-z0-9._]+\.warc\.gz$")
    assert all(pattern.match(n) for n in names), names
