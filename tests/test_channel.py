"""The worker's messages to the crawl process (archiver/channel.py): never a blocked sender,
never half a message."""

from __future__ import annotations

import contextlib
import os
import pickle
import struct
import threading
from collections.abc import Iterator

import pytest

from archiver.archive.channel import Inbox, Outbox

PIPE_BYTES = 65_536  # Linux's default pipe capacity


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read, write = os.pipe()
    yield read, write
    for fd in (read, write):
        with contextlib.suppress(OSError):  # closed by the test
            os.close(fd)


def test_the_sender_never_waits_for_a_reader(pipe: tuple[int, int]):
    read, write = pipe
    outbox, inbox = Outbox(write), Inbox(read)
    big = b"x" * (4 * PIPE_BYTES)
    sent = [("links", n, big) for n in range(3)]
    for message in sent:
        outbox.send(message)  # returns although nobody reads: the rest waits in the outbox
    assert outbox.pending
    received = []
    while len(received) < len(sent):
        received += inbox.receive()  # the reader takes what has come...
        outbox.flush()  # ...and the pipe takes more
    assert received == sent
    assert not outbox.pending


def test_only_whole_messages_are_received(pipe: tuple[int, int]):
    read, write = pipe
    inbox = Inbox(read)
    data = pickle.dumps(("sync",))
    frame = struct.pack("!I", len(data)) + data
    os.write(write, frame[:3])
    assert inbox.receive() == []
    os.write(write, frame[3:-1])
    assert inbox.receive() == []
    os.write(write, frame[-1:] + frame)
    assert inbox.receive() == [("sync",), ("sync",)]


def test_waiting_returns_when_a_message_comes_or_the_sender_ends(pipe: tuple[int, int]):
    read, write = pipe
    outbox, inbox = Outbox(write), Inbox(read)
    later = threading.Timer(0.2, outbox.send, [("ready",)])
    later.start()
    assert inbox.receive(wait=True) == [("ready",)]
    later.join()
    outbox.send(("closed", None))
    outbox.close()  # everything written, then the end
    assert inbox.receive(wait=True) == [("closed", None)]
    assert inbox.receive(wait=True) == [] and inbox.ended


def test_a_sender_whose_reader_is_gone_carries_on(pipe: tuple[int, int]):
    read, write = pipe
    outbox = Outbox(write)
    os.close(read)
    outbox.send(("links", "http://example.com/", 1, []))  # EPIPE: not raised
    assert outbox.closed and not outbox.pending
    outbox.drain()  # returns at once
