"""The digest form of every WARC record and index line: sha1, in base32 (what CDX tools and
pywb expect), one algorithm for the whole collection."""

from __future__ import annotations

import hashlib
from base64 import b32encode
from typing import Protocol


class Hash(Protocol):
    """What hashlib's objects are: fed as bytes arrive, read once at the end."""

    def update(self, data: bytes | memoryview, /) -> None: ...
    def digest(self) -> bytes: ...


def new_hash() -> Hash:
    return hashlib.sha1()


def digest_text(hash_: Hash) -> str:
    """``sha1:BASE32`` of what was fed to ``hash_``."""
    return "sha1:" + b32encode(hash_.digest()).decode("ascii")


def sha1_digest(*parts: bytes | memoryview) -> str:
    """sha1 of the parts, in base32."""
    hash_ = new_hash()
    for part in parts:
        hash_.update(part)
    return digest_text(hash_)


EMPTY_DIGEST = sha1_digest(b"")  # of an empty payload (a request's, mostly)
