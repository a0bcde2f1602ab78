"""Independent checking tools for the archiver's tests.

``validators`` runs external WARC validators (gzip, warcio, FastWARC, warcat) as
subprocesses; ``pywb`` replays WARCs in a real pywb ``wayback`` server.  Neither
uses the archiver's own code, so they can catch mistakes the archiver would
happily agree with.
"""

# Import as ``tests.harness``.  That relies on tests/__init__.py and on pytest putting the
# project root first on sys.path: pywb installs a top-level ``tests`` package into
# site-packages that would otherwise win.  Relative imports keep this package working
# whatever name it is imported under.
from .pywb import PywbReplay
from .validators import ValidatorResult, assert_warcs_valid, validate_warc

__all__ = ["PywbReplay", "ValidatorResult", "assert_warcs_valid", "validate_warc"]
