"""Messages from the archive worker to the crawl process: pickled, framed, never blocking.

Both processes send to each other, and a pipe holds little. If each could block on a full
pipe, each could wait on the other for ever: the crawl process sending a capture while the
worker sends back the links of an earlier one. So this direction never blocks the worker:
what the pipe cannot take yet waits in ``Outbox`` and goes when the pipe has room; and the
crawl process reads whatever has come, whole messages or parts (``Inbox``), without waiting
for the rest. The worker, never blocked, keeps reading captures, and the crawl's sends go on.

A frame is a 4-byte big-endian length and a pickle.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
from typing import Any

_LENGTH = struct.Struct("!I")
_READ_BYTES = 1 << 16


class Outbox:
    """The worker's sending end. ``send`` queues and writes what the pipe takes now."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        os.set_blocking(fd, False)
        self._pending = bytearray()
        self.closed = False  # the crawl process is gone: what is sent goes nowhere

    @property
    def pending(self) -> bool:
        """Bytes wait for room in the pipe: ``flush`` when ``fd`` is writable."""
        return bool(self._pending)

    def send(self, message: Any) -> None:
        data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
        self._pending += _LENGTH.pack(len(data))
        self._pending += data
        self.flush()

    def flush(self) -> None:
        """Write what the pipe takes now."""
        while self._pending and not self.closed:
            try:
                written = os.write(self.fd, self._pending)
            except BlockingIOError:
                return
            except OSError:  # EPIPE: the reader is gone; the worker learns so from its input
                self.closed = True
                self._pending.clear()
                return
            del self._pending[:written]

    def drain(self) -> None:
        """Write everything, waiting for room as long as it takes (at the end)."""
        while self._pending and not self.closed:
            select.select([], [self.fd], [])
            self.flush()

    def close(self) -> None:
        self.drain()
        os.close(self.fd)


class Inbox:
    """The crawl process's receiving end: whole messages, in order, as they come."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        os.set_blocking(fd, False)
        self._buffer = bytearray()
        self.ended = False  # the worker's end is closed: nothing more will come

    def receive(self, *, wait: bool = False) -> list[Any]:
        """The messages that have come whole; with ``wait``, at least one unless it ended."""
        messages = self._read()
        while wait and not messages and not self.ended:
            select.select([self.fd], [], [])
            messages = self._read()
        return messages

    def _read(self) -> list[Any]:
        while not self.ended:
            try:
                chunk = os.read(self.fd, _READ_BYTES)
            except BlockingIOError:
                break
            if not chunk:
                self.ended = True
            self._buffer += chunk
        messages = []
        start = 0
        while len(self._buffer) - start >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(self._buffer, start)
            end = start + _LENGTH.size + length
            if len(self._buffer) < end:
                break
            messages.append(pickle.loads(memoryview(self._buffer)[start + _LENGTH.size : end]))
            start = end
        del self._buffer[:start]
        return messages

    def close(self) -> None:
        os.close(self.fd)
