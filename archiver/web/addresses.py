"""Where a host's connections go: ``--resolve HOST:PORT:ADDR`` rules, as curl reads them, and
which addresses are not the public web (``--block-private-ips``)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from archiver.model.errors import ConfigError


@dataclass(frozen=True, slots=True)
class ResolveRule:
    host: str
    port: int
    address: str

    @classmethod
    def parse(cls, text: str) -> ResolveRule:
        host, sep1, rest = text.partition(":")
        port_text, sep2, address = rest.partition(":")
        if not (sep1 and sep2 and host and port_text and address):
            raise ConfigError(
                f"--resolve {text!r} is not HOST:PORT:ADDR "
                "(for example sample.archiver.test:8000:127.0.0.1)"
            )
        try:
            port = int(port_text)
            if not 0 < port < 65536:
                raise ValueError
        except ValueError:
            raise ConfigError(f"--resolve {text!r}: port {port_text!r} is not 1-65535") from None
        address = address.strip("[]")
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ConfigError(f"--resolve {text!r}: {address!r} is not an IP address") from None
        return cls(host.lower(), port, address)


def parse_rules(texts: Iterable[str]) -> dict[tuple[str, int], str]:
    return {(r.host, r.port): r.address for r in map(ResolveRule.parse, texts)}


def is_private(address: str) -> bool:
    """Private, loopback, link-local, unspecified or reserved: not the public web."""
    ip = ipaddress.ip_address(address)
    return not ip.is_global or ip.is_multicast
