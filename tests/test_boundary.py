"""The error boundary: whatever a transport raises reaches the user typed, and never with the key.

Third-party transports that misbehave in every place they can (send, the body, close),
and real HTTP stacks whose own errors hold the request's headers.
"""

from __future__ import annotations

import socket
import threading
from typing import Any, Iterator, List

import pytest

import openai_bindings
from openai_bindings import APIConnectionError, APITimeoutError, OpenAIError, Response

KEY = "sk-test-boundary-KEY"  # distinctive, and not shaped like a real key
HI = [{"role": "user", "content": "hi"}]


def chain(error: BaseException) -> List[BaseException]:
    """Every exception reachable from ``error`` through __cause__ and __context__."""
    found: List[BaseException] = []
    todo = [error]
    while todo:
        current = todo.pop()
        if current is None or any(current is seen for seen in found):
            continue
        found.append(current)
        todo += [current.__cause__, current.__context__]  # type: ignore[list-item]
    return found


def assert_no_key(error: BaseException) -> None:
    for link in chain(error):
        shown = [repr(link), str(link), repr(link.args)]
        shown += [repr(value) for value in getattr(link, "__dict__", {}).values()]
        for text in shown:
            assert KEY not in text, f"{type(link).__name__} shows the key: {text[:200]}"


class ReadTimeout(Exception):
    """What requests and httpx call a read timeout: a foreign class, named like one."""


class LeakyError(Exception):
    """A plugin's error that keeps the request, headers and all, as some HTTP stacks' errors do."""

    def __init__(self, request: Any) -> None:
        super().__init__(f"failed sending {dict(request.headers)}")
        self.headers = dict(request.headers)


class Misbehaving:
    """A sync transport that fails where it is told to."""

    name = "misbehaving"

    def __init__(self, where: str, error: Any) -> None:
        self.where = where
        self.error = error

    def _raise(self, request: Any) -> None:
        raise self.error(request) if self.error is LeakyError else self.error

    def send(self, request: Any) -> Response:
        if self.where == "send":
            self._raise(request)
        body = b'{"object": "list", "data": []}'

        def stream() -> Iterator[bytes]:
            if self.where == "body":
                yield body[:5]
                self._raise(request)
            yield body

        def close() -> None:
            if self.where == "close":
                self._raise(request)

        return Response(200, {"Content-Type": "application/json"}, stream(), close)


class AsyncMisbehaving(Misbehaving):
    async def send(self, request: Any) -> Response:  # type: ignore[override]
        response = Misbehaving.send(self, request)
        chunks = response.stream

        async def stream() -> Any:
            for chunk in chunks:  # type: ignore[union-attr]
                yield chunk

        async def close() -> None:
            response.close()

        return Response(200, response.headers, stream(), close)


ERRORS = [
    (ValueError("something odd"), APIConnectionError),
    (ConnectionResetError(104, "reset"), APIConnectionError),
    (TimeoutError("timed out"), APITimeoutError),
    (ReadTimeout("read timed out"), APITimeoutError),
    (LeakyError, APIConnectionError),
]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("where", ["send", "body"])
@pytest.mark.parametrize(
    ("raised", "expected"),
    ERRORS,
    ids=[type(e).__name__ if not isinstance(e, type) else e.__name__ for e, _ in ERRORS],
)
def test_foreign_errors_become_typed_errors_without_the_key(is_async, where, raised, expected):
    transport = (AsyncMisbehaving if is_async else Misbehaving)(where, raised)
    client_class = openai_bindings.AsyncOpenAI if is_async else openai_bindings.OpenAI
    client = client_class(KEY, base_url="http://127.0.0.1:9/v1", transport=transport, max_retries=0)
    with pytest.raises(OpenAIError) as info:
        if is_async:
            import asyncio

            asyncio.run(client.models())
        else:
            client.models()
    error = info.value
    assert type(error) is expected
    assert "misbehaving" in str(error)  # says which transport failed
    assert_no_key(error)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_a_failing_close_after_a_whole_answer_does_not_fail_the_call(is_async, caplog):
    transport = (AsyncMisbehaving if is_async else Misbehaving)("close", LeakyError)
    client_class = openai_bindings.AsyncOpenAI if is_async else openai_bindings.OpenAI
    client = client_class(KEY, base_url="http://127.0.0.1:9/v1", transport=transport)
    if is_async:
        import asyncio

        result = asyncio.run(client.models())
    else:
        result = client.models()
    assert result.body == {"object": "list", "data": []}
    warned = [r.getMessage() for r in caplog.records if r.name == "openai_bindings"]
    assert any("releasing the connection failed" in m for m in warned)
    assert not any(KEY in m for m in warned)


def test_a_stream_whose_transport_fails_midway(fake):
    class Cuts(Misbehaving):
        def send(self, request: Any) -> Response:
            def stream() -> Iterator[bytes]:
                yield b'data: {"choices": [{"index": 0, "delta": {"content": "a"}}]}\n\n'
                raise LeakyError(request)

            return Response(200, {"Content-Type": "text/event-stream"}, stream())

    client = openai_bindings.OpenAI(KEY, base_url="http://127.0.0.1:9/v1", transport=Cuts("", None))
    stream = client.create_chat_completion(HI, stream=True)
    assert next(stream)["choices"][0]["delta"]["content"] == "a"
    with pytest.raises(APIConnectionError) as info:
        next(stream)
    assert_no_key(info.value)
    assert stream.closed


# -- real stacks whose errors hold the request -------------------------------------------------


@pytest.fixture
def garbage_server() -> Iterator[str]:
    """Answers every request with a status line no HTTP parser accepts."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 abc Nonsense\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    stop.set()
    thread.join(2)
    listener.close()


def test_a_malformed_answer_on_every_transport_keeps_the_key_out(make_caller, garbage_server):
    """aiohttp's error for a bad status line keeps the request headers (Authorization included)."""
    call = make_caller(base_url=garbage_server, api_key=KEY, max_retries=0)
    with pytest.raises(APIConnectionError) as info:
        call("models")
    assert_no_key(info.value)


# -- the README's (DESIGN's) example transport, copied as users will ----------------------------


def test_the_design_example_transport_cannot_turn_a_cut_body_into_a_success(server):
    from openai_bindings.testing import Drop

    namespace: dict = {}
    exec(
        __import__("test_plugins")
        .DESIGN_EXAMPLE.replace("@hookimpl", "")
        .replace("def register_transports(register):\n    register(UrllibTransport)", ""),
        namespace,
    )
    client = openai_bindings.OpenAI(
        KEY, base_url=server.url("/v1"), transport=namespace["UrllibTransport"](), max_retries=0
    )
    server.queue(Drop(sent=b'{"object": "list", "da', headers={"Content-Type": "application/json"}))
    with pytest.raises(APIConnectionError, match="cut off"):
        client.models()


def test_errors_travel_between_processes(make_caller, server):
    """A worker process hands its errors back pickled; keyword-only fields must survive."""
    import pickle

    from openai_bindings.testing import Reply

    call = make_caller(base_url=server.url("/v1"), max_retries=0)
    server.queue(
        Reply(status=429, body={"error": {"message": "slow", "code": "rl"}}, headers={"Retry-After": "300"})
    )
    with pytest.raises(openai_bindings.RateLimitError) as info:
        call("models")
    again = pickle.loads(pickle.dumps(info.value))
    assert type(again) is openai_bindings.RateLimitError
    assert (again.status, again.code, again.retry_after, again.headers["retry-after"]) == (
        429,
        "rl",
        300.0,
        "300",
    )
    assert str(again) == str(info.value)
