"""Shared fixtures: the local server, TLS material, and every built-in transport under one harness."""

from __future__ import annotations

import asyncio
import os
import ssl
from typing import Any, Iterator, List

import pytest
from support import CLIENT_TRANSPORTS, Caller

from openai_bindings import plugins
from openai_bindings.http import Request, Response
from openai_bindings.testing import FakeOpenAIServer, LocalServer
from openai_bindings.transport import ThreadedAsyncTransport
from openai_bindings.transports import AiohttpTransport, StdlibTransport, Urllib3Transport

pytest_plugins = ["pytester"]

#: (id, transport factory, is_async): every built-in transport in both flavours it has.
TRANSPORTS = [
    ("stdlib", lambda **kw: StdlibTransport(**kw), False),
    ("stdlib-async", lambda **kw: ThreadedAsyncTransport(StdlibTransport(**kw)), True),
    ("urllib3", lambda **kw: Urllib3Transport(**kw), False),
    ("aiohttp", lambda **kw: AiohttpTransport(**kw), True),
]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's keys or settings, and each starts with fresh plugins."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "GEMINI_", "GOOGLE_API", "AZURE_OPENAI", "OPENROUTER_")):
            monkeypatch.delenv(name, raising=False)
    plugins.reset()
    yield
    plugins.reset()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as running:
        yield running


@pytest.fixture
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        yield running


@pytest.fixture(scope="session")
def ca() -> Any:
    trustme = pytest.importorskip("trustme")
    return trustme.CA()


@pytest.fixture
def tls_server(ca: Any) -> Iterator[LocalServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    with LocalServer(ssl_context=context) as running:
        yield running


class Harness:
    """Drives a sync or async transport with one sync API, so one test covers all of them."""

    def __init__(self, name: str, factory: Any, is_async: bool, **kwargs: Any) -> None:
        self.name = name
        self.is_async = is_async
        self.transport = factory(**kwargs)
        self.loop = asyncio.new_event_loop() if is_async else None

    def run(self, awaitable: Any) -> Any:
        assert self.loop is not None
        return self.loop.run_until_complete(awaitable)

    def send(self, request: Request) -> Response:
        if self.is_async:
            return self.run(self.transport.send(request))
        return self.transport.send(request)

    def chunks(self, response: Response) -> Iterator[bytes]:
        if not self.is_async:
            yield from response.iter_bytes()
            return
        iterator = response.aiter_bytes()
        while True:
            try:
                yield self.run(iterator.__anext__())
            except StopAsyncIteration:
                return

    def read(self, response: Response) -> bytes:
        return b"".join(self.chunks(response))

    def close(self) -> None:
        if self.is_async:
            self.run(self.transport.close())
            assert self.loop is not None
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()
        else:
            self.transport.close()


@pytest.fixture(params=TRANSPORTS, ids=[t[0] for t in TRANSPORTS])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    name, factory, is_async = request.param
    made: List[Harness] = []

    def make(**kwargs: Any) -> Harness:
        made.append(Harness(name, factory, is_async, **kwargs))
        return made[-1]

    first = make()
    first.make = make  # type: ignore[attr-defined]
    yield first
    for each in made:
        each.close()


@pytest.fixture(
    params=CLIENT_TRANSPORTS, ids=[f"{'async' if a else 'sync'}-{n}" for n, a in CLIENT_TRANSPORTS]
)
def make_caller(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Builds clients on one transport (sync or async) behind the same calling API."""
    made: List[Caller] = []

    def make(**options: Any) -> Caller:
        name, is_async = request.param
        made.append(Caller(name, is_async, **options))
        return made[-1]

    yield make
    for caller in made:
        caller.close()
