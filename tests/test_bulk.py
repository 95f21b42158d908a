"""bulk on both clients: bounded concurrency, rate limits, 429s and drops, every item exactly once."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import openai_bindings
from openai_bindings import bulk as bulk_module
from openai_bindings.bulk import RateLimiter, estimate_tokens, parse_duration, used_tokens
from openai_bindings.errors import APIConnectionError, BadRequestError, RateLimitError
from openai_bindings.result import APIResult
from openai_bindings.testing import FakeOpenAIServer, RateLimit
from openai_bindings.testing.server import Drop, RecordedRequest, Reply, Reset

CHAT = "/v1/chat/completions"


class Watched:
    """Sits before the fake's chat endpoint: notes when each request arrived, and can hold answers."""

    def __init__(self, fake: FakeOpenAIServer, hold: float = 0.0) -> None:
        self.inner = fake.default
        self.hold = hold
        self.lock = threading.Lock()
        self.arrivals: List[Tuple[float, str]] = []
        fake.route("POST", CHAT, self)

    def __call__(self, request: RecordedRequest) -> Any:
        text = request.json["messages"][-1]["content"]
        with self.lock:
            self.arrivals.append((time.monotonic(), text))
        reply = self.inner(request)
        delay = 0.3 if text == "slow" else self.hold
        return dataclasses.replace(reply, delay=delay) if delay and isinstance(reply, Reply) else reply


@pytest.fixture
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        yield running


def chat(*texts: str) -> List[Dict[str, Any]]:
    return [
        {"custom_id": f"k{i}", "body": {"messages": [{"role": "user", "content": text}]}}
        for i, text in enumerate(texts)
    ]


def sync_bulk(fake: FakeOpenAIServer, requests: Any, transport: str = "stdlib", **kwargs: Any) -> List[Any]:
    with openai_bindings.OpenAI(base_url=fake.base_url, transport=transport) as client:
        return client.bulk(requests, **kwargs)


def async_bulk(fake: FakeOpenAIServer, requests: Any, transport: str = "aiohttp", **kwargs: Any) -> List[Any]:
    async def go() -> List[Any]:
        async with openai_bindings.AsyncOpenAI(base_url=fake.base_url, transport=transport) as client:
            return [pair async for pair in client.bulk(requests, **kwargs)]

    return asyncio.run(go())


def text_of(result: Any) -> str:
    assert isinstance(result, APIResult), result
    return result.body["choices"][0]["message"]["content"]


@pytest.mark.parametrize("transport", ["stdlib", "urllib3"])
def test_sync_bulk_returns_every_item_in_input_order(fake: FakeOpenAIServer, transport: str) -> None:
    Watched(fake)
    texts = ["slow", *(f"t{i}" for i in range(7))]
    pairs = sync_bulk(fake, chat(*texts), transport=transport, concurrency=4)
    assert [key for key, _ in pairs] == [f"k{i}" for i in range(8)]
    assert [text_of(result) for _, result in pairs] == [f"echo: {t}" for t in texts]


@pytest.mark.parametrize("transport", ["aiohttp", "stdlib"])
def test_async_bulk_yields_in_completion_order(fake: FakeOpenAIServer, transport: str) -> None:
    Watched(fake)
    pairs = async_bulk(fake, chat("slow", "a", "b", "c"), transport=transport, concurrency=4)
    assert sorted(key for key, _ in pairs) == ["k0", "k1", "k2", "k3"]
    assert pairs[-1][0] == "k0" and text_of(pairs[-1][1]) == "echo: slow"  # the slow one comes last


@pytest.mark.parametrize("run", [sync_bulk, async_bulk], ids=["sync", "async"])
def test_concurrency_is_never_exceeded(fake: FakeOpenAIServer, run: Any) -> None:
    Watched(fake, hold=0.05)
    pairs = run(fake, chat(*(f"t{i}" for i in range(12))), concurrency=3)
    assert len(pairs) == 12
    assert 2 <= fake.max_in_flight <= 3  # counted by the server


def rate_limited(after: str = "50") -> Reply:
    body = {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}
    return Reply(status=429, body=body, headers={"retry-after-ms": after})


@pytest.mark.parametrize("run", [sync_bulk, async_bulk], ids=["sync", "async"])
def test_nothing_is_lost_under_429s_and_dropped_connections(fake: FakeOpenAIServer, run: Any) -> None:
    fake.queue(rate_limited(), Reset(), rate_limited(), Drop(sent=b'{"id": "x'), rate_limited(), path=CHAT)
    texts = [f"t{i}" for i in range(6)]
    pairs = run(fake, chat(*texts), concurrency=2)
    assert sorted(key for key, _ in pairs) == [f"k{i}" for i in range(6)]  # each exactly once
    assert sorted(text_of(result) for _, result in pairs) == sorted(f"echo: {t}" for t in texts)
    assert len([r for r in fake.requests if r.path == CHAT]) == 11  # 6 answers + 5 faults retried


def test_the_servers_own_rate_limit_loses_nothing(fake: FakeOpenAIServer) -> None:
    """The fake enforces 5 requests a second with 429s and x-ratelimit-* headers; no client limit is set."""
    with FakeOpenAIServer(rate_limit=RateLimit(requests=5, period=1.0)) as limited:
        pairs = sync_bulk(limited, chat(*(f"t{i}" for i in range(12))), concurrency=4)
        assert sorted(key for key, _ in pairs) == sorted(f"k{i}" for i in range(12))
        assert all(isinstance(result, APIResult) for _, result in pairs), pairs
        sent = [r for r in limited.requests if r.path == CHAT]
        assert len(sent) <= 2 * 12  # the headers and pauses kept 429s to a few


def test_a_failure_that_retrying_cannot_fix_is_the_items_result(fake: FakeOpenAIServer) -> None:
    requests = chat("a", "b")
    requests.insert(1, {"custom_id": "bad", "body": {"messages": []}})  # the fake answers 400
    requests.append(
        {"custom_id": "typo", "body": {"messages": [], "temprature": 1}}
    )  # refused before sending
    pairs = dict(sync_bulk(fake, requests))
    assert isinstance(pairs["bad"], BadRequestError) and isinstance(pairs["typo"], TypeError)
    assert text_of(pairs["k0"]) == "echo: a"
    assert len(fake.requests) == 3  # the 400 was not sent again, the typo never sent


def test_connection_failures_end_as_the_items_error_after_the_clients_retries(fake: FakeOpenAIServer) -> None:
    fake.queue(Reset(), Reset(), Reset(), path=CHAT)
    with openai_bindings.OpenAI(base_url=fake.base_url, max_retries=2) as client:
        ((key, error),) = client.bulk(chat("a"))
    assert key == "k0" and isinstance(error, APIConnectionError)
    assert len(fake.requests) == 3


def test_429s_without_end_become_the_items_error(
    fake: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk_module, "RATE_LIMIT_RETRIES", 2)
    fake.queue(*(rate_limited("1") for _ in range(3)), path=CHAT)
    ((_, error),) = sync_bulk(fake, chat("a"))
    assert isinstance(error, RateLimitError) and len(fake.requests) == 3
    quota = Reply(status=429, body={"error": {"message": "no quota", "code": "insufficient_quota"}})
    fake.queue(quota, path=CHAT)
    ((_, error),) = sync_bulk(fake, chat("b"))
    assert isinstance(error, RateLimitError) and error.code == "insufficient_quota"
    assert len(fake.requests) == 4  # an exhausted quota is not retried


@pytest.mark.parametrize("run", [sync_bulk, async_bulk], ids=["sync", "async"])
def test_done_keys_are_skipped(fake: FakeOpenAIServer, run: Any) -> None:
    pairs = run(fake, chat("a", "b", "c", "d"), done={"k1", "k3"})
    assert sorted(key for key, _ in pairs) == ["k0", "k2"]
    assert sorted(r.json["messages"][0]["content"] for r in fake.requests) == ["a", "c"]


def test_requests_per_minute_are_respected(fake: FakeOpenAIServer) -> None:
    """240 a minute is 4 a second, with at most one second's worth (4) in a burst."""
    watched = Watched(fake)
    pairs = sync_bulk(fake, chat(*(f"t{i}" for i in range(8))), concurrency=8, max_requests_per_minute=240)
    assert len(pairs) == 8
    times = sorted(t for t, _ in watched.arrivals)
    for i, moment in enumerate(times):  # never more than the burst plus what the rate allowed since
        assert i + 1 <= 4 + (moment - times[0]) * 4 + 0.5, (i, moment - times[0])
    assert times[-1] - times[0] >= 0.9


def test_tokens_per_minute_are_respected(fake: FakeOpenAIServer) -> None:
    """Answers without usage: each request costs its estimate; a budget of two a second lets 2 + 2/s go."""
    watched = Watched(fake)
    inner = watched.inner

    def without_usage(request: RecordedRequest) -> Any:
        reply = inner(request)
        return dataclasses.replace(reply, body={k: v for k, v in reply.body.items() if k != "usage"})

    watched.inner = without_usage
    requests = chat(*(f"t{i}" for i in range(4)))
    cost = estimate_tokens(requests[0]["body"])
    pairs = sync_bulk(fake, requests, concurrency=4, max_tokens_per_minute=cost * 2 * 60)
    assert len(pairs) == 4
    times = sorted(t for t, _ in watched.arrivals)
    assert times[-1] - times[0] >= 0.9


def test_the_servers_rate_limit_headers_pause_new_requests(fake: FakeOpenAIServer) -> None:
    watched = Watched(fake)
    inner = watched.inner

    def spent(request: RecordedRequest) -> Any:
        reply = inner(request)
        reply.headers.update({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "400ms"})
        return reply

    watched.inner = spent
    sync_bulk(fake, chat("a", "b"), concurrency=1)
    (first, _), (second, _) = sorted(watched.arrivals)
    assert second - first >= 0.35


def test_a_list_is_checked_before_anything_is_sent(fake: FakeOpenAIServer) -> None:
    with pytest.raises(ValueError, match="used twice"):
        sync_bulk(fake, chat("a", "b") + chat("c"))
    with pytest.raises(TypeError, match="iterable"):
        sync_bulk(fake, {"custom_id": "x", "body": {}})
    assert fake.requests == []
    for bad in ({"concurrency": 0}, {"max_requests_per_minute": -1}, {"progress": "yes"}):
        with pytest.raises((ValueError, TypeError)):
            sync_bulk(fake, chat("a"), **bad)

    def generated() -> Iterator[Any]:
        yield from chat("a")
        yield {"custom_id": "k0", "body": {}}

    with pytest.raises(ValueError, match="used twice"):  # a generator is checked as it is read
        sync_bulk(fake, generated(), concurrency=1)


def test_other_endpoints_by_url(fake: FakeOpenAIServer) -> None:
    requests = [
        {"custom_id": "e", "url": "/v1/embeddings", "body": {"input": "hello"}},
        {"custom_id": "m", "url": "/v1/moderations", "body": {"input": "hello"}},
        {"custom_id": "c", "body": {"messages": [{"role": "user", "content": "hi"}]}},
    ]
    pairs = dict(async_bulk(fake, requests))
    assert pairs["e"].body["data"][0]["embedding"] and pairs["m"].body["results"]
    assert {r.path for r in fake.requests} == {"/v1/embeddings", "/v1/moderations", CHAT}


def test_an_async_consumer_may_stop_early(fake: FakeOpenAIServer) -> None:
    Watched(fake, hold=0.05)

    async def go() -> List[str]:
        async with openai_bindings.AsyncOpenAI(base_url=fake.base_url) as client:
            seen = []
            stream = client.bulk(chat(*(f"t{i}" for i in range(10))), concurrency=3)
            async for key, _ in stream:
                seen.append(key)
                if len(seen) == 2:
                    break
            await stream.aclose()  # type: ignore[attr-defined]
            return seen

    assert len(asyncio.run(go())) == 2
    assert len(fake.requests) < 10


def test_progress_true_writes_lines_off_a_terminal(fake: FakeOpenAIServer, capsys: Any) -> None:
    sync_bulk(fake, chat("a", "b", "c"), progress=True)
    lines = capsys.readouterr().err.splitlines()
    assert lines and lines[-1].startswith("bulk [") and "3/3" in lines[-1]
    sync_bulk(fake, chat("a"))
    assert capsys.readouterr().err == ""


# -- the rate limiter, sans-IO (told the time, never sleeping) --------------------------------------


def test_rate_limiter_budgets() -> None:
    limiter = RateLimiter(max_requests_per_minute=120, max_tokens_per_minute=600)  # 2/s, 10 tokens/s
    assert limiter.delay(5, now=0.0) == 0.0
    limiter.take(5, now=0.0)
    limiter.take(5, now=0.0)
    assert limiter.delay(5, now=0.0) == pytest.approx(0.5)  # tokens: 0 left, 5 needed at 10/s
    limiter.settle(estimated=5, used=1)  # the answer said it used 1: 4 back
    assert limiter.delay(5, now=0.0) == pytest.approx(0.5)  # requests: 2 spent, 1 back after 0.5 s
    assert limiter.delay(5, now=0.5) == 0.0
    assert limiter.delay(100, now=0.5) == pytest.approx(0.1)  # over the burst: when full (9 -> 10)


def test_rate_limiter_follows_the_server() -> None:
    limiter = RateLimiter()
    limiter.observe({"x-ratelimit-remaining-requests": "3"}, in_flight=1, in_flight_tokens=0, now=10.0)
    assert limiter.delay(1, now=10.0) == 0.0
    headers = {"x-ratelimit-remaining-tokens": "50", "x-ratelimit-reset-tokens": "1m30s"}
    limiter.observe(headers, in_flight=0, in_flight_tokens=80, now=10.0)
    assert limiter.delay(1, now=10.0) == pytest.approx(90.0)
    limiter.observe({"x-ratelimit-remaining-requests": "junk"}, in_flight=5, in_flight_tokens=0, now=10.0)
    refilling = RateLimiter()  # 60 a minute, none left, 2 on their way: 3 more needed, one a second
    spent = {
        "x-ratelimit-limit-requests": "60",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "1m0s",
    }
    refilling.observe(spent, in_flight=2, in_flight_tokens=0, now=0.0)
    assert refilling.delay(1, now=0.0) == pytest.approx(3.0)
    limiter.pause(200.0, now=10.0)
    assert limiter.delay(1, now=20.0) == pytest.approx(190.0)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("120ms", 0.12),
        ("1h2m3.5s", 3723.5),
        ("0.5", 0.5),
        ("", None),
        ("soon", None),
    ],
)
def test_parse_duration(text: str, seconds: Any) -> None:
    assert parse_duration(text) == (pytest.approx(seconds) if seconds is not None else None)


def test_token_estimates_and_usage() -> None:
    small = estimate_tokens({"messages": [{"role": "user", "content": "hi"}]})
    capped = estimate_tokens({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 50, "n": 2})
    assert 0 < small < 20 and capped == small + 100 + len(', "max_tokens": 50, "n": 2') // 4
    assert used_tokens({"usage": {"total_tokens": 7}}) == 7
    assert used_tokens({"usage": {"input_tokens": 3, "output_tokens": 4}}) == 7
    assert used_tokens({"usage": None}) is None and used_tokens("text") is None
