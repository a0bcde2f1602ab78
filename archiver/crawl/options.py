"""The crawl's settings, read once: every component takes its plain values from here.

Scrapy hands each component the crawler's settings; ``CrawlOptions.of(crawler)`` turns them
into one typed, frozen record the first time any component asks, and every ``from_crawler``
passes on only the values its component needs, so each component can be built in a test
without a crawler (as Scrapy's own CoreStats and UserAgentMiddleware can). The defaults are
archiver.model.defaults'; archiver.crawl.settings publishes them as the ``ARCHIVER_*``
settings that ``-s`` and the command line override.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from archiver.collection.summary import RunSettings
from archiver.crawl.hosthealth import PushbackRules
from archiver.model.fingerprint import Fingerprint
from archiver.model.modes import ProgressMode, RobotsPolicy
from archiver.web.traps import TrapRules

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

_ATTR = "_archiver_options"


@dataclass(frozen=True, slots=True)
class CrawlOptions:
    output: Path
    run_id: str | None  # set by `archiver crawl`; None: chosen from the start time
    restart: bool
    seeds: tuple[str, ...]  # as set; a site spider's start_urls apply when empty
    scope: tuple[str, ...]
    allow_hosts: tuple[str, ...]
    exclude: tuple[str, ...]
    max_pages: int
    max_depth: int
    max_redirects: int  # redirects followed in one chain
    robots: RobotsPolicy
    recheck: bool
    user_agent: str
    request_headers: tuple[tuple[str, str], ...]  # DEFAULT_REQUEST_HEADERS, in order
    concurrency: int
    delay: float
    # --delay: that pause exactly, no AutoThrottle, no Crawl-delay; None: they apply.
    fixed_delay: float | None
    max_crawl_delay: float  # robots.txt Crawl-delay is honoured up to this
    resolve: tuple[str, ...]
    block_private_ips: bool
    max_response_size: int
    memory_body_bytes: int  # a body past this is spooled to disk
    min_free_space: int
    max_text_bytes: int
    traps: TrapRules
    pushback: PushbackRules  # 429/503 retries, failing hosts
    warc_size: int
    warc_prefix: str
    operator: str
    dedup_index: str
    dedup_max_age: float
    checkpoint_captures: int
    checkpoint_seconds: float
    no_warc: bool
    worker_backlog: int
    progress: ProgressMode
    progress_log_seconds: float
    log_level: str  # the collection log's
    console_log_level: str  # Scrapy's LOG_LEVEL: what the console shows
    log_format: str
    log_date_format: str
    # Run limits of this process (archiver.crawl.limits); 0: none.
    max_duration: float  # seconds
    max_bytes: int  # WARC bytes written

    @classmethod
    def of(cls, crawler: Crawler) -> CrawlOptions:
        """The options of *crawler*'s settings, read on first use and shared after."""
        options = getattr(crawler, _ATTR, None)
        if options is None:
            options = cls.from_settings(crawler.settings)
            setattr(crawler, _ATTR, options)
        return options

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> CrawlOptions:
        def strings(name: str) -> tuple[str, ...]:
            return tuple(settings.getlist(name))

        return cls(
            output=Path(settings.get("ARCHIVER_OUTPUT")),
            run_id=settings.get("ARCHIVER_RUN_ID") or None,
            restart=settings.getbool("ARCHIVER_RESTART"),
            seeds=strings("ARCHIVER_SEEDS"),
            scope=strings("ARCHIVER_SCOPE"),
            allow_hosts=strings("ARCHIVER_ALLOW_HOSTS"),
            exclude=strings("ARCHIVER_EXCLUDE"),
            max_pages=settings.getint("ARCHIVER_MAX_PAGES"),
            max_depth=settings.getint("ARCHIVER_MAX_DEPTH"),
            max_redirects=settings.getint("ARCHIVER_MAX_REDIRECTS"),
            robots=RobotsPolicy(settings.get("ARCHIVER_ROBOTS")),
            recheck=settings.getbool("ARCHIVER_RECHECK"),
            user_agent=settings.get("USER_AGENT"),
            request_headers=tuple(
                (str(name), str(value))
                for name, value in settings.getdict("DEFAULT_REQUEST_HEADERS").items()
            ),
            concurrency=settings.getint("CONCURRENT_REQUESTS"),
            delay=settings.getfloat("DOWNLOAD_DELAY"),
            fixed_delay=_seconds_or_none(settings.get("ARCHIVER_DELAY")),
            max_crawl_delay=settings.getfloat("ARCHIVER_MAX_CRAWL_DELAY"),
            resolve=strings("ARCHIVER_RESOLVE"),
            block_private_ips=settings.getbool("ARCHIVER_BLOCK_PRIVATE_IPS"),
            max_response_size=settings.getint("ARCHIVER_MAX_RESPONSE_SIZE"),
            memory_body_bytes=settings.getint("ARCHIVER_BODY_MEMORY_BYTES"),
            min_free_space=settings.getint("ARCHIVER_MIN_FREE_SPACE"),
            max_text_bytes=settings.getint("ARCHIVER_MAX_TEXT_BYTES"),
            traps=TrapRules(
                max_url_length=settings.getint("ARCHIVER_MAX_URL_LENGTH"),
                max_path_repeats=settings.getint("ARCHIVER_MAX_PATH_REPEATS"),
                max_query_variants=settings.getint("ARCHIVER_MAX_QUERY_VARIANTS"),
                max_path_segments=settings.getint("ARCHIVER_MAX_PATH_SEGMENTS"),
                pattern_budget=settings.getint("ARCHIVER_PATTERN_BUDGET"),
            ),
            pushback=PushbackRules(
                max_retries=settings.getint("ARCHIVER_MAX_RETRIES"),
                backoff=settings.getfloat("ARCHIVER_RETRY_BACKOFF"),
                max_wait=settings.getfloat("ARCHIVER_MAX_RETRY_WAIT"),
                max_host_failures=settings.getint("ARCHIVER_MAX_HOST_FAILURES"),
            ),
            warc_size=settings.getint("ARCHIVER_WARC_SIZE"),
            warc_prefix=settings.get("ARCHIVER_WARC_PREFIX"),
            operator=settings.get("ARCHIVER_OPERATOR") or "",
            dedup_index=settings.get("ARCHIVER_DEDUP_INDEX"),
            dedup_max_age=settings.getfloat("ARCHIVER_DEDUP_MAX_AGE"),
            checkpoint_captures=settings.getint("ARCHIVER_CHECKPOINT_CAPTURES"),
            checkpoint_seconds=settings.getfloat("ARCHIVER_CHECKPOINT_SECONDS"),
            no_warc=settings.getbool("ARCHIVER_NO_WARC"),
            worker_backlog=settings.getint("ARCHIVER_WORKER_BACKLOG"),
            progress=ProgressMode(settings.get("ARCHIVER_PROGRESS")),
            progress_log_seconds=settings.getfloat("ARCHIVER_PROGRESS_LOG_SECONDS"),
            log_level=str(settings.get("ARCHIVER_LOG_LEVEL")),
            console_log_level=str(settings.get("LOG_LEVEL")),
            log_format=settings.get("LOG_FORMAT"),
            log_date_format=settings.get("LOG_DATEFORMAT"),
            max_duration=settings.getfloat("ARCHIVER_MAX_DURATION"),
            max_bytes=settings.getint("ARCHIVER_MAX_BYTES"),
        )

    def fingerprint(self, spider: str) -> Fingerprint:
        """What a resume must match (see archiver.model.fingerprint)."""
        return Fingerprint.of(
            spider=spider,
            seeds=self.seeds,
            scope=self.scope,
            allow_hosts=self.allow_hosts,
            exclude=self.exclude,
            robots=self.robots,
        )

    def recorded(
        self,
        *,
        seeds: list[str],
        scope: list[str],
        allow_hosts: list[str],
        exclude: list[str],
    ) -> RunSettings:
        """What decides what a run captures, recorded in warcinfo and the run summary; the
        seeds and scope are the spider's, as it resolved them."""
        return RunSettings(
            seeds=tuple(seeds),
            scope=tuple(scope),
            allow_hosts=tuple(allow_hosts),
            exclude=tuple(exclude),
            max_pages=self.max_pages,
            max_depth=self.max_depth,
            robots=str(self.robots),
            user_agent=self.user_agent,
            concurrency=self.concurrency,
            delay=self.delay,
            warc_size=self.warc_size,
            warc_prefix=self.warc_prefix,
            resolve=self.resolve,
            recheck=self.recheck,
            dedup_max_age_days=self.dedup_max_age,
        )


def _seconds_or_none(value: object) -> float | None:
    """A setting that is unset (None, or empty from ``-s NAME=``) or a number of seconds."""
    if value is None or value == "":
        return None
    return float(value)  # type: ignore[arg-type]
