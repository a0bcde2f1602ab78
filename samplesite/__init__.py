"""A bundled replica of an old static site, and the local server tests crawl it through."""

from samplesite.requestlog import LoggedRequest
from samplesite.server import SITE_ROOT, SampleSiteServer

__all__ = ["SITE_ROOT", "LoggedRequest", "SampleSiteServer"]
