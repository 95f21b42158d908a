"""The fault matrix: every built-in transport x (sync, async) x (streamed, not), one outcome per cell.

The local server is scripted to misbehave the ways networks and servers do; each
scenario states the one outcome every transport must give (the core's
guarantees make them the same), and every test has a hard time bound.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, List, Optional

import pytest

from openai_bindings import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    InternalServerError,
    RateLimitError,
    StreamError,
)
from openai_bindings.testing import Drop, Reply, Reset, Stall

pytestmark = pytest.mark.timeout(60)

HI = [{"role": "user", "content": "hi"}]
CHAT = "/v1/chat/completions"
SSE = {"Content-Type": "text/event-stream"}
JSON = {"Content-Type": "application/json"}


def chunk(text: str, **extra: Any) -> bytes:
    event = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": text}}],
    }
    event.update(extra)
    return f"data: {json.dumps(event)}\n\n".encode()


def completion(text: str = "fine") -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
    }


DONE = b"data: [DONE]\n\n"


@dataclass
class Outcome:
    """What a scenario must give: an error class (and words in its message), or events / a body."""

    error: Optional[type] = None
    words: str = ""
    events: Optional[int] = None  # streamed: how many events arrive before the end or the error
    text: Optional[str] = None  # streamed: the accumulated text; plain: the message content
    requests: Optional[int] = None  # how many requests the server saw
    check: Optional[Callable[[Any], None]] = None


@dataclass
class Scenario:
    name: str
    streamed: bool
    actions: Callable[[threading.Event], List[Any]]  # given a gate nobody opens during the test
    outcome: Outcome
    max_retries: int = 0
    read_timeout: float = 5.0


BIG_LINE = 10 * 1024 * 1024


def many_events() -> bytes:
    return b"".join(chunk("a") for _ in range(100_000)) + DONE


def retry_date(seconds: float) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + seconds))


def both(name: str, actions: Callable[[threading.Event], List[Any]], outcome: Outcome, **options: Any):
    """The same fault and outcome for a plain call and a streamed one."""
    return [Scenario(name, streamed, actions, outcome, **options) for streamed in (False, True)]


def scenarios() -> List[Scenario]:
    cut = Outcome(APIConnectionError)
    return [
        # -- the server never answers, or stops answering --------------------------------------
        *both("accept-and-stall", lambda gate: [Stall(10)], Outcome(APITimeoutError), read_timeout=0.3),
        Scenario(
            "headers-then-stall",
            False,
            lambda gate: [Drop(headers=JSON, gate=gate)],
            Outcome(APITimeoutError),
            read_timeout=0.3,
        ),
        Scenario(
            "headers-then-stall",
            True,
            lambda gate: [Drop(headers=SSE, chunked=True, gate=gate)],
            Outcome(APITimeoutError, events=0),
            read_timeout=0.3,
        ),
        Scenario(
            "stall-between-events",
            True,
            lambda gate: [Reply(chunks=[chunk("one"), chunk("two"), DONE], gate=gate, headers=SSE)],
            Outcome(APITimeoutError, events=1, text="one"),
            read_timeout=0.3,
        ),
        Scenario(
            "stall-mid-body",
            False,
            lambda gate: [Reply(chunks=[b'{"id": "chatcmpl-1", ', b"}"], gate=gate, headers=JSON)],
            Outcome(APITimeoutError),
            read_timeout=0.3,
        ),
        # -- the connection breaks -----------------------------------------------------------------
        *both("reset-before-headers", lambda gate: [Reset()], cut),
        Scenario(
            "reset-mid-body", False, lambda gate: [Drop(sent=b'{"id": "chatcmpl-1", "cho', headers=JSON)], cut
        ),
        Scenario(
            "reset-mid-stream",
            True,
            lambda gate: [Drop(sent=chunk("one") + chunk("two"), headers=SSE, chunked=True)],
            Outcome(APIConnectionError, events=2, text="onetwo"),
        ),
        Scenario(
            "content-length-larger-than-body",
            False,
            lambda gate: [Drop(sent=json.dumps(completion()).encode(), headers=JSON)],
            Outcome(APIConnectionError),
        ),
        Scenario(
            "content-length-larger-than-stream",
            True,
            lambda gate: [Drop(sent=chunk("one") + chunk("two"), headers=SSE)],
            Outcome(APIConnectionError, events=2, text="onetwo"),
        ),
        Scenario(
            "cut-off-after-done-is-whole",
            True,
            lambda gate: [Drop(sent=chunk("one") + DONE, headers=SSE)],
            Outcome(events=1, text="one"),
        ),
        Scenario(
            "reset-then-200",
            False,
            lambda gate: [Reset(), Reply(body=completion("again"))],
            Outcome(text="again", requests=2),
            max_retries=1,
        ),
        # -- a 2xx that is not what it claims --------------------------------------------------------
        Scenario(
            "truncated-json",
            False,
            lambda gate: [Reply(body=b'{"id": "chatcmpl-1", "choices": [', headers=JSON)],
            Outcome(APIResponseValidationError, words="not valid JSON"),
        ),
        Scenario(
            "invalid-utf8-json",
            False,
            lambda gate: [Reply(body=b'{"id": "\xff\xfe"}', headers=JSON)],
            Outcome(APIResponseValidationError, words="not valid JSON"),
        ),
        Scenario(
            "invalid-utf8-in-a-stream-is-replaced",
            True,
            lambda gate: [
                Reply(
                    chunks=[b'data: {"choices": [{"index": 0, "delta": {"content": "a\xffb"}}]}\n\n', DONE],
                    headers=SSE,
                )
            ],
            Outcome(events=1, text="a\ufffdb"),
        ),
        Scenario(
            "truncated-json-event",
            True,
            lambda gate: [
                Reply(chunks=[chunk("one") + b'data: {"choices": [\n\n' + chunk("lost")], headers=SSE)
            ],
            Outcome(StreamError, words="invalid JSON", events=1, text="one"),
        ),
        # -- statuses ------------------------------------------------------------------------------------
        *both(
            "html-502",
            lambda gate: [
                Reply(
                    status=502,
                    body="<html><body>Bad Gateway</body></html>",
                    headers={"Content-Type": "text/html"},
                )
            ],
            Outcome(InternalServerError, words="HTML page", requests=1),
        ),
        Scenario(
            "429-retry-after-seconds-then-200",
            False,
            lambda gate: [
                Reply(status=429, body={"error": {"message": "slow"}}, headers={"Retry-After": "1"}),
                Reply(body=completion()),
            ],
            Outcome(text="fine", requests=2, check=lambda elapsed: elapsed >= 0.9),
            max_retries=2,
        ),
        Scenario(
            "429-retry-after-date-then-200",
            False,
            lambda gate: [
                Reply(
                    status=429,
                    body={"error": {"message": "slow"}},
                    headers={"Retry-After": retry_date(1)},
                ),
                Reply(body=completion()),
            ],
            Outcome(text="fine", requests=2),
            max_retries=2,
        ),
        Scenario(
            "429-retry-after-3600-is-not-retried",
            False,
            lambda gate: [
                Reply(status=429, body={"error": {"message": "slow"}}, headers={"Retry-After": "3600"})
            ],
            Outcome(RateLimitError, words="retry after 3600", requests=1, check=lambda elapsed: elapsed < 2),
            max_retries=2,
        ),
        Scenario(
            "429-malformed-retry-after-backs-off",
            False,
            lambda gate: [
                Reply(status=429, body={"error": {"message": "slow"}}, headers={"Retry-After": "soon"}),
                Reply(body=completion()),
            ],
            Outcome(text="fine", requests=2),
            max_retries=2,
        ),
        Scenario(
            "429-retry-after-ms",
            True,
            lambda gate: [
                Reply(status=429, body={"error": {"message": "slow"}}, headers={"retry-after-ms": "50"}),
                Reply(chunks=[chunk("ok"), DONE], headers=SSE),
            ],
            Outcome(events=1, text="ok", requests=2),
            max_retries=2,
        ),
        Scenario(
            "500-then-200",
            False,
            lambda gate: [Reply(status=500, body={"error": {"message": "oops"}}), Reply(body=completion())],
            Outcome(text="fine", requests=2),
            max_retries=2,
        ),
        Scenario(
            "503-on-a-stream-then-200",
            True,
            lambda gate: [
                Reply(status=503, body={"error": {"message": "busy"}}),
                Reply(chunks=[chunk("ok"), DONE], headers=SSE),
            ],
            Outcome(events=1, text="ok", requests=2),
            max_retries=2,
        ),
        # -- streams of every size and shape ---------------------------------------------------------
        Scenario(
            "a-10-MB-SSE-line",
            True,
            lambda gate: [Reply(chunks=[chunk("x" * BIG_LINE), DONE], headers=SSE)],
            Outcome(events=1, check=lambda stream: len(stream.text) == BIG_LINE),
        ),
        Scenario(
            "100000-events",
            True,
            lambda gate: [Reply(chunks=[many_events()], headers=SSE)],
            Outcome(events=100_000, check=lambda stream: len(stream.text) == 100_000),
        ),
        Scenario(
            "no-done",
            True,
            lambda gate: [Reply(chunks=[chunk("a"), chunk("b")], headers=SSE)],
            Outcome(events=2, text="ab"),
        ),
        Scenario(
            "an-event-after-done-is-ignored",
            True,
            lambda gate: [Reply(chunks=[chunk("a"), DONE, chunk("late")], headers=SSE)],
            Outcome(events=1, text="a"),
        ),
        Scenario(
            "error-event-in-the-same-write-as-good-events",
            True,
            lambda gate: [
                Reply(
                    chunks=[
                        chunk("one")
                        + chunk("two")
                        + b'data: {"error": {"message": "overloaded", "code": "busy"}}\n\n'
                        + chunk("never")
                    ],
                    headers=SSE,
                )
            ],
            Outcome(StreamError, words="overloaded", events=2, text="onetwo"),
        ),
        Scenario(
            "malformed-shape-is-a-stream-error",
            True,
            lambda gate: [Reply(chunks=[chunk("one") + b'data: {"choices": [null]}\n\n'], headers=SSE)],
            Outcome(StreamError, words="unexpected shape", events=1, text="one"),
        ),
        Scenario(
            "a-leading-bom",
            True,
            lambda gate: [
                Reply(chunks=[b"\xef\xbb\xbf" + chunk("first") + chunk("second") + DONE], headers=SSE)
            ],
            Outcome(events=2, text="firstsecond"),
        ),
    ]


SCENARIOS = scenarios()  # the payloads are built only when a test asks for its actions


def run(call: Any, scenario: Scenario) -> tuple[Any, List[Any], Optional[BaseException]]:
    """Make the call; for a stream, read events until the end or an error. Returns what came."""
    events: List[Any] = []
    stream = None
    try:
        if scenario.streamed:
            stream = call("create_chat_completion", HI, stream=True)
            while True:
                try:
                    events.append(call.next_event(stream))
                except (StopIteration, StopAsyncIteration):
                    return stream, events, None
        return call("create_chat_completion", HI), events, None
    except Exception as error:
        return stream, events, error


@pytest.mark.parametrize(
    "scenario", SCENARIOS, ids=[f"{s.name}-{'stream' if s.streamed else 'plain'}" for s in SCENARIOS]
)
def test_fault(make_caller, server, scenario):
    call = make_caller(
        base_url=server.url("/v1"), max_retries=scenario.max_retries, timeout=(2.0, scenario.read_timeout)
    )
    gate = threading.Event()
    try:
        _check(call, server, scenario, gate)
    finally:
        gate.set()  # release what the server held back, so its threads end with the test


def _check(call: Any, server: Any, scenario: Scenario, gate: threading.Event) -> None:
    server.queue(*scenario.actions(gate), path=CHAT)
    started = time.monotonic()
    result, events, error = run(call, scenario)
    elapsed = time.monotonic() - started
    expected = scenario.outcome
    if expected.error is None:
        assert error is None, f"{scenario.name}: expected success, got {error!r}"
    else:
        assert isinstance(error, expected.error), f"{scenario.name}: expected {expected.error}, got {error!r}"
        assert expected.words in str(error)
        assert type(error).__module__.startswith("openai_bindings")
    if expected.events is not None:
        assert len(events) == expected.events
    if expected.text is not None:
        got = result.text if scenario.streamed else result.body["choices"][0]["message"]["content"]
        assert got == expected.text
    if expected.requests is not None:
        assert len(server.requests) == expected.requests
    if expected.check is not None:
        expected.check(result if scenario.streamed and error is None else elapsed)
    if result is not None and scenario.streamed:
        assert result.closed  # whatever happened, the stream let go of its connection


# -- the ones that need no server --------------------------------------------------------------


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket is closed


@pytest.mark.parametrize("streamed", [False, True])
def test_refused(make_caller, closed_port, streamed):
    call = make_caller(base_url=f"http://127.0.0.1:{closed_port}/v1", max_retries=0)
    with pytest.raises(APIConnectionError) as info:
        call("create_chat_completion", HI, stream=streamed)
    assert not isinstance(info.value, APITimeoutError)


@pytest.mark.parametrize("streamed", [False, True])
def test_unresolvable_host(make_caller, monkeypatch, streamed):
    """Name resolution fails the way a resolver says NXDOMAIN (no query leaves the machine)."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if str(host).startswith("unresolvable.invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    call = make_caller(base_url="http://unresolvable.invalid/v1", max_retries=0)
    with pytest.raises(APIConnectionError) as info:
        call("create_chat_completion", HI, stream=streamed)
    assert not isinstance(info.value, APITimeoutError)
