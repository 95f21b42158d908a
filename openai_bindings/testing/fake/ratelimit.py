"""Rate limits as the API applies them: replenishing budgets of requests and tokens.

Every answer then carries the ``x-ratelimit-*`` headers, and a request over
budget gets the API's 429 with ``Retry-After`` (and ``retry-after-ms``), so
bulk clients can be tested against the same signals they meet in production.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Union

from ..server import Reply
from .common import error

__all__ = ["Limiter", "RateLimit"]


@dataclass
class RateLimit:
    """``requests`` and/or ``tokens`` allowed per ``period`` seconds (60: per minute, as the API's RPM/TPM).

    Budgets replenish continuously, as the API's do: after a burst that used
    them up, one request's worth is back after ``period / requests`` seconds.
    A request costs the words of its JSON body plus the output tokens it caps
    (``max_tokens``, ``max_completion_tokens`` or ``max_output_tokens``).
    """

    requests: Optional[int] = None
    tokens: Optional[int] = None
    period: float = 60.0

    def __post_init__(self) -> None:
        for name in ("requests", "tokens"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ValueError(f"RateLimit({name}=...) must be a positive integer or None, got {value!r}")
        if not self.period > 0:
            raise ValueError(
                f"RateLimit(period=...) must be a positive number of seconds, got {self.period!r}"
            )


def duration(seconds: float) -> str:
    """The API's reset format: ``120ms``, ``1s``, ``6m0s``, ``8.64s``."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    minutes, rest = divmod(seconds, 60)
    rest = round(rest, 3)
    return f"{int(minutes)}m{rest:g}s" if minutes else f"{rest:g}s"


class _Budget:
    def __init__(self, limit: int, period: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.rate = limit / period
        self.level = float(limit)
        self.stamp = clock()

    def refill(self, moment: float) -> None:
        self.level = min(float(self.limit), self.level + (moment - self.stamp) * self.rate)
        self.stamp = moment

    def wait_for(self, amount: float) -> float:
        return 0.0 if self.level >= amount else (amount - self.level) / self.rate

    def headers(self, kind: str) -> Dict[str, str]:
        return {
            f"x-ratelimit-limit-{kind}": str(self.limit),
            f"x-ratelimit-remaining-{kind}": str(max(0, math.floor(self.level))),
            f"x-ratelimit-reset-{kind}": duration((self.limit - self.level) / self.rate),
        }


_LABELS = {60.0: "per min (R{kind}M)", 86400.0: "per day (R{kind}D)"}


class Limiter:
    """Admits or refuses requests against a ``RateLimit``; thread-safe."""

    def __init__(
        self, limit: Union[RateLimit, Mapping[str, Any]], clock: Callable[[], float] = time.monotonic
    ):
        self.limit = limit if isinstance(limit, RateLimit) else RateLimit(**dict(limit))
        self.clock = clock
        self._lock = threading.Lock()
        self._budgets: Dict[str, _Budget] = {}
        for kind in ("requests", "tokens"):
            amount = getattr(self.limit, kind)
            if amount is not None:
                self._budgets[kind] = _Budget(amount, self.limit.period, clock)

    @staticmethod
    def cost(body: Any) -> int:
        from .script import count_tokens

        if not isinstance(body, dict):
            return 1
        cap = (
            body.get("max_tokens") or body.get("max_completion_tokens") or body.get("max_output_tokens") or 0
        )
        return count_tokens(body) + (cap if isinstance(cap, int) else 0)

    def admit(self, body: Any, model: Optional[str] = None) -> Tuple[Dict[str, str], Optional[Reply]]:
        """The rate-limit headers for this answer, and the 429 to send instead when over budget."""
        tokens = self.cost(body)
        amounts = {"requests": 1, "tokens": tokens}
        with self._lock:
            moment = self.clock()
            for budget in self._budgets.values():
                budget.refill(moment)
            refused: Optional[Tuple[str, float]] = None
            for kind, budget in self._budgets.items():
                wait = budget.wait_for(amounts[kind])
                if wait and (refused is None or wait > refused[1]):
                    refused = (kind, wait)
            if refused is None:
                for kind, budget in self._budgets.items():
                    budget.level -= amounts[kind]
            headers: Dict[str, str] = {}
            for kind, budget in self._budgets.items():
                headers.update(budget.headers(kind))
        if refused is None:
            return headers, None
        kind, wait = refused
        budget = self._budgets[kind]
        label = _LABELS.get(self.limit.period, "per {seconds:g}s").format(seconds=self.limit.period, kind="")
        label = label.replace("(RM)", "(RPM)" if kind == "requests" else "(TPM)")
        label = label.replace("(RD)", "(RPD)" if kind == "requests" else "(TPD)")
        who = f"{model} in organization org-fake" if model else "organization org-fake"
        more = "Visit https://platform.openai.com/account/rate-limits to learn more."
        if amounts[kind] > budget.limit:  # never admissible: waiting would not help, so no Retry-After
            message = (
                f"Request too large for {who} on {kind} {label}: Limit {budget.limit}, Requested "
                f"{amounts[kind]}. The input or output tokens must be reduced in order to run "
                f"successfully. {more}"
            )
            return headers, error(429, message, code="rate_limit_exceeded", kind=kind, headers=headers)
        message = (
            f"Rate limit reached for {who} on {kind} {label}: Limit {budget.limit}, "
            f"Used {budget.limit - max(0, math.floor(budget.level))}, Requested {amounts[kind]}. "
            f"Please try again in {duration(wait)}. {more}"
        )
        headers["retry-after"] = str(max(1, math.ceil(wait)))
        headers["retry-after-ms"] = str(max(1, math.ceil(wait * 1000)))
        return headers, error(429, message, code="rate_limit_exceeded", kind=kind, headers=headers)
