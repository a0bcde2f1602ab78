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
        ("CONCURRENT_REQUESTS", "CONCURRENT_REQUESTS_PER_DOMAIN"),
        positive_int,
        metavar="N",
        help=f"requests in flight at once (default {defaults.CONCURRENCY})",
    ),
    Option(
        "delay",
        ("DOWNLOAD_DELAY",),
        non_negative_float,
        metavar="SECONDS",
        help=f"pause between requests to one host (default {defaults.DELAY:g})",
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
