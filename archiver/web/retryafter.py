"""The ``Retry-After`` header (RFC 9110 10.2.3): how long a server asked us to wait.

Its value is either a number of seconds or an HTTP date. A value that is neither, a negative
number or a date already past says nothing usable, and reads as None: the caller falls back to
its own backoff.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def retry_after_seconds(value: str | bytes | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from *now* (an aware time; the clock's when None), or None."""
    if value is None:
        return None
    text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
    if not text:
        return None
    if text.isdigit():  # delay-seconds: 1*DIGIT, nothing else
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT; an obsolete form may come without a zone
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return seconds if seconds > 0 else None
