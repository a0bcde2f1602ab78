"""Browser tests' helpers and fixtures: Chromium sessions, a Range-capable static server,
ReplayWeb.page (npm, installed into node_modules/ by setup.sh) and its embedding page."""
