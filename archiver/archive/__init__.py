"""The archive worker process and its typed protocol; never imports Scrapy, Twisted or argparse."""
