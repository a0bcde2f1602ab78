"""Crawl options: one table maps each option to its Scrapy setting, for the command line and
for TOML config files alike. Precedence: defaults (archiver.model.defaults) < config file <
command line."""

from __future__ import annotations

import argparse
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archiver.model import defaults
from archiver.model.errors import ConfigError
from archiver.model.modes import ProgressMode, RobotsPolicy

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)


def parse_size(text: str | int) -> int:
    """``1000000``, ``500M``, ``1G``, ``2GiB`` -> bytes."""
    if isinstance(text, int):
        return text
    match = _SIZE.match(str(text))
    if not match:
        raise ConfigError(
            f"{text!r} is not a size; write bytes (1000000) or with a unit (500M, 1G)"
        )
    number, unit = match.groups()
    unit = (unit or "").lower().rstrip("b")  # "GiB" -> "gi", "GB" -> "g", "B" -> ""
    if not unit:
        return int(float(number))
    base = 1024 if unit.endswith("i") else 1000
    return int(float(number) * base ** ("kmgt".index(unit[0]) + 1))


def size_text(size: int) -> str:
    """A byte count as an option takes it, in its largest whole decimal unit: 1G, 200M."""
    for unit, scale in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if size >= scale and size % scale == 0:
            return f"{size // scale}{unit}"
    return str(size)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str | float) -> float:
    """``5400``, ``90s``, ``30m``, ``6h``, ``1d``, ``1.5h`` -> seconds."""
    if isinstance(text, int | float) and not isinstance(text, bool) and text >= 0:
        return float(text)
    match = _DURATION.match(str(text))
    if not match:
        raise ConfigError(
            f"{text!r} is not a duration; write seconds (5400) or with a unit (90s, 30m, 6h, 1d)"
        )
    number, unit = match.groups()
    return float(number) * _DURATION_UNITS[unit.lower()]


def positive_int(text: str | int) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise ConfigError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise ConfigError(f"{text!r} must be 0 or more")
    return value


def non_negative_float(text: str | float) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ConfigError(f"{text!r} is not a number of seconds") from None
    if value < 0:
        raise ConfigError(f"{text!r} must be 0 or more")
    return value


def whole_number_of(noun: str) -> Callable[[str], int]:
    """An argparse type for a count of ``noun`` (0 or more): argparse reports a bad one as a
    usage error, exit 2."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = -1
        if value < 0:
            raise argparse.ArgumentTypeError(f"not a whole number of {noun}: {text!r}")
        return value

    return convert


def progress_mode(text: str) -> ProgressMode:
    try:
        return ProgressMode(text)
    except ValueError:
        names = ", ".join(ProgressMode)
        raise ConfigError(f"progress {text!r} is not one of {names}") from None


def robots_policy(text: str) -> RobotsPolicy:
    try:
        return RobotsPolicy(text)
    except ValueError:
        raise ConfigError(f"robots policy {text!r} is not 'obey' or 'ignore'") from None


@dataclass(frozen=True, slots=True)
class Option:
    name: str  # --name on the command line, name (or name_with_underscores) in TOML
    settings: tuple[str, ...]  # the Scrapy settings it sets
    convert: Callable[[Any], Any] = str
    repeatable: bool = False
    help: str = ""
    metavar: str | None = None
    flag: Any = None  # not None: a switch taking no value, which sets the settings to this


OPTIONS: tuple[Option, ...] = (
    Option(
        "output", ("ARCHIVER_OUTPUT",), help="collection folder (created if missing)", metavar="DIR"
    ),
    Option(
        "scope",
        ("ARCHIVER_SCOPE",),
        repeatable=True,
        metavar="PREFIX",
        help="URL prefix pages must start with (repeatable; default: each seed's folder)",
    ),
    Option(
        "allow-host",
        ("ARCHIVER_ALLOW_HOSTS",),
        repeatable=True,
        metavar="HOST",
        help="extra host in scope, any path (repeatable)",
    ),
    Option(
        "exclude",
        ("ARCHIVER_EXCLUDE",),
        repeatable=True,
        metavar="REGEX",
        help="never fetch URLs matching this regular expression (repeatable)",
    ),
    Option(
        "max-pages",
        ("ARCHIVER_MAX_PAGES",),
        positive_int,
        metavar="N",
        help="fetch at most N pages (requisites of fetched pages do not count); 0: no limit",
    ),
    Option(
        "max-depth",
        ("ARCHIVER_MAX_DEPTH",),
        positive_int,
        metavar="N",
        help="follow links at most N hops from a seed, requisites of the last pages included; "
        f"0: no limit (default {defaults.MAX_DEPTH})",
    ),
    Option(
        "robots",
        ("ARCHIVER_ROBOTS",),
        robots_policy,
        metavar="obey|ignore",
        help=f"obey or ignore robots.txt (default {defaults.ROBOTS}; it is archived either way)",
    ),
    Option(
        "concurrency",
        # One number for the limit per host, the limit in all, and AutoThrottle's aim.
        (
            "CONCURRENT_REQUESTS",
            "CONCURRENT_REQUESTS_PER_DOMAIN",
            "AUTOTHROTTLE_TARGET_CONCURRENCY",
        ),
        positive_int,
        metavar="N",
        help="requests in flight at once, to one host and in all "
        f"(default {defaults.CONCURRENCY_PER_HOST} per host, {defaults.CONCURRENCY} in all)",
    ),
    Option(
        "delay",
        # A fixed delay: ARCHIVER_DELAY set turns AutoThrottle and robots.txt Crawl-delay off.
        ("DOWNLOAD_DELAY", "ARCHIVER_DELAY"),
        non_negative_float,
        metavar="SECONDS",
        help="pause exactly this long between requests to one host, whatever robots.txt "
        "Crawl-delay or the server's response times say (default: adapts to both)",
    ),
    Option(
        "max-crawl-delay",
        ("ARCHIVER_MAX_CRAWL_DELAY",),
        non_negative_float,
        metavar="SECONDS",
        help="honour a robots.txt Crawl-delay up to this long "
        f"(default {defaults.MAX_CRAWL_DELAY:g}, as Heritrix)",
    ),
    Option(
        "user-agent",
        ("USER_AGENT",),
        metavar="UA",
        help="User-Agent header (default names archiver and its contact URL)",
    ),
    Option(
        "warc-size",
        ("ARCHIVER_WARC_SIZE",),
        parse_size,
        metavar="BYTES",
        help=f"start a new WARC file past this size (default {size_text(defaults.WARC_SIZE)})",
    ),
    Option(
        "warc-prefix",
        ("ARCHIVER_WARC_PREFIX",),
        metavar="PREFIX",
        help=f"WARC file name prefix (default {defaults.WARC_PREFIX})",
    ),
    Option(
        "resolve",
        ("ARCHIVER_RESOLVE",),
        repeatable=True,
        metavar="HOST:PORT:ADDR",
        help="connect to ADDR for HOST:PORT; URLs and WARC keep HOST (repeatable, as curl)",
    ),
    Option(
        "timeout",
        ("DOWNLOAD_TIMEOUT",),
        non_negative_float,
        metavar="SECONDS",
        help="give up on a response that has not finished after this long "
        f"(default {defaults.TIMEOUT})",
    ),
    Option(
        "max-response-size",
        ("ARCHIVER_MAX_RESPONSE_SIZE",),
        parse_size,
        metavar="BYTES",
        help="cut bodies longer than this, keeping the start, marked truncated; 0: no limit "
        f"(default {size_text(defaults.MAX_RESPONSE_SIZE)})",
    ),
    Option(
        "min-free-space",
        ("ARCHIVER_MIN_FREE_SPACE",),
        parse_size,
        metavar="BYTES",
        help="stop the run cleanly (resumable) when the collection's disk has less free space; "
        f"0: never (default {size_text(defaults.MIN_FREE_SPACE)})",
    ),
    Option(
        "block-private-ips",
        ("ARCHIVER_BLOCK_PRIVATE_IPS",),
        flag=True,
        help="refuse private, loopback and link-local addresses (hosts given --resolve excepted)",
    ),
    Option(
        "max-retries",
        ("ARCHIVER_MAX_RETRIES",),
        positive_int,
        metavar="N",
        help="ask a URL that answered 429 or 503 again at most N times, after its Retry-After "
        f"or a backoff; every answer is archived (default {defaults.MAX_RETRIES})",
    ),
    Option(
        "retry-backoff",
        ("ARCHIVER_RETRY_BACKOFF",),
        non_negative_float,
        metavar="SECONDS",
        help="wait before a retry without Retry-After, doubled at each one; also the first "
        f"pause of a failing host (default {defaults.RETRY_BACKOFF:g})",
    ),
    Option(
        "max-retry-wait",
        ("ARCHIVER_MAX_RETRY_WAIT",),
        non_negative_float,
        metavar="SECONDS",
        help="longest pause of a host; a longer Retry-After gives the host up for this run "
        f"(default {defaults.MAX_RETRY_WAIT:g})",
    ),
    Option(
        "max-host-failures",
        ("ARCHIVER_MAX_HOST_FAILURES",),
        positive_int,
        metavar="N",
        help="give a host up for this run after N failures in a row (refused, DNS, timeout, "
        f"5xx), its queued URLs not fetched; 0: never (default {defaults.MAX_HOST_FAILURES})",
    ),
    Option(
        "max-url-length",
        ("ARCHIVER_MAX_URL_LENGTH",),
        positive_int,
        metavar="N",
        help=f"crawler traps: do not follow longer URLs (default {defaults.MAX_URL_LENGTH})",
    ),
    Option(
        "max-redirects",
        ("ARCHIVER_MAX_REDIRECTS",),
        positive_int,
        metavar="N",
        help="crawler traps: redirects followed in one chain, each hop a new URL "
        f"(default {defaults.MAX_REDIRECTS}, as browsers)",
    ),
    Option(
        "max-path-repeats",
        ("ARCHIVER_MAX_PATH_REPEATS",),
        positive_int,
        metavar="N",
        help="crawler traps: do not follow URLs repeating a path segment more often "
        f"(default {defaults.MAX_PATH_REPEATS})",
    ),
    Option(
        "max-query-variants",
        ("ARCHIVER_MAX_QUERY_VARIANTS",),
        positive_int,
        metavar="N",
        help="crawler traps: distinct query strings followed per path "
        f"(default {defaults.MAX_QUERY_VARIANTS})",
    ),
    Option(
        "pattern-budget",
        ("ARCHIVER_PATTERN_BUDGET",),
        positive_int,
        metavar="N",
        help="crawler traps: links a URL pattern (host and path, numbers generalized) may make "
        "to itself from its own pages; 0: no budget "
        f"(default {defaults.PATTERN_BUDGET})",
    ),
    Option(
        "no-recheck",
        ("ARCHIVER_RECHECK",),
        flag=False,
        help="do not re-check URLs of earlier runs that nothing links to any more",
    ),
    Option(
        "no-warc",
        ("ARCHIVER_NO_WARC",),
        flag=True,
        help="for measurement only: fetch, parse and follow links as usual, but write no WARC, "
        "index, manifest or dedup rows",
    ),
    Option(
        "restart",
        ("ARCHIVER_RESTART",),
        flag=True,
        help="abandon the collection's unfinished run instead of resuming it",
    ),
    Option(
        "checkpoint-interval",
        ("ARCHIVER_CHECKPOINT_SECONDS",),
        non_negative_float,
        metavar="SECONDS",
        help="commit captures (fsync, index and manifest lines) at least this often "
        f"(default {defaults.CHECKPOINT_SECONDS:g})",
    ),
    Option(
        "dedup-max-age",
        ("ARCHIVER_DEDUP_MAX_AGE",),
        non_negative_float,
        metavar="DAYS",
        help="store a payload in full again once its stored copy is older than this",
    ),
    Option(
        "progress",
        ("ARCHIVER_PROGRESS",),
        progress_mode,
        metavar="auto|live|log|off",
        help=f"live display (a terminal), a line every {defaults.PROGRESS_LOG_SECONDS:g} s (log), "
        f"or nothing; default {defaults.PROGRESS}",
    ),
    Option(
        "progress-interval",
        ("ARCHIVER_PROGRESS_LOG_SECONDS",),
        non_negative_float,
        metavar="SECONDS",
        help="how often the progress line is written when there is no live display "
        f"(default {defaults.PROGRESS_LOG_SECONDS:g})",
    ),
    # -- run limits: each stops the run cleanly and resumably (archiver.crawl.limits) --
    Option(
        "max-duration",
        ("ARCHIVER_MAX_DURATION",),
        parse_duration,
        metavar="TIME",
        help="stop cleanly after this long (90s, 30m, 6h, 1d; this process's time); the same "
        "command resumes the run; 0: no limit (the default)",
    ),
    Option(
        "max-bytes",
        ("ARCHIVER_MAX_BYTES",),
        parse_size,
        metavar="BYTES",
        help="stop cleanly once this process has written this much WARC (500M, 2G); the same "
        "command resumes the run; 0: no limit (the default)",
    ),
    Option(
        "operator",
        ("ARCHIVER_OPERATOR",),
        metavar="WHO",
        help="who runs this crawl (name, email or URL), recorded in every WARC's warcinfo",
    ),
)

BY_NAME = {option.name: option for option in OPTIONS}
# Keys a config file may hold besides the options.
EXTRA_KEYS = ("seeds",)


def load_toml(path: Path) -> dict[str, Any]:
    """Read a config file into {option name: value}; unknown keys are an error, not ignored."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    values: dict[str, Any] = {}
    for key, value in data.items():
        name = key.replace("_", "-")
        if name not in BY_NAME and name not in EXTRA_KEYS:
            known = ", ".join([*EXTRA_KEYS, *BY_NAME])
            raise ConfigError(f"config file {path}: unknown key {key!r} (known: {known})")
        option = BY_NAME.get(name)
        if (option is None or option.repeatable) and isinstance(value, str):
            value = [value]
        values[name] = value
    return values


def to_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """{option name: raw value} -> {SCRAPY_SETTING: converted value}."""
    settings: dict[str, Any] = {}
    for name, value in values.items():
        if name == "seeds":
            settings["ARCHIVER_SEEDS"] = list(value)
            continue
        option = BY_NAME[name]
        if option.flag is not None:
            if not isinstance(value, bool):
                raise ConfigError(f"{name} takes true or false, not {value!r}")
            if value:
                for setting in option.settings:
                    settings[setting] = option.flag
            continue
        if option.repeatable:
            converted: Any = [option.convert(v) for v in value]
        else:
            try:
                converted = option.convert(value)
            except ConfigError as exc:
                raise ConfigError(f"--{name}: {exc}") from None
        for setting in option.settings:
            settings[setting] = converted
    return settings
