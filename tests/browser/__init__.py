"""Browser tests' helpers and fixtures: Chromium sessions, a Range-capable static server,
ReplayWeb.page (npm, installed into node_modules/ by setup.sh), its embedding page, and rwp.py,
which opens a WACZ in it and reads what its service worker serves."""
