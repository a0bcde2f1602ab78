"""archiver/web/framing.py: responses framed byte for byte, whatever pieces they come in."""

from __future__ import annotations

import pytest

from archiver.web.framing import Delimiting, FramingError, ResponseFramer, dechunk, parse_head

CHUNKED = (
    b"HTTP/1.1 200 Fine Thanks\r\nTransfer-Encoding: chunked\r\nX-Odd:  spaced \r\n\r\n"
    b"5;name=value\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\n"
)


def frame(data: bytes, pieces: int, **kwargs: object) -> tuple[ResponseFramer, bytes, bytes, bytes]:
    """Feed ``data`` in ``pieces`` roughly equal parts: (framer, head+body, entity, rest)."""
    framer = ResponseFramer(**kwargs)  # type: ignore[arg-type]
    step = max(1, len(data) // pieces)
    raw, entity, rest = b"", b"", b""
    for start in range(0, len(data), step):
        piece = framer.feed(data[start : start + step])
        if piece.head is not None:
            raw += piece.head.raw
        raw += piece.raw_body
        entity += b"".join(piece.entity)
        rest += piece.rest
    return framer, raw, entity, rest


@pytest.mark.parametrize("pieces", [1, 3, 17, len(CHUNKED)])
def test_chunked_bodies_keep_their_framing_and_give_their_entity(pieces: int):
    framer, raw, entity, rest = frame(CHUNKED + b"NEXT", pieces)
    assert framer.done and raw == CHUNKED and rest == b"NEXT"
    assert entity == b"hello, world"
    assert framer.head is not None and framer.head.reason == b"Fine Thanks"
    assert framer.head.values(b"x-odd") == [b"spaced"]


def test_a_content_length_body_ends_at_its_length_and_the_rest_is_not_its():
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nETag: x\r\n\r\nabcdef"
    framer, raw, entity, rest = frame(data, 5)
    assert framer.done and raw == data[:-3] and entity == b"abc" and rest == b"def"
    assert framer.head is not None and framer.head.keep_alive


def test_an_http_1_0_body_runs_to_the_close():
    data = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"
    framer, raw, entity, _ = frame(data, 4)
    assert not framer.done and framer.close()
    assert raw == data and entity == b"until the end"
    assert framer.head is not None and not framer.head.keep_alive
    assert framer.head.delimiting is Delimiting.CLOSE


def test_a_body_cut_by_the_server_is_not_complete():
    framer, _, entity, _ = frame(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 1)
    assert entity == b"abc" and not framer.close()


def test_bodiless_answers_end_with_their_head():
    for status in (b"304 Not Modified", b"204 No Content"):
        framer, raw, _, rest = frame(b"HTTP/1.1 " + status + b"\r\nETag: a\r\n\r\nX", 1)
        assert framer.done and raw.endswith(b"\r\n\r\n") and rest == b"X"


def test_lenient_heads_bare_lf_folding_empty_reason_non_ascii():
    data = b"HTTP/1.1 404 \nX-Folded: one\n  two\nX-Name: caf\xe9\nContent-Length: 0\n\n"
    framer, raw, _, _ = frame(data, 2)
    head = framer.head
    assert framer.done and raw == data and head is not None
    assert (head.status, head.reason) == (404, b"")
    assert head.values(b"x-folded") == [b"one two"]
    assert head.values(b"x-name") == [b"caf\xe9"]


def test_interim_answers_come_before_the_final_one():
    early = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
    data = early + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    framer, raw, entity, _ = frame(data, 3)
    assert framer.done and entity == b"ok" and raw.startswith(b"HTTP/1.1 200 OK")
    assert framer.interim == [early]


def test_max_body_cuts_exactly_with_the_entity_of_what_was_kept():
    kept = len(b"5;name=value\r\nhel")
    framer, raw, entity, _ = frame(CHUNKED, 1, max_body=kept)
    head_length = CHUNKED.index(b"\r\n\r\n") + 4
    assert raw == CHUNKED[: head_length + kept]
    assert entity == b"hel"  # the chunk data within the kept bytes, none of the framing
    assert not framer.done


@pytest.mark.parametrize(
    "data",
    [
        b"<html>not a response</html>\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_what_cannot_be_framed_is_a_framing_error(data: bytes):
    with pytest.raises(FramingError):
        frame(data, 1)


def test_dechunk_and_parse_head():
    assert dechunk(CHUNKED[CHUNKED.index(b"\r\n\r\n") + 4 :]) == b"hello, world"
    head = parse_head(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")
    assert head.keep_alive and head.version == (1, 0)
