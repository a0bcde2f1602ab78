"""archiver: a web-archiving crawler that writes faithful WARC/1.1 files.

Scrapy fetches, item pipelines normalize and deduplicate, warcio writes the records, and a
manifest of extracted text and a CDXJ index are written beside them.
"""

import os

__version__ = "0.1.0"

# Scrapy's cookie middleware builds a tldextract extractor at import time, and tldextract's
# default is to download the Public Suffix List from the internet. An archiver must not make
# traffic the operator did not ask for (and tests must never leave loopback), so point it at
# nothing: tldextract then uses the snapshot bundled with the package. An operator who wants a
# fresher list can still set the variable explicitly.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
