"""The download handler: HTTP/1.1 over archiver's own connections, recording every byte.

Scrapy's own handler hands back what Twisted parsed: header names re-cased and regrouped, the
reason phrase lost, a chunked body de-chunked, and every body whole in memory. This handler
writes the request and reads the response itself, so the WARC holds exactly the bytes that
went over the wire (archiver.model.exchange), the way Heritrix and warcprox record them:

- the request is the bytes written: request line, Host first (RFC 9110 7.2 asks user agents
  to send it first), then the headers Scrapy's middlewares set, in their order;
- the response is the bytes read, framed by archiver.web.framing, up to the end of the message;
- a body is kept in memory up to ``memory_bytes`` and past that written to a spool file in
  the collection as it arrives, which the archive worker streams into the WARC; the payload
  and block digests are computed here while it arrives, so no process holds a large body;
- Scrapy (the spider, for links and text) gets only the start of the entity, up to the text
  cap, and nothing of a body no one reads (images, audio, video, fonts);
- connections are kept alive and reused per origin; a request on a kept connection that the
  server closed meanwhile is sent again on a new one, as browsers do for idempotent requests;
- https accepts any certificate and old protocol versions: the archive records what was
  served; ``--resolve`` maps a host to an address, ``--block-private-ips`` refuses private
  ones.

A body is cut at ``max_response_size`` (``WARC-Truncated: length``), when the server closes
mid-body (``disconnect``), or when it stalls for the timeout once the head came (``time``); a
server that gives no head in time, no connection or no name is a fetch error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import ssl
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from ipaddress import ip_address
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import SplitResult, urlsplit

from scrapy.http import Headers, Request, Response

from archiver.crawl.options import CrawlOptions
from archiver.crawl.run import Run
from archiver.model.digests import Hash, digest_text, new_hash
from archiver.model.exchange import Body, Exchange, mime_type
from archiver.model.stops import StopReason
from archiver.web.addresses import is_private, parse_rules
from archiver.web.documents import SNIFF_BYTES, UNTYPED, may_be_read
from archiver.web.framing import Delimiting, FramingError, ResponseFramer, ResponseHead
from archiver.web.heads import request_start

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

EXCHANGE_KEY = "archiver_exchange"  # request.meta: the Exchange the handler recorded
# request.meta: from the request going out to the last byte of the answer (Scrapy's own
# download_latency stops at the head). A wait in the downloader's queue is not in it.
FETCH_SECONDS_KEY = "archiver_fetch_seconds"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_IDLE_SECONDS = 30.0  # a kept connection unused this long is closed
_MAX_IDLE_PER_ORIGIN = 8
_DISK_CHECK_BYTES = 64 << 20  # free space is checked again after this much is spooled


class DNSLookupError(OSError):
    """The host's name did not resolve."""


class PrivateAddressRefused(OSError):
    """--block-private-ips: the host resolves to a private, loopback or link-local address."""


class ResponseNeverReceived(OSError):
    """The connection closed before a response head came."""


class LowDisk(OSError):
    """The collection's disk has less free space than --min-free-space."""


class WireDownloadHandler:
    """Scrapy's download handler interface (BaseDownloadHandler) for http and https."""

    lazy = False

    def __init__(
        self,
        *,
        spool: Path,
        resolve: dict[tuple[str, int], str],
        block_private: bool,
        timeout: float,
        max_response_size: int,
        max_text_bytes: int,
        memory_bytes: int,
        min_free_bytes: int,
        keep_bodies: bool = True,
        on_low_disk: Callable[[str], None] = lambda _: None,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.spool = spool
        self.resolve = resolve
        self.block_private = block_private
        self.timeout = timeout
        self.max_response_size = max_response_size  # 0: no limit
        self.max_text_bytes = max_text_bytes
        self.memory_bytes = memory_bytes
        self.min_free_bytes = min_free_bytes
        self.keep_bodies = keep_bodies  # False (--no-warc): nothing past memory_bytes is kept
        self.on_low_disk = on_low_disk
        self.stopping = stopping  # True once the crawl is ending: nothing more is sent
        # While spooling, free space is looked at again after this many bytes: often enough
        # that a body cannot spend the margin between two looks.
        self.disk_check_bytes = min(_DISK_CHECK_BYTES, max(1, min_free_bytes // 4))
        self._idle: defaultdict[tuple[str, str, int], list[_Connection]] = defaultdict(list)
        self._addresses: dict[tuple[str, int], list[str]] = {}
        self._tls = _tls_context()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WireDownloadHandler:
        from archiver.crawl.stopping import hold_back, stop_crawl

        options = CrawlOptions.of(crawler)
        run = Run.of(crawler)
        spool = run.collection.spool
        spool.mkdir(parents=True, exist_ok=True)

        def low_disk(message: str) -> None:
            stop_crawl(crawler, StopReason.DISK_LOW, message)

        return cls(
            spool=spool,
            resolve=parse_rules(options.resolve),
            block_private=options.block_private_ips,
            timeout=crawler.settings.getfloat("DOWNLOAD_TIMEOUT"),
            max_response_size=options.max_response_size,
            max_text_bytes=options.max_text_bytes,
            memory_bytes=options.memory_body_bytes,
            min_free_bytes=options.min_free_space,
            keep_bodies=not options.no_warc,
            on_low_disk=low_disk,
            stopping=lambda: hold_back(crawler),
        )

    async def download_request(self, request: Request) -> Response:
        if self.stopping():
            # What waited in the downloader when the crawl began to stop (up to
            # --concurrency requests, each behind its host's delay) would go out after the
            # stop: it is left for the next run instead.
            from archiver.crawl.stopping import NotSent

            raise NotSent(request.url)
        parts = urlsplit(request.url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        port = parts.port or _DEFAULT_PORTS[scheme]
        timeout = float(request.meta.get("download_timeout") or self.timeout)
        head = _request_head(request, parts)
        body = request.body or b""
        origin = (scheme, host, port)
        started = time.monotonic()
        # The WARC files fill the same disk as the spool: its free space is looked at before
        # every download (one statvfs), not only while a large body is spooled.
        self.check_disk(0)
        sent_at = datetime.now(UTC)
        connection = self._kept(origin)
        if connection is not None:
            try:
                receiving = await self._exchange(connection, head, body, timeout, request)
            except ResponseNeverReceived:
                connection = None  # the server closed it while it was kept: a new one
        if connection is None:
            connection = await self._connect(scheme, host, port, timeout)
            receiving = await self._exchange(connection, head, body, timeout, request)
        request.meta["download_latency"] = receiving.head_at - started
        await receiving.finished()
        request.meta[FETCH_SECONDS_KEY] = time.monotonic() - started
        if receiving.reusable and not connection.closed:
            self._keep(origin, connection)
        else:
            connection.close()
        exchange = receiving.exchange(request.url, sent_at, head, body, connection.address)
        request.meta[EXCHANGE_KEY] = exchange
        return self._response(request, receiving, exchange)

    async def close(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    # -- connections -------------------------------------------------------------------------

    def _kept(self, origin: tuple[str, str, int]) -> _Connection | None:
        kept = self._idle.get(origin)
        now = time.monotonic()
        while kept:
            connection = kept.pop()
            if not connection.closed and now - connection.idle_since < _IDLE_SECONDS:
                return connection
            connection.close()
        return None

    def _keep(self, origin: tuple[str, str, int], connection: _Connection) -> None:
        kept = self._idle[origin]
        if len(kept) >= _MAX_IDLE_PER_ORIGIN:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        kept.append(connection)

    async def _connect(self, scheme: str, host: str, port: int, timeout: float) -> _Connection:
        loop = asyncio.get_running_loop()
        addresses = await self._addresses_of(host, port, timeout)
        failure: OSError | None = None
        for address in addresses:
            try:
                async with asyncio.timeout(timeout):
                    _, connection = await loop.create_connection(
                        lambda address=address: _Connection(address),
                        address,
                        port,
                        ssl=self._tls if scheme == "https" else None,
                        server_hostname=_sni(host) if scheme == "https" else None,
                    )
                return connection
            except TimeoutError:
                failure = TimeoutError(f"connecting to {host}:{port} ({address}) took too long")
            except (OSError, ssl.SSLError) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def _addresses_of(self, host: str, port: int, timeout: float) -> list[str]:
        mapped = self.resolve.get((host, port))
        if mapped is not None:  # --resolve: the operator chose it; never refused
            return [mapped]
        known = self._addresses.get((host, port))
        if known is not None:
            return known
        try:
            async with asyncio.timeout(timeout):
                found = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM
                )
        except TimeoutError:
            raise DNSLookupError(f"looking up {host} took too long") from None
        except socket.gaierror as exc:
            raise DNSLookupError(f"{host}: {exc.strerror}") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        if self.block_private:
            allowed = [a for a in addresses if not is_private(a)]
            if not allowed:
                logger.warning(
                    "refusing %s: it resolves to %s, a private address", host, addresses[0]
                )
                raise PrivateAddressRefused(f"{host} resolves to a private address")
            addresses = allowed
        self._addresses[(host, port)] = addresses
        return addresses

    # -- one exchange ------------------------------------------------------------------------

    async def _exchange(
        self,
        connection: _Connection,
        head: bytes,
        body: bytes,
        timeout: float,
        request: Request,
    ) -> _Receiving:
        receiving = _Receiving(self, connection, timeout, request)
        connection.start(receiving)
        connection.write(head + body if body else head)
        await receiving.headed()
        return receiving

    def _response(self, request: Request, receiving: _Receiving, exchange: Exchange) -> Response:
        head = receiving.head
        assert head is not None
        # Scrapy's Headers, filled without its per-value normalizing (the values are bytes
        # already); names are title-cased as Headers.normkey does, so lookups find them.
        grouped: dict[bytes, list[bytes]] = {}
        for name, value in head.headers:
            grouped.setdefault(name.title(), []).append(value)
        headers = Headers()
        for name, values in grouped.items():
            dict.__setitem__(headers, name, values)
        flags = [f"truncated-{exchange.truncated}"] if exchange.truncated else []
        # A plain Response: the spider reads bytes and headers, never Scrapy's text helpers,
        # and telling HTML from XML for a response class costs a lookup per answer.
        response = Response(
            url=request.url,
            status=head.status,
            body=receiving.entity_start(),
            flags=flags,
            ip_address=ip_address(exchange.ip_address) if exchange.ip_address else None,
            protocol=f"HTTP/{head.version[0]}.{head.version[1]}",
        )
        # Set after: Response(headers=...) would copy them through that normalizing again.
        response.headers = headers
        return response

    # -- the spool ---------------------------------------------------------------------------

    def spool_file(self) -> tuple[IO[bytes], Path]:
        self.check_disk(0)
        descriptor, name = tempfile.mkstemp(prefix="body-", suffix=".spool", dir=self.spool)
        return os.fdopen(descriptor, "wb"), Path(name)

    def check_disk(self, coming: int) -> None:
        if not self.min_free_bytes:
            return
        free = shutil.disk_usage(self.spool).free
        if free - coming < self.min_free_bytes:
            message = (
                f"only {free // (1 << 20)} MiB free on the collection's disk, less than "
                f"--min-free-space; the run stops so that the files written stay complete"
            )
            self.on_low_disk(message)
            raise LowDisk(message)


def _request_head(request: Request, parts: SplitResult) -> bytes:
    """The request as written: request line, Host, then Scrapy's headers in their order.
    ``parts``: the request's URL, split once for the whole download."""
    lines = request_start(request.method, parts)
    # dict.items: Headers.items() builds each value list again through getlist.
    for name, values in dict.items(request.headers):
        if name.lower() == b"host":
            continue
        lines.extend(name + b": " + value for value in values)
    if request.body and b"Content-Length" not in request.headers:
        lines.append(b"Content-Length: " + str(len(request.body)).encode("ascii"))
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _sni(host: str) -> str | None:
    """The TLS server name: never an address literal (RFC 6066 3)."""
    try:
        ip_address(host.strip("[]"))
    except ValueError:
        return host
    return None


def _tls_context() -> ssl.SSLContext:
    """Any certificate, any protocol version the server speaks: old sites have expired and
    self-signed certificates and old TLS, and the archive records what was served."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with contextlib.suppress(ssl.SSLError, ValueError):
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        context.set_ciphers("ALL:@SECLEVEL=0")
    context.options |= getattr(ssl, "OP_LEGACY_SERVER_CONNECT", 0)
    context.set_alpn_protocols(["http/1.1"])
    return context


class _Connection(asyncio.Protocol):
    """One connection: hands what it reads to the exchange it carries now."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.transport: asyncio.Transport | None = None
        self.receiving: _Receiving | None = None
        self.closed = False
        self.idle_since = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def start(self, receiving: _Receiving) -> None:
        self.receiving = receiving

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        if self.receiving is None or self.receiving.complete:
            # Bytes no request asked for: not this archive's to keep; the connection is done.
            self.close()
            return
        self.receiving.feed(data)

    def eof_received(self) -> bool:
        return False  # close the transport: HTTP/1.1 does not half-close

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.receiving is not None and not self.receiving.complete:
            self.receiving.lost(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class _Receiving:
    """One response as it arrives: framed, digested, kept in memory or spooled."""

    def __init__(
        self,
        handler: WireDownloadHandler,
        connection: _Connection,
        timeout: float,
        request: Request,
    ) -> None:
        self.handler = handler
        self.connection = connection
        self.timeout = timeout
        self.url = request.url
        self.framer = ResponseFramer(
            method=request.method.encode("ascii"), max_body=handler.max_response_size
        )
        self.head: ResponseHead | None = None
        self.head_at = 0.0
        self.complete = False
        self.truncated: str | None = None
        self.reusable = False
        self._loop = asyncio.get_running_loop()
        self._head_ready: asyncio.Future[None] = self._loop.create_future()
        self._done: asyncio.Future[None] = self._loop.create_future()
        self._last = time.monotonic()
        self._watch = self._loop.call_later(timeout, self._watchdog)
        self._block_hash: Hash = new_hash()
        self._payload_hash: Hash = new_hash()
        self.payload_length = 0
        self._memory: bytearray | None = bytearray()
        self._spool: IO[bytes] | None = None
        self._spool_path: Path | None = None
        self._spooled_since_check = 0
        self.body_length = 0
        self._start: list[bytes] = []  # the entity's first bytes, for Scrapy
        self._start_length = 0
        self._start_cap = handler.max_text_bytes
        self._mime = "unk"
        self._sniffing = False  # an untyped body: its first bytes decide how much is kept
        self._kept: bytes | None = None  # the body, once handed on, when it stayed in memory

    # -- fed by the connection -----------------------------------------------------------

    def feed(self, data: bytes) -> None:
        self._last = time.monotonic()
        try:
            piece = self.framer.feed(data)
        except FramingError as exc:
            self._fail(exc)
            return
        if piece.head is not None:
            self._headed(piece.head)
        if piece.raw_body:
            self._take(piece.raw_body, piece.entity)
        if piece.cut:
            self._cut("length")
        elif piece.done:
            self.reusable = self.head is not None and self.head.keep_alive and not piece.rest
            self._finish()

    def lost(self, exc: Exception | None) -> None:
        if self.head is None:
            why = f": {exc}" if exc else ""
            self._fail(ResponseNeverReceived(f"the connection closed before a response{why}"))
        elif self.framer.close():
            self._finish()  # a body delimited by the close
        else:
            self._cut("disconnect")

    def _headed(self, head: ResponseHead) -> None:
        self.head = head
        self.head_at = time.monotonic()
        self._block_hash.update(head.raw)
        content_type = head.values(b"content-type")
        self._mime = mime_type(content_type[-1].decode("latin-1") if content_type else None)
        if self._mime in UNTYPED:
            # Told by its first bytes: a large file served as application/octet-stream
            # keeps no more than those in memory once they show nothing will read it. (A
            # content-encoded one cannot be told before decoding: it keeps its start.)
            self._sniffing = not head.values(b"content-encoding")
        elif not may_be_read(self._mime, b""):
            self._start_cap = SNIFF_BYTES  # enough for Scrapy to tell what it is
        if not self._head_ready.done():
            self._head_ready.set_result(None)

    @property
    def framer_chunked(self) -> bool:
        return self.head is not None and self.head.delimiting is Delimiting.CHUNKED

    def _take(self, raw: bytes, entity: list[bytes]) -> None:
        self.body_length += len(raw)
        self._block_hash.update(raw)
        for part in entity:
            self._payload_hash.update(part)
            self.payload_length += len(part)
            room = self._start_cap - self._start_length
            if room > 0:
                kept = part if len(part) <= room else part[:room]
                self._start.append(kept)
                self._start_length += len(kept)
        if self._sniffing and self._start_length >= SNIFF_BYTES:
            self._sniff()
        self._store(raw)

    def _sniff(self) -> None:
        self._sniffing = False
        start = b"".join(self._start)
        if not may_be_read(self._mime, start[:SNIFF_BYTES]):
            self._start, self._start_length = [start[:SNIFF_BYTES]], SNIFF_BYTES
            self._start_cap = SNIFF_BYTES

    def _store(self, raw: bytes) -> None:
        if self._memory is not None:
            if len(self._memory) + len(raw) <= self.handler.memory_bytes:
                self._memory += raw
                return
            if not self.handler.keep_bodies:
                return  # --no-warc: what would be spooled is not kept at all
            try:
                self._spool, self._spool_path = self.handler.spool_file()
            except OSError as exc:
                self._fail(exc)
                return
            self._spool.write(self._memory)
            self._memory = None
        if self._spool is None:
            return
        try:
            self._spool.write(raw)
            self._spooled_since_check += len(raw)
            if self._spooled_since_check >= self.handler.disk_check_bytes:
                self._spooled_since_check = 0
                self.handler.check_disk(0)
        except OSError as exc:
            self._fail(exc)

    # -- endings -------------------------------------------------------------------------

    def _cut(self, reason: str) -> None:
        self.truncated = reason
        self.reusable = False
        self.connection.close()
        self._finish()

    def _finish(self) -> None:
        if self.complete:
            return
        self.complete = True
        self._watch.cancel()
        if self._spool is not None:
            self._spool.close()
        if not self._head_ready.done():
            self._head_ready.set_result(None)
        if not self._done.done():
            self._done.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        if self.complete:
            return
        self.complete = True
        self._watch.cancel()
        self.connection.close()
        self._discard()
        for future in (self._head_ready, self._done):
            if not future.done():
                future.set_exception(exc)
                future.exception()  # retrieved: whichever is not awaited logs nothing

    def _watchdog(self) -> None:
        if self.complete:
            return
        idle = time.monotonic() - self._last
        if idle < self.timeout:
            self._watch = self._loop.call_later(self.timeout - idle, self._watchdog)
        elif self.head is None:
            self._fail(TimeoutError(f"no response within {self.timeout:g} s"))
        else:
            self._cut("time")

    def _discard(self) -> None:
        if self._spool is not None:
            self._spool.close()
        if self._spool_path is not None:
            with contextlib.suppress(FileNotFoundError):
                self._spool_path.unlink()
            self._spool_path = None

    # -- awaited by the handler ----------------------------------------------------------

    async def headed(self) -> None:
        await self._head_ready

    async def finished(self) -> None:
        await self._done

    def entity_start(self) -> bytes:
        """The entity's start, for Scrapy. When it is the whole body as kept in memory (not
        chunked, not cut by the text cap), the very same bytes object: the capture then
        carries it to the archive worker once, not twice (pickle keeps one copy of an object
        it meets twice)."""
        kept = self._kept
        if kept is not None and not self.framer_chunked and self._start_length == len(kept):
            return kept
        return self._start[0] if len(self._start) == 1 else b"".join(self._start)

    def exchange(
        self, url: str, sent_at: datetime, request_head: bytes, request_body: bytes, address: str
    ) -> Exchange:
        head = self.head
        assert head is not None
        if self._spool_path is not None:
            body = Body(b"", self._spool_path, self.body_length)
        else:
            self._kept = bytes(self._memory) if self._memory is not None else b""
            body = Body.of(self._kept)
            if not self.handler.keep_bodies:
                body.length = self.body_length
        content_type = head.values(b"content-type")
        return Exchange(
            url=url,
            date=sent_at,
            request_head=request_head,
            request_body=request_body,
            response_head=head.raw,
            response_body=body,
            status=head.status,
            ip_address=address,
            content_type=content_type[-1].decode("latin-1") if content_type else None,
            payload_digest=digest_text(self._payload_hash),
            payload_length=self.payload_length,
            block_digest=digest_text(self._block_hash),
            chunked=self.framer_chunked,
            truncated=self.truncated,
            interim_heads=b"".join(self.framer.interim),
        )
