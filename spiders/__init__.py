"""Site spiders: each names a site's seeds and scope; the crawl itself is ArchiveSpider's."""
