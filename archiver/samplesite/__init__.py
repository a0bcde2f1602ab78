"""A bundled replica of an old static site, and the local server tests crawl it through."""

from archiver.samplesite.requestlog import LoggedRequest
from archiver.samplesite.server import SITE_ROOT, SampleSiteServer

__all__ = ["SITE_ROOT", "LoggedRequest", "SampleSiteServer"]
