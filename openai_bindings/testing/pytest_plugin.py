"""A pytest plugin (entry point ``pytest11``): fixtures for testing code that uses openai_bindings.

    def test_my_bot(openai_server, openai_client):
        openai_server.reply_with("Bonjour!")
        assert my_bot.greet(openai_client) == "Bonjour!"
        assert openai_server.requests[-1].json["messages"][0]["role"] == "system"

No conftest code is needed: installing openai-bindings makes the fixtures available.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from ..client import OpenAI
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
