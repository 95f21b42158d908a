"""The retry policy: what is worth another attempt, and how long to wait before it.

Only the client retries (transports never re-send), and every attempt counts
against ``max_retries``. The server's own wish comes first: ``retry-after-ms``,
then ``Retry-After`` in seconds or as an HTTP date. A wait the server asks for
is honoured when it is at most ``max_retry_wait``; a longer one is not retried
at all (the error says when to come back). A header that cannot be read is
ignored, never raised: exponential backoff with jitter applies instead.
"""

from __future__ import annotations

import time
from typing import Callable, Mapping, Optional

__all__ = ["RETRY_STATUSES", "backoff", "server_wait", "should_retry"]

#: Statuses worth another attempt besides every 5xx: timeout, lock conflict, rate limit.
RETRY_STATUSES = frozenset({408, 409, 429})
#: Backoff: 0.5 s, 1 s, 2 s, 4 s, 8 s at most, each with up to 25% jitter off.
BACKOFF_START = 0.5
BACKOFF_MAX = 8.0
_INFINITY = float("inf")


def _seconds(value: str, scale: float) -> Optional[float]:
    try:
        seconds = float(value) * scale
    except ValueError:
        return None
    # 0 <= x < inf is false for NaN and infinity: math.isfinite without importing math (a shared
    # library to load at import time, for one header that is rarely sent).
    return seconds if 0 <= seconds < _INFINITY else None


def _date(value: str) -> Optional[float]:
    import email.utils  # only for an HTTP-date Retry-After: rare, and slow to import

    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    try:
        return max(0.0, parsed.timestamp() - time.time())
    except (OverflowError, OSError, ValueError):
        return None


def server_wait(headers: Mapping[str, str]) -> Optional[float]:
    """The wait in seconds the server asked for, or None when it asked for none it can be held to."""
    value = headers.get("retry-after-ms")
    if value:
        seconds = _seconds(value.strip(), 0.001)
        if seconds is not None:
            return seconds
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    seconds = _seconds(value, 1.0)
    if seconds is None and not value[:1].isdigit():
        seconds = _date(value)
    return seconds


def backoff(retry: int, rand: Optional[Callable[[], float]] = None) -> float:
    """The wait before retry number ``retry`` (0 for the first) when the server named none.

    ``random`` is imported here, on the first retry: most programs never retry, and it costs
    about a millisecond (``bisect``, ``hashlib``'s SHA-512) at ``import openai_bindings``."""
    if rand is None:
        import random

        rand = random.random
    delay = min(BACKOFF_START * 2**retry, BACKOFF_MAX)
    return delay * (1 - 0.25 * rand())  # jitter: never all clients at once


def should_retry(status: int, headers: Mapping[str, str]) -> bool:
    """Whether a status is worth another attempt (``x-should-retry`` from the server wins)."""
    override = headers.get("x-should-retry")
    if override == "true":
        return True
    if override == "false":
        return False
    return status in RETRY_STATUSES or status >= 500
