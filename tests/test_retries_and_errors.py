"""Errors, retries and timeouts against the local server, on every transport, sync and async."""

from __future__ import annotations

import json
import threading
import time

import pytest

from openai_bindings import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    StreamError,
    UnprocessableEntityError,
)
from openai_bindings.http import Headers
from openai_bindings.retry import backoff, server_wait
from openai_bindings.testing import Drop, Reply, Reset, Stall, sse

HI = [{"role": "user", "content": "hi"}]
CHAT = "/v1/chat/completions"


def error_body(message: str, code: str | None = None, type: str = "invalid_request_error") -> dict:
    return {"error": {"message": message, "type": type, "param": None, "code": code}}


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
        (418, APIStatusError),
    ],
)
def test_status_maps_to_class(make_caller, fake, status, cls):
    call = make_caller(base_url=fake.base_url, max_retries=0)
    fake.queue(Reply(status=status, body=error_body("went wrong", "e1"), headers={"x-request-id": "req_9"}))
    with pytest.raises(cls) as info:
        call("create_chat_completion", HI)
    error = info.value
    assert type(error) is cls
    assert (error.status, error.code, error.type, error.request_id) == (
        status,
        "e1",
        "invalid_request_error",
        "req_9",
    )
    assert error.body == error_body("went wrong", "e1")
    assert error.headers["X-Request-Id"] == "req_9"


def test_error_reads_like_openai_python(make_caller, fake):
    call = make_caller(base_url=fake.base_url, api_key="sk-abcdef123")
    body = error_body("Incorrect API key provided: sk-abc***123.", "invalid_api_key")
    fake.queue(Reply(status=401, body=body, headers={"x-request-id": "req_123"}))
    with pytest.raises(AuthenticationError) as info:
        call("models")
    assert str(info.value) == (
        "Error code: 401 - Incorrect API key provided: sk-abc***123. (invalid_api_key) [request_id=req_123]"
    )


def test_a_key_the_server_echoes_back_is_not_in_the_error(make_caller, fake):
    call = make_caller(base_url=fake.base_url, api_key="sk-echoed-in-full-1234")
    body = error_body("Incorrect API key provided: sk-echoed-in-full-1234.", "invalid_api_key")
    fake.queue(Reply(status=401, body=body))
    with pytest.raises(AuthenticationError) as info:
        call("models")
    assert "sk-echoed-in-full-1234" not in str(info.value) + repr(info.value)
    assert "Incorrect API key provided: <redacted>." in str(info.value)


def test_html_error_page_gives_a_readable_message(make_caller, fake):
    call = make_caller(base_url=fake.base_url, max_retries=0)
    page = "<html><body><h1>502 Bad Gateway</h1>" + "x" * 2000 + "</body></html>"
    fake.queue(Reply(status=502, body=page, headers={"Content-Type": "text/html"}))
    with pytest.raises(InternalServerError) as info:
        call("models")
    assert "HTML page" in str(info.value) and "<html" not in str(info.value)
    assert info.value.body == page


def test_429_with_retry_after_is_waited_then_retried(make_caller, fake):
    call = make_caller(base_url=fake.base_url)
    fake.queue(Reply(status=429, body=error_body("slow down"), headers={"Retry-After": "1"}), path=CHAT)
    started = time.monotonic()
    result = call("create_chat_completion", HI)
    assert time.monotonic() - started >= 0.9  # the server's Retry-After was honoured
    assert result.status == 200
    assert len(fake.requests) == 2
    assert fake.requests[0].json == fake.requests[1].json


def test_500_three_times_gives_up_after_three_requests(make_caller, fake):
    call = make_caller(base_url=fake.base_url)
    fails = [Reply(status=500, body=error_body("boom"), headers={"retry-after-ms": "10"}) for _ in range(3)]
    fake.queue(*fails, path=CHAT)
    with pytest.raises(InternalServerError, match="boom"):
        call("create_chat_completion", HI)
    assert len(fake.requests) == 3


def test_max_retries_per_call_and_no_retry_for_400(make_caller, fake):
    call = make_caller(base_url=fake.base_url, max_retries=5)
    fake.queue(Reply(status=503, headers={"retry-after-ms": "1"}), path=CHAT)
    with pytest.raises(InternalServerError):
        call("create_chat_completion", HI, max_retries=0)
    assert len(fake.requests) == 1
    fake.queue(Reply(status=400, body=error_body("bad")), path=CHAT)
    with pytest.raises(BadRequestError):
        call("create_chat_completion", HI)
    assert len(fake.requests) == 2


def test_x_should_retry_header_wins(make_caller, fake):
    call = make_caller(base_url=fake.base_url)
    fake.queue(Reply(status=500, headers={"x-should-retry": "false"}), path=CHAT)
    with pytest.raises(InternalServerError):
        call("create_chat_completion", HI)
    assert len(fake.requests) == 1


def test_connection_errors_are_retried(make_caller, fake):
    call = make_caller(base_url=fake.base_url)
    fake.queue(Reset(), path=CHAT)
    assert call("create_chat_completion", HI).status == 200
    assert len(fake.requests) == 2


def test_stalled_server_times_out_within_the_bound(make_caller, fake):
    call = make_caller(base_url=fake.base_url, timeout=0.5, max_retries=0)
    fake.queue(Stall(20), path=CHAT)
    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        call("create_chat_completion", HI)
    assert time.monotonic() - started < 5


def test_per_call_timeout_and_timeouts_are_retried(make_caller, fake):
    call = make_caller(base_url=fake.base_url)
    fake.queue(Stall(20), path=CHAT)
    assert call("create_chat_completion", HI, timeout=0.5).status == 200
    assert len(fake.requests) == 2


def test_slow_but_steady_stream_does_not_time_out(make_caller, fake):
    """read bounds each wait for bytes, not the whole stream."""
    call = make_caller(base_url=fake.base_url, timeout=0.6)
    events = [{"choices": [{"index": 0, "delta": {"content": f"{n} "}}]} for n in range(5)]
    chunks = [sse(event, done=False) for event in events] + [b"data: [DONE]\n\n"]
    fake.queue(
        Reply(chunks=chunks, chunk_delay=0.25, headers={"Content-Type": "text/event-stream"}), path=CHAT
    )
    stream = call("create_chat_completion", HI, stream=True)
    assert len(call.events(stream)) == 5  # 1.5 s in all, more than the timeout
    assert stream.text == "0 1 2 3 4 "


def test_connection_reset_mid_stream_raises_and_is_not_retried(make_caller, fake):
    call = make_caller(base_url=fake.base_url)
    first = sse({"choices": [{"index": 0, "delta": {"content": "partial"}}]}, done=False)
    arrived = threading.Event()  # the server drops the connection once the first event is seen
    fake.queue(
        Drop(sent=first, chunked=True, headers={"Content-Type": "text/event-stream"}, gate=arrived), path=CHAT
    )
    stream = call("create_chat_completion", HI, stream=True)
    assert call.next_event(stream)["choices"][0]["delta"]["content"] == "partial"  # what arrived is delivered
    arrived.set()
    with pytest.raises(APIConnectionError):  # then the failure is raised: never a silent, truncated end
        call.next_event(stream)
    assert stream.text == "partial"
    assert len(fake.requests) == 1
    assert stream.closed


def test_error_event_mid_stream(make_caller, fake):
    call = make_caller(base_url=fake.base_url)
    body = sse(
        {"choices": [{"index": 0, "delta": {"content": "a"}}]},
        {"error": {"message": "The model crashed", "type": "server_error", "code": None}},
        done=False,
    )
    fake.queue(Reply(chunks=[body], headers={"Content-Type": "text/event-stream"}), path=CHAT)
    stream = call("create_chat_completion", HI, stream=True)
    with pytest.raises(StreamError, match="The model crashed"):
        call.events(stream)
    assert stream.closed


def test_stream_error_status_raises_before_streaming(make_caller, fake):
    call = make_caller(base_url=fake.base_url, max_retries=0)
    fake.queue(Reply(status=401, body=error_body("no key", "invalid_api_key")), path=CHAT)
    with pytest.raises(AuthenticationError, match="no key"):
        call("create_chat_completion", HI, stream=True)


def test_stream_closes_on_break_and_connection_is_reusable(fake):
    import openai_bindings

    client = openai_bindings.OpenAI(base_url=fake.base_url, transport="stdlib")
    with client.create_chat_completion(
        [{"role": "user", "content": "one two three four"}], stream=True
    ) as stream:
        for _ in stream:
            break
    assert stream.closed
    stream = client.create_chat_completion(HI, stream=True)
    for _ in stream:
        break
    stream.close()
    assert stream.closed
    assert client.create_chat_completion(HI).status == 200


# -- the retry policy itself -----------------------------------------------------------------


def test_retry_policy_reads_what_the_server_asked():
    assert server_wait(Headers({"retry-after-ms": "250"})) == 0.25
    assert server_wait(Headers({"retry-after-ms": "250", "Retry-After": "9"})) == 0.25  # ms first
    assert server_wait(Headers({"Retry-After": "3"})) == 3.0
    assert server_wait(Headers({"Retry-After": "3600"})) == 3600.0  # the policy decides, not the parser
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 10))
    assert 8 <= server_wait(Headers({"Retry-After": when})) <= 10.5
    for malformed in ("soon", "", "-5", "nan", "inf", "1e999", "Mon, 99 Foo 2024", "⓵", " "):
        assert server_wait(Headers({"Retry-After": malformed})) is None, malformed
    assert server_wait(Headers({"retry-after-ms": "x", "Retry-After": "2"})) == 2.0
    assert server_wait(Headers({})) is None


def test_backoff_doubles_to_a_cap_with_jitter():
    no_jitter = lambda: 0.0  # noqa: E731
    assert [backoff(n, no_jitter) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert backoff(3, lambda: 1.0) == 3.0  # jitter takes up to a quarter off


def test_decoded_error_body_of_a_list(fake):
    import openai_bindings

    client = openai_bindings.OpenAI(base_url=fake.base_url, transport="stdlib", max_retries=0)
    fake.queue(Reply(status=400, body=[{"error": {"message": "Gemini style", "status": "INVALID_ARGUMENT"}}]))
    with pytest.raises(BadRequestError) as info:
        client.models()
    assert info.value.message == "Gemini style" and info.value.type == "INVALID_ARGUMENT"
    assert json.loads(json.dumps(info.value.body))  # the body is kept as decoded


def test_fake_server_scripted_delay_and_drop(fake):
    import openai_bindings

    client = openai_bindings.OpenAI(base_url=fake.base_url, transport="stdlib", max_retries=0, timeout=0.3)
    fake.delay_next(2)
    with pytest.raises(APITimeoutError):
        client.models()
    fake.drop_next(b'{"partial')
    with pytest.raises(APIConnectionError):
        client.models()
    assert client.models().status == 200  # back to normal
