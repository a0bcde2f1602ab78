"""``--resolve HOST:PORT:ADDR``: connect to ADDR for URLs on HOST:PORT, as curl does.

The URL, the Host header and the WARC keep the real name; only the socket goes elsewhere.
This is how rehearsals and tests point real hostnames at loopback without touching DNS.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import (
    IAddress,
    IHostnameResolver,
    IHostResolution,
    IResolutionReceiver,
)
from zope.interface import implementer

from archiver.crawl.options import CrawlOptions
from archiver.web.addresses import is_private, parse_rules

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


@implementer(IResolutionReceiver)
class _PublicOnly:
    """Passes on only public addresses (--block-private-ips): a page linking to
    http://192.168.1.1/ or a name resolving to 127.0.0.1 gets no connection at all."""

    def __init__(self, receiver: IResolutionReceiver, host: str) -> None:
        self.receiver = receiver
        self.host = host

    def resolutionBegan(self, resolution: IHostResolution) -> None:
        self.receiver.resolutionBegan(resolution)

    def addressResolved(self, address: IAddress) -> None:
        host = getattr(address, "host", "")
        if host and is_private(host):
            logger.warning("refusing %s: it resolves to %s, a private address", self.host, host)
            return
        self.receiver.addressResolved(address)

    def resolutionComplete(self) -> None:
        self.receiver.resolutionComplete()


@implementer(IHostResolution)
class _Resolution:
    def __init__(self, name: str) -> None:
        self.name = name

    def cancel(self) -> None:  # resolution is synchronous; nothing to cancel
        pass


@implementer(IHostnameResolver)
class MappedResolver:
    """A Twisted name resolver that answers mapped (host, port) pairs itself.

    Unmapped names go to the resolver the reactor had before, so a crawl without
    ``--resolve`` behaves exactly as stock Scrapy.
    """

    def __init__(
        self, reactor: object, rules: dict[tuple[str, int], str], *, block_private: bool = False
    ) -> None:
        self.reactor = reactor
        self.rules = rules
        self.block_private = block_private
        self.original: IHostnameResolver = reactor.nameResolver  # type: ignore[attr-defined]

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: object) -> MappedResolver:
        # Scrapy builds the resolver with the CrawlerProcess, whose settings are the process's.
        options = CrawlOptions.from_settings(crawler.settings)
        return cls(reactor, parse_rules(options.resolve), block_private=options.block_private_ips)

    def install_on_reactor(self) -> None:
        self.reactor.installNameResolver(self)  # type: ignore[attr-defined]

    # Twisted's interface names, which callers pass by keyword (portNumber=...).
    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        address = self.rules.get((hostName.lower(), portNumber))
        if address is None:
            receiver = resolutionReceiver
            if self.block_private:
                receiver = _PublicOnly(resolutionReceiver, hostName)
            return self.original.resolveHostName(
                receiver, hostName, portNumber, addressTypes, transportSemantics
            )
        resolution = _Resolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)
        family = IPv6Address if ":" in address else IPv4Address
        resolutionReceiver.addressResolved(family("TCP", address, portNumber))
        resolutionReceiver.resolutionComplete()
        return resolution
