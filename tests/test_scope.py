"""Scope rules, and the real target's spider (not run: no internet; its scope is checked here)."""

from __future__ import annotations

import pytest
from scrapy.settings import Settings

from archiver.crawl.options import CrawlOptions
from archiver.web.scope import Scope, default_prefix
from spiders.mim_etext import MimEtextSpider


def test_default_scope_is_the_seed_folder():
    assert default_prefix("http://Host:80/a/b.html") == "http://host/a/"
    assert default_prefix("https://host:8443") == "https://host:8443/"


def test_pages_need_a_prefix_but_requisites_may_come_from_the_page_host():
    scope = Scope.build(["http://site.test/archive/etext/"])
    page = "http://site.test/archive/etext/index.html"
    assert scope.allows_page(page)
    assert not scope.allows_page("http://site.test/about.html")
    assert scope.allows_requisite("http://site.test/css/site.css", page)
    assert not scope.allows_requisite("http://cdn.test/x.css", page)
    # Another scheme is another site unless the operator adds its prefix.
    assert not scope.allows_page("https://site.test/archive/etext/")


def test_allow_host_and_exclude():
    scope = Scope.build(["http://site.test/a/"], allow_hosts=["Other.test"], exclude=[r"\.pdf$"])
    assert scope.allows_page("http://other.test/anything")
    assert not scope.allows_page("http://site.test/a/doc.pdf")
    assert not scope.allows_requisite("http://site.test/a/doc.pdf", "http://site.test/a/")


def _mim_scope() -> Scope:
    spider = MimEtextSpider()
    settings = Settings()
    settings.setmodule("archiver.crawl.settings")
    _, scope = spider.resolve_scope(CrawlOptions.from_settings(settings))
    return scope


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("host", ["www.prisoncensorship.info", "prisoncensorship.info"])
def test_mim_etext_spans_both_hosts_and_schemes_under_the_prefix(scheme: str, host: str):
    scope = _mim_scope()
    assert scope.allows_page(f"{scheme}://{host}/archive/etext/theory/index.html")
    assert not scope.allows_page(f"{scheme}://{host}/other/")


def test_mim_etext_seed():
    assert MimEtextSpider.start_urls == ["https://www.prisoncensorship.info/archive/etext/"]
    assert MimEtextSpider.name == "mim_etext"
