"""Bytes to text, links, URLs and HTTP heads; no Scrapy, no Twisted, no disk."""
