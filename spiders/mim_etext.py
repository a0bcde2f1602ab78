"""The MIM etext archive, the first real target: static HTML from 1995-2008.

The same pages are served under http and https and under www. and the bare host, so all four
are in scope, under /archive/etext/ only. Not run by the tests (no internet there): the
generic crawl it uses is tested against the bundled replica of the site.
"""

from typing import ClassVar

from archiver.crawl.spider import ArchiveSpider

_HOSTS = ("www.prisoncensorship.info", "prisoncensorship.info")


class MimEtextSpider(ArchiveSpider):
    name = "mim_etext"
    start_urls: ClassVar[list[str]] = ["https://www.prisoncensorship.info/archive/etext/"]
    scope_prefixes: ClassVar[list[str]] = [
        f"{scheme}://{host}/archive/etext/" for scheme in ("https", "http") for host in _HOSTS
    ]
