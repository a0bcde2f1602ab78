"""One record per HTTP request the sample site received, for tests to compare with WARCs."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass
class LoggedRequest:
    """A request as it arrived and the response status and body that went back.

    `headers` keep the received order and name case; values are latin-1 decoded so any raw byte
    round-trips. `body_sha1` is the hex SHA-1 of the entity body actually sent, after chunked
    framing is removed (the gzip bytes for gzip responses, empty for HEAD and 304).
    `timestamp` is seconds since the epoch when the response started.
    """

    method: str
    target: str
    host: str
    headers: list[tuple[str, str]]
    status: int
    body_sha1: str
    timestamp: float
    client: str = ""  # "ip:port" of the TCP connection, so keep-alive reuse can be checked

    def header(self, name: str) -> str | None:
        """The first value of a request header, matched case-insensitively."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> LoggedRequest:
        data = json.loads(line)
        data["headers"] = [(name, value) for name, value in data["headers"]]
        return cls(**data)
