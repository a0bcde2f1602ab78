"""The generic spider: `scrapy crawl archive -a seeds=URL[,URL] -s ARCHIVER_OUTPUT=DIR`."""

from archiver.crawl.spider import ArchiveSpider


class GenericArchiveSpider(ArchiveSpider):
    # Scrapy lists only spiders defined in its spider modules, hence this subclass.
    name = "archive"
