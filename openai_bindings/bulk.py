"""bulk: many requests now, within the rate limits, every item returned exactly once.

``AsyncOpenAI.bulk(...)`` is an async iterator of ``(custom_id, result_or_error)`` in
completion order; ``OpenAI.bulk(...)`` returns the same pairs as a list in input order
(it runs the same engine on a private event loop, each request in a worker thread, so
its user needs no asyncio). One engine, ``_engine``, serves both:

- at most ``concurrency`` requests in flight;
- client-side budgets of requests and tokens per minute (``RateLimiter``), spent
  smoothly (a second's worth at most in a burst); a request's tokens are estimated from
  its body and corrected by the ``usage`` its answer reports;
- the server's ``x-ratelimit-remaining-*`` / ``x-ratelimit-reset-*`` headers pause new
  requests when its budget is spent, and a 429 pauses them for its ``Retry-After``
  (then the item is sent again); connection failures and 5xx are retried with backoff,
  up to the client's ``max_retries``; any other failure is that item's result;
- ``done=`` (keys already done, e.g. read back from a results file) are skipped, so an
  interrupted run resumes where it stopped.

Requests are ``{"custom_id": str, "body": {...}}`` dicts as for ``run_batch``, plus an
optional ``"url"`` (``/v1/embeddings``...; chat completions by default).
"""

from __future__ import annotations

import heapq
import itertools
import json
import re
import time
from collections import deque
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncIterator,
    Callable,
    Deque,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Set,
    Sized,
    Tuple,
)

from .batch import check_requests, read_request
from .errors import APIConnectionError, APIStatusError, RateLimitError
from .progress import Progress, ProgressLike
from .retry import backoff, should_retry

if TYPE_CHECKING:
    import concurrent.futures

__all__ = ["RateLimiter", "async_bulk", "estimate_tokens", "parse_duration", "sync_bulk", "used_tokens"]

#: How many 429s one item may meet before its error is its result (a 429 never counts as a failure).
RATE_LIMIT_RETRIES = 10
#: A client-side budget lets at most this many seconds' worth of requests go at once.
BURST_SECONDS = 1.0
#: The endpoint methods for the API paths a bulk job usually runs; any other path goes through request().
METHODS = {
    "/chat/completions": "create_chat_completion",
    "/responses": "create_response",
    "/embeddings": "embedding",
    "/completions": "completion",
    "/moderations": "moderation",
}
_OUTPUT_CAPS = ("max_tokens", "max_completion_tokens", "max_output_tokens")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


# -- rate limits, sans-IO ---------------------------------------------------------------------------


def estimate_tokens(body: Mapping[str, Any]) -> int:
    """A request's token cost before it is sent: about 4 characters a token, plus its output cap."""
    shown = {key: value for key, value in body.items() if key != "model"}
    size = len(json.dumps(shown, ensure_ascii=False, default=str)) // 4 + 1
    caps = [body.get(name) for name in _OUTPUT_CAPS]
    cap = next((c for c in caps if isinstance(c, int) and not isinstance(c, bool)), 0)
    choices = body.get("n")
    return size + cap * (choices if isinstance(choices, int) and choices > 1 else 1)


def used_tokens(body: Any) -> Optional[int]:
    """The tokens an answer says it used (chat, completions, embeddings, Responses), or None."""
    usage = body.get("usage") if isinstance(body, Mapping) else None
    if not isinstance(usage, Mapping):
        return None
    total = usage.get("total_tokens")
    if isinstance(total, int):
        return total
    parts = [usage.get(k) for k in ("input_tokens", "output_tokens", "prompt_tokens", "completion_tokens")]
    counted = [p for p in parts if isinstance(p, int)]
    return sum(counted) if counted else None


def parse_duration(value: Optional[str]) -> Optional[float]:
    """The API's reset durations (``1s``, ``6m0s``, ``120ms``, ``1h2m3.5s``) in seconds, or None."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    found = _DURATION.findall(text)
    if not found or "".join(n + u for n, u in found) != text:
        return None
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(number) * scale[unit] for number, unit in found)


class _Budget:
    """A continuously replenished budget (``limit`` per minute), at most a burst's worth stored."""

    def __init__(self, per_minute: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * BURST_SECONDS)
        self.level = self.capacity
        self.stamp: Optional[float] = None

    def _refill(self, now: float) -> None:
        if self.stamp is not None:
            self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait(self, amount: float, now: float) -> float:
        self._refill(now)
        needed = min(amount, self.capacity)  # a request over the burst size goes when the budget is full
        return 0.0 if self.level >= needed else (needed - self.level) / self.rate

    def take(self, amount: float, now: float) -> None:
        self._refill(now)
        self.level -= amount  # may go below zero: a debt the next requests wait off


class RateLimiter:
    """When the next request may go: the client's budgets, the server's headers, its 429s.

    Sans-IO (it is told the time), so it is tested without sleeping and shared by both drivers.
    """

    def __init__(
        self, max_requests_per_minute: Optional[float] = None, max_tokens_per_minute: Optional[float] = None
    ) -> None:
        self.requests = _Budget(max_requests_per_minute) if max_requests_per_minute else None
        self.tokens = _Budget(max_tokens_per_minute) if max_tokens_per_minute else None
        self.paused_until = 0.0

    def delay(self, tokens: int, now: float) -> float:
        """Seconds until a request of ``tokens`` may go (0: now)."""
        wait = max(0.0, self.paused_until - now)
        if self.requests is not None:
            wait = max(wait, self.requests.wait(1, now))
        if self.tokens is not None:
            wait = max(wait, self.tokens.wait(tokens, now))
        return wait

    def take(self, tokens: int, now: float) -> None:
        if self.requests is not None:
            self.requests.take(1, now)
        if self.tokens is not None:
            self.tokens.take(tokens, now)

    def settle(self, estimated: int, used: Optional[int]) -> None:
        """Correct the token budget by what the answer says the request really used."""
        if self.tokens is not None and used is not None:
            self.tokens.level += estimated - used

    def pause(self, seconds: float, now: float) -> None:
        self.paused_until = max(self.paused_until, now + seconds)

    def observe(self, headers: Mapping[str, str], in_flight: int, in_flight_tokens: int, now: float) -> None:
        """The server's own budget: when what is left is already on its way, wait until it refills.

        ``x-ratelimit-reset-*`` is the time until the budget is whole again; it refills evenly,
        so the wait is the part of it that covers what is missing (the whole of it when the
        server sends no ``x-ratelimit-limit-*`` to tell).
        """
        for kind, pending in (("requests", in_flight), ("tokens", in_flight_tokens)):
            left = _number(headers.get(f"x-ratelimit-remaining-{kind}"))
            if left is None or left > pending:
                continue
            reset = parse_duration(headers.get(f"x-ratelimit-reset-{kind}"))
            if reset is None:
                self.pause(1.0, now)
                continue
            limit = _number(headers.get(f"x-ratelimit-limit-{kind}"))
            if limit is not None and limit > left:
                reset = min(reset, reset * (pending + 1 - left) / (limit - left))
            self.pause(reset, now)


def _number(value: Optional[str]) -> Optional[float]:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


# -- the engine --------------------------------------------------------------------------------------


class _Item:
    __slots__ = ("attempts", "body", "key", "limited", "path", "tokens")

    def __init__(self, key: str, path: str, body: Dict[str, Any]) -> None:
        self.key = key
        self.path = path
        self.body = body
        self.tokens = estimate_tokens(body)
        self.attempts = 0  # failures retried so far (429s apart)
        self.limited = 0  # 429s met so far


class _Source:
    """The requests, checked and pulled one at a time; skips the keys in ``done``."""

    def __init__(self, requests: Iterable[Any], done: Set[str], order: Optional[List[str]]) -> None:
        check_requests(requests)
        self.done = done
        self.order = order
        self.seen: Set[str] = set()
        self.skipped = 0
        self.index = 0
        if isinstance(requests, (list, tuple)):  # all checked before anything is sent
            checked = set(self.seen)
            for index, item in enumerate(requests):
                read_request(item, index, checked, "/v1/chat/completions")
        self._iterator: Iterator[Any] = iter(requests)
        self.exhausted = False

    def next(self) -> Optional[_Item]:
        while not self.exhausted:
            try:
                item = next(self._iterator)
            except StopIteration:
                self.exhausted = True
                return None
            key, path, body = read_request(item, self.index, self.seen, "/v1/chat/completions")
            self.index += 1
            if key in self.done:
                self.skipped += 1
                continue
            if self.order is not None:
                self.order.append(key)
            return _Item(key, path, body)
        return None


def _call(client: Any, item: _Item) -> Callable[[], Any]:
    """The endpoint call for one item, with the client's own retries off (the engine retries)."""
    name = METHODS.get(item.path)
    if name is not None:
        method = getattr(client, name)
        return lambda: method(**item.body, max_retries=0)
    return lambda: client.request("POST", item.path, json=item.body, max_retries=0)


async def _engine(
    client: Any,
    requests: Iterable[Any],
    *,
    concurrency: int,
    max_requests_per_minute: Optional[float],
    max_tokens_per_minute: Optional[float],
    progress: ProgressLike,
    done: Optional[Iterable[str]],
    pool: Optional[concurrent.futures.Executor] = None,
    order: Optional[List[str]] = None,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[Tuple[str, Any]]:
    """Yield ``(custom_id, result_or_error)`` as each item finishes; ``pool`` runs a sync client's calls."""
    import asyncio

    source = _Source(requests, set(done or ()), order)
    limiter = RateLimiter(max_requests_per_minute, max_tokens_per_minute)
    total = len(requests) if isinstance(requests, Sized) else None
    display = Progress("bulk", progress, total=total)
    loop = asyncio.get_running_loop()
    running: Dict[Any, _Item] = {}
    ready: Deque[_Item] = deque()
    later: List[Tuple[float, int, _Item]] = []  # (when, tiebreak, item): retries waiting their backoff
    tiebreak = itertools.count()
    finished = failed = 0
    retries = client.max_retries

    def start(item: _Item) -> None:
        call = _call(client, item)
        task = loop.run_in_executor(pool, call) if pool is not None else loop.create_task(call())
        running[task] = item

    try:
        while True:
            now = clock()
            while later and later[0][0] <= now:
                ready.append(heapq.heappop(later)[2])
            wait: Optional[float] = None
            while len(running) < concurrency:
                item = ready.popleft() if ready else source.next()
                if item is None:
                    break
                delay = limiter.delay(item.tokens, now)
                if delay > 0:
                    ready.appendleft(item)
                    wait = delay
                    break
                limiter.take(item.tokens, now)
                start(item)
            if later:
                until = max(0.0, later[0][0] - now)
                wait = until if wait is None else min(wait, until)
            if not running:
                if wait is None:
                    break  # nothing running, waiting or left: all done
                await asyncio.sleep(wait)
                continue
            completed, _ = await asyncio.wait(
                list(running), timeout=wait, return_when=asyncio.FIRST_COMPLETED
            )
            now = clock()
            for task in completed:
                item = running.pop(task)
                error = task.exception()
                value = None if error is not None else task.result()
                in_flight_tokens = sum(i.tokens for i in running.values())
                headers = getattr(value if error is None else error, "headers", None)
                if isinstance(headers, Mapping):
                    limiter.observe(headers, len(running), in_flight_tokens, now)
                retry_in = _retry_in(item, error, retries, limiter, now)
                if retry_in is not None:
                    heapq.heappush(later, (now + retry_in, next(tiebreak), item))
                    continue
                if error is None:
                    limiter.settle(item.tokens, used_tokens(getattr(value, "body", None)))
                else:
                    failed += 1
                finished += 1
                display.update(
                    done=finished + source.skipped,
                    failed=failed,
                    note=f"{len(running)} in flight" + _paused(limiter, now),
                )
                yield item.key, (value if error is None else error)
    finally:
        for task in running:
            task.cancel()
        if running:  # a consumer that stopped early: wait for the cancelled calls to end
            await asyncio.gather(*running, return_exceptions=True)
        display.update(done=finished + source.skipped, failed=failed, note="")
        display.close()


def _retry_in(
    item: _Item, error: Optional[BaseException], retries: int, limiter: RateLimiter, now: float
) -> Optional[float]:
    """Seconds until the item is sent again, or None when this outcome is its result."""
    if error is None:
        return None
    if isinstance(error, RateLimitError):
        if error.code == "insufficient_quota" or item.limited >= RATE_LIMIT_RETRIES:
            return None  # no wait brings quota back
        item.limited += 1
        wait = error.retry_after if error.retry_after is not None else backoff(item.limited - 1)
        limiter.pause(wait, now)  # the server said stop: every new request waits too
        return wait
    if isinstance(error, APIStatusError):
        worth = should_retry(error.status, error.headers)
    else:
        worth = isinstance(error, APIConnectionError)
    if not worth or item.attempts >= retries:
        return None
    item.attempts += 1
    asked = getattr(error, "retry_after", None)
    return asked if asked is not None else backoff(item.attempts - 1)


def _paused(limiter: RateLimiter, now: float) -> str:
    left = limiter.paused_until - now
    return f", paused {left:.1f}s (rate limit)" if left > 0 else ""


def _check(
    *,
    concurrency: Any,
    max_requests_per_minute: Any,
    max_tokens_per_minute: Any,
    progress: ProgressLike,
    done: Any,
) -> None:
    """Refuse bad settings before anything starts."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a whole number >= 1, got {concurrency!r}")
    for name, value in (
        ("max_requests_per_minute", max_requests_per_minute),
        ("max_tokens_per_minute", max_tokens_per_minute),
    ):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0
        ):
            raise ValueError(
                f"{name} must be a positive number, or None for no client-side limit; got {value!r}"
            )
    Progress("check", progress)
    if isinstance(done, (str, bytes)):
        raise TypeError("done takes a collection of custom ids (a set, a list), not one string")


def async_bulk(
    client: Any, requests: Iterable[Mapping[str, Any]], **settings: Any
) -> AsyncIterator[Tuple[str, Any]]:
    """``AsyncOpenAI.bulk(...)``: the engine itself (see ``_scale.Bulk.bulk`` for the settings)."""
    _check(**settings)
    return _engine(client, requests, **settings)


def sync_bulk(client: Any, requests: Iterable[Mapping[str, Any]], **settings: Any) -> List[Tuple[str, Any]]:
    """``OpenAI.bulk(...)``: the engine on a private event loop, each call in a worker thread."""
    import asyncio
    import concurrent.futures

    _check(**settings)
    order: List[str] = []
    results: Dict[str, Any] = {}

    async def collect() -> None:
        workers = settings["concurrency"]
        with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="openai-bulk") as pool:
            async for key, value in _engine(client, requests, pool=pool, order=order, **settings):
                results[key] = value

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(collect())  # the usual case: no loop in this thread
    else:  # called from inside a running loop (a notebook): run beside it, not in it
        with concurrent.futures.ThreadPoolExecutor(1) as helper:
            helper.submit(asyncio.run, collect()).result()
    return [(key, results[key]) for key in order]
