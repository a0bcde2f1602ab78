"""The crawl process: the only room that imports Scrapy or Twisted."""
