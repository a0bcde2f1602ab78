"""What a crawl may fetch: pages under the scope prefixes, and the requisites those pages need."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from archiver.model.errors import ConfigError
from archiver.web.urls import hostname, is_http, normalize


def default_prefix(seed: str) -> str:
    """The seed's scheme, host and folder: ``http://h/a/b.html`` gives ``http://h/a/``."""
    norm = normalize(seed)
    parts = urlsplit(norm)
    folder = parts.path[: parts.path.rfind("/") + 1] or "/"
    return f"{parts.scheme}://{parts.netloc}{folder}"


@dataclass(frozen=True, slots=True)
class Scope:
    prefixes: tuple[str, ...]
    allow_hosts: frozenset[str] = frozenset()
    exclude: tuple[re.Pattern[str], ...] = ()
    # Hosts a requisite may come from without being under a prefix.
    _hosts: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        hosts = {hostname(p) for p in self.prefixes} | set(self.allow_hosts)
        object.__setattr__(self, "_hosts", frozenset(hosts))

    @classmethod
    def build(
        cls,
        seeds: Sequence[str],
        prefixes: Iterable[str] = (),
        allow_hosts: Iterable[str] = (),
        exclude: Iterable[str] = (),
    ) -> Scope:
        for url in [*seeds, *prefixes]:
            if not is_http(url) or not urlsplit(url).hostname:
                raise ConfigError(
                    f"{url!r} is not an http(s) URL; give a full URL like http://host/path/"
                )
        chosen = [normalize(p) for p in prefixes] or [default_prefix(s) for s in seeds]
        patterns = []
        for pattern in exclude:
            try:
                patterns.append(re.compile(pattern))
            except re.error as exc:
                raise ConfigError(
                    f"--exclude {pattern!r} is not a valid regular expression: {exc}"
                ) from exc
        return cls(
            prefixes=tuple(dict.fromkeys(chosen)),
            allow_hosts=frozenset(h.lower() for h in allow_hosts),
            exclude=tuple(patterns),
        )

    def with_prefix(self, prefix: str) -> Scope:
        """This scope plus one more prefix (a seed's redirect target becomes a seed)."""
        return Scope((*self.prefixes, normalize(prefix)), self.allow_hosts, self.exclude)

    def excluded(self, url: str) -> bool:
        return any(p.search(url) for p in self.exclude)

    def allows_page(self, url: str) -> bool:
        if not is_http(url) or self.excluded(url):
            return False
        if hostname(url) in self.allow_hosts:
            return True
        norm = normalize(url)
        return any(norm.startswith(p) for p in self.prefixes)

    def allows_requisite(self, url: str, page_url: str) -> bool:
        """Requisites of an in-scope page may sit outside the path prefix on an in-scope host
        or the page's own host: without them the page does not replay as it looked."""
        if not is_http(url) or self.excluded(url):
            return False
        host = hostname(url)
        return host in self._hosts or host == hostname(page_url) or self.allows_page(url)
