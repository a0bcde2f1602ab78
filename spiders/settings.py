"""The Scrapy project of the site spiders: archiver's crawl settings, with this folder's spiders.

``scrapy.cfg`` names this module, so ``scrapy crawl mim_etext`` run from the repository
captures exactly as ``archiver crawl`` does.
"""

from archiver.crawl.settings import *  # noqa: F403

SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"
