"""What each host has told the crawl lately: asked us to wait (429, 503), kept failing, or gave
up being crawled for this run. Plain bookkeeping on a monotonic clock, no Scrapy: the pushback
middleware (pushback.py) asks it and acts on its answers.

- A 429 or 503 answer pauses its host until the retry of that URL is due: until its
  ``Retry-After`` (seconds or an HTTP date), else an exponential backoff (``backoff`` seconds,
  doubled at each attempt). The server speaks for the host, not one URL, so nothing else is
  sent to it meanwhile (Heritrix snoozes the host's whole queue in the same way). A URL is
  retried at most ``max_retries`` times; a ``Retry-After`` longer than ``max_wait`` gives the
  host up for this run, as the server asked for more than the run will wait.
- A failure (no answer: refused, DNS, timeout, reset; or a 5xx answer) counts against its
  host; a success (any other answer) clears the count. From the second failure in a row the
  host is paused, ``backoff`` seconds doubled at each one; at ``max_host_failures`` in a row
  it is given up for this run, its queued URLs not fetched. A failure of a request sent before
  the host's last counted failure is the same outage seen again, not one more in a row: with
  several requests in flight a dead host would otherwise reach the limit at once, before any
  pause.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from archiver.model import defaults


@dataclass(frozen=True, slots=True)
class PushbackRules:
    max_retries: int = defaults.MAX_RETRIES
    backoff: float = defaults.RETRY_BACKOFF
    max_wait: float = defaults.MAX_RETRY_WAIT
    max_host_failures: int = defaults.MAX_HOST_FAILURES

    def backoff_for(self, attempt: int) -> float:
        """The wait before retry number ``attempt + 1`` (attempt 0: the first answer)."""
        return min(self.backoff * 2**attempt, self.max_wait)


class RetryReason(StrEnum):
    """Why a 429/503 answer was or was not retried; counted as ``retries/<status>/<reason>``."""

    RETRY_AFTER = "retry_after"  # retried when the server's Retry-After said
    BACKOFF = "backoff"  # no usable Retry-After: retried after our own backoff
    EXHAUSTED = "exhausted"  # asked 1 + max_retries times: the last answer stands
    TOO_LONG = "retry_after_too_long"  # Retry-After past max_wait: the host is given up
    HOST_GIVEN_UP = "host_given_up"  # the host was given up meanwhile (failures)


@dataclass(frozen=True, slots=True)
class RetryDecision:
    retry: bool
    wait: float  # seconds until the retry is due (and the host's pause ends)
    reason: RetryReason


# Fetch errors (exception class names) that say the host is not answering, as the run summary
# and log call them. Others (our own refusals, a full disk, a malformed answer) are no
# failure of the host's.
FAILURES = {
    "ConnectionRefusedError": "connection refused",
    "DNSLookupError": "DNS failure",
    "TimeoutError": "timeout",
    "ResponseNeverReceived": "no response",
    "ConnectionResetError": "connection reset",
    "ConnectionAbortedError": "connection aborted",
    "OSError": "connection failed",  # unreachable network or host
}


@dataclass(slots=True)
class HostState:
    failures: int = 0  # counted failures in a row
    reasons: Counter[str] = field(default_factory=Counter)  # of those failures
    last_failure: float = float("-inf")  # clock time of the last counted one
    paused_until: float = 0.0
    given_up: str | None = None  # why, once given up
    skipped: int = 0  # requests not sent since


class Hosts:
    def __init__(self, rules: PushbackRules, clock: Callable[[], float] = time.monotonic) -> None:
        self.rules = rules
        self.clock = clock
        self._hosts: dict[str, HostState] = {}
        # False until some host fails, pushes back or is given up: until then no request
        # needs its host looked at (a URL split per request, on every crawl).
        self.troubled = False

    def state(self, host: str) -> HostState:
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = HostState()
            self.troubled = True
        return state

    def paused_for(self, host: str) -> float:
        """Seconds left of the host's pause; 0 if it is not paused."""
        state = self._hosts.get(host)
        return max(0.0, state.paused_until - self.clock()) if state is not None else 0.0

    def given_up(self, host: str) -> str | None:
        state = self._hosts.get(host)
        return state.given_up if state is not None else None

    def given_up_hosts(self) -> dict[str, HostState]:
        return {host: s for host, s in self._hosts.items() if s.given_up is not None}

    def pause(self, host: str, seconds: float) -> None:
        state = self.state(host)
        state.paused_until = max(state.paused_until, self.clock() + seconds)

    def succeeded(self, host: str) -> None:
        state = self._hosts.get(host)
        if state is not None and state.failures:
            state.failures = 0
            state.reasons.clear()

    def failed(self, host: str, reason: str, sent_at: float) -> bool:
        """Count a failure of a request sent at ``sent_at`` (clock time); True if it counted
        (the host is paused or given up as the rules say)."""
        state = self.state(host)
        if state.given_up is not None or sent_at < state.last_failure:
            return False
        state.failures += 1
        state.reasons[reason] += 1
        state.last_failure = self.clock()
        if 0 < self.rules.max_host_failures <= state.failures:
            self.give_up(host, ", ".join(f"{r} x{n}" for r, n in state.reasons.most_common()))
        elif state.failures >= 2:
            self.pause(host, self.rules.backoff_for(state.failures - 2))
        return True

    def give_up(self, host: str, why: str) -> None:
        state = self.state(host)
        if state.given_up is None:
            state.given_up = why

    def pushed_back(
        self, host: str, status: int, retry_after: float | None, attempt: int
    ) -> RetryDecision:
        """A 429 or 503 answer to attempt number ``attempt`` (0: the first request): pause the
        host and say whether the URL is asked again."""
        rules = self.rules
        if retry_after is not None and retry_after > rules.max_wait:
            self.give_up(
                host,
                f"HTTP {status} Retry-After {retry_after:.0f} s, past the {rules.max_wait:g} s cap",
            )
            return RetryDecision(False, 0.0, RetryReason.TOO_LONG)
        if retry_after is not None:
            wait, reason = retry_after, RetryReason.RETRY_AFTER
        else:
            wait, reason = rules.backoff_for(attempt), RetryReason.BACKOFF
        self.pause(host, wait)
        if self.given_up(host) is not None:
            return RetryDecision(False, wait, RetryReason.HOST_GIVEN_UP)
        if attempt >= rules.max_retries:
            return RetryDecision(False, wait, RetryReason.EXHAUSTED)
        return RetryDecision(True, wait, reason)
