"""The crawl's named modes: how robots.txt is treated, and how progress is shown."""

from __future__ import annotations

from enum import StrEnum


class RobotsPolicy(StrEnum):
    OBEY = "obey"
    IGNORE = "ignore"  # robots.txt is still fetched and archived


class ProgressMode(StrEnum):
    AUTO = "auto"  # a live display on a terminal, else LOG
    LIVE = "live"  # redrawn in place (rich)
    LOG = "log"  # a plain line every --progress-interval seconds, also in the collection's log
    OFF = "off"
