"""The pytest plugin's async fixture, used as a user's suite would: with pytest-asyncio and without."""

from __future__ import annotations

USER_TESTS = """
import asyncio
import pytest
import openai_bindings

@pytest.mark.asyncio
async def test_with_pytest_asyncio(openai_server, openai_async_client):
    openai_server.reply_with("Bonjour!")
    result = await openai_async_client.create_chat_completion([{"role": "user", "content": "Salut"}])
    assert result.body["choices"][0]["message"]["content"] == "Bonjour!"
    stream = await openai_async_client.create_chat_completion([{"role": "user", "content": "x"}], stream=True)
    assert [event async for event in stream] and stream.text == "echo: x"

def test_with_asyncio_run(openai_server, openai_async_client):
    assert isinstance(openai_async_client, openai_bindings.AsyncOpenAI)
    result = asyncio.run(openai_async_client.models())
    assert [m["id"] for m in result.body["data"]] == ["fake-model", "fake-embedding"]
    assert openai_server.requests[-1].path == "/v1/models"
"""


def test_async_fixture_works_and_closes_its_client(pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-W",
        "error:Unclosed client session:ResourceWarning",
        "-W",
        "error::pytest.PytestUnraisableExceptionWarning",
    )
    result.assert_outcomes(passed=2)
