"""A pytest plugin (entry point ``pytest11``): fixtures for testing code that uses openai_bindings.

    def test_my_bot(openai_server, openai_client):
        openai_server.reply_with("Bonjour!")
        assert my_bot.greet(openai_client) == "Bonjour!"
        assert openai_server.requests[-1].json["messages"][0]["role"] == "system"

    async def test_my_async_bot(openai_server, openai_async_client):   # with any async test runner
        assert (await openai_async_client.models()).status == 200

No conftest code is needed: installing openai-bindings makes the fixtures available.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Coroutine, Iterator

import pytest

from ..client import AsyncOpenAI, OpenAI
from .fake import FakeOpenAIServer


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    """A running FakeOpenAIServer on 127.0.0.1, stopped after the test."""
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def openai_client(openai_server: FakeOpenAIServer) -> Iterator[OpenAI]:
    """An OpenAI client pointed at ``openai_server`` (no key, no network, no retries)."""
    with OpenAI(api_key="sk-test", base_url=openai_server.base_url, max_retries=0) as client:
        yield client


@pytest.fixture
def openai_async_client(openai_server: FakeOpenAIServer) -> Iterator[AsyncOpenAI]:
    """An AsyncOpenAI pointed at ``openai_server``, closed after the test.

    A plain fixture, so it works with any async test runner (pytest-asyncio,
    anyio, or ``asyncio.run`` in a sync test); the client opens its connections
    in whichever loop first uses it.
    """
    client = AsyncOpenAI(api_key="sk-test", base_url=openai_server.base_url, max_retries=0)
    yield client
    _run_to_end(client.close())


def _run_to_end(coroutine: Coroutine[Any, Any, Any]) -> None:
    """Run ``coroutine`` now, even when this thread is inside a running loop (then in a helper thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coroutine)
        return
    worker = threading.Thread(target=asyncio.run, args=(coroutine,), name="openai_async_client-close")
    worker.start()
    worker.join(30)
