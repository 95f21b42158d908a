"""Providers: request shape at the transport boundary, vendor quirks, third-party plugins for real."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from support import install_example_plugins, run_with_site

import openai_bindings
from openai_bindings import PluginError, UnsupportedEndpointError
from openai_bindings.testing import RecordingTransport, Reply

HI = [{"role": "user", "content": "hi"}]
ROOT = Path(__file__).resolve().parent.parent


def client_for(provider: str, **options) -> tuple[openai_bindings.OpenAI, RecordingTransport]:
    transport = RecordingTransport()
    return openai_bindings.OpenAI(provider=provider, transport=transport, **options), transport


def test_openai_provider(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-1")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-1")
    client, transport = client_for("openai")
    client.create_chat_completion(HI)
    request = transport.last
    assert request.url == "https://api.openai.com/v1/chat/completions"
    assert request.headers["Authorization"] == "Bearer sk-env"
    assert request.headers["OpenAI-Organization"] == "org-1" and request.headers["OpenAI-Project"] == "proj-1"
    assert json.loads(request.body)["model"] == "gpt-4.1"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1234/v1/")
    client, transport = client_for("openai", organization="org-2")
    client.models()
    assert transport.last.url == "http://127.0.0.1:1234/v1/models"
    assert transport.last.headers["OpenAI-Organization"] == "org-2"


@pytest.mark.parametrize("variable", ["GEMINI_API_KEY", "GOOGLE_API_KEY"])
def test_gemini_provider(monkeypatch, variable):
    monkeypatch.setenv(variable, "AIza-test")
    client, transport = client_for("gemini")
    client.create_chat_completion(HI, response_format={"type": "json_object"})
    request = transport.last
    assert request.url == "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions"
    assert request.headers["Authorization"] == "Bearer AIza-test"
    assert json.loads(request.body) == {
        "messages": HI,
        "response_format": {"type": "json_object"},
        "model": "gemini-2.5-flash",
    }
    client.embedding("text")
    assert json.loads(transport.last.body)["model"] == "gemini-embedding-001"


def test_gemini_convenience_class_and_unsupported_endpoint():
    from openai_bindings.providers.gemini import AsyncGemini, Gemini

    transport = RecordingTransport()
    client = Gemini("AIza-key", transport=transport)
    assert client.provider.name == "gemini" and client.default_model == "gemini-2.5-flash"
    with pytest.raises(UnsupportedEndpointError) as info:
        client.create_response("hi")
    assert "'gemini'" in str(info.value) and "'responses'" in str(info.value)
    with pytest.raises(UnsupportedEndpointError):
        client.moderation("text")
    assert transport.requests == []  # refused before anything was sent
    assert AsyncGemini("k").provider.name == "gemini"


def test_azure_deployment_paths_and_api_key(monkeypatch):
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com/")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azkey")
    client, transport = client_for("azure", api_version="2024-10-21")
    client.create_chat_completion(HI, model="gpt-4o-deploy")
    request = transport.last
    assert request.url == (
        "https://res.openai.azure.com/openai/deployments/gpt-4o-deploy/chat/completions"
        "?api-version=2024-10-21"
    )
    assert request.headers["api-key"] == "azkey" and "Authorization" not in request.headers
    client.models()
    assert transport.last.url == "https://res.openai.azure.com/openai/models?api-version=2024-10-21"
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-01-01-preview")
    client, transport = client_for("azure", deployment="fixed")
    client.embedding("x", model="ignored-for-the-path")
    assert transport.last.url == (
        "https://res.openai.azure.com/openai/deployments/fixed/embeddings?api-version=2025-01-01-preview"
    )


def test_azure_v1_paths_and_entra_tokens(monkeypatch):
    tokens = iter(["tok-1", "tok-2"])
    from openai_bindings.providers.azure import AzureOpenAI

    transport = RecordingTransport()
    client = AzureOpenAI(
        base_url="https://res.openai.azure.com/openai/v1",
        path_style="v1",
        azure_ad_token=lambda: next(tokens),
        transport=transport,
    )
    client.create_chat_completion(HI, model="gpt-4o")
    client.create_response("hi", model="gpt-4o")
    assert [r.url for r in transport.requests] == [
        "https://res.openai.azure.com/openai/v1/chat/completions",
        "https://res.openai.azure.com/openai/v1/responses",
    ]
    assert [r.headers["Authorization"] for r in transport.requests] == [
        "Bearer tok-1",
        "Bearer tok-2",
    ]  # fresh
    assert "api-key" not in transport.last.headers
    client, transport = client_for("azure", base_url="https://res.openai.azure.com", azure_ad_token="static")
    client.create_chat_completion(HI, model="d")
    assert transport.last.headers["Authorization"] == "Bearer static"


def test_azure_errors_before_sending(monkeypatch):
    with pytest.raises(ValueError, match="AZURE_OPENAI_ENDPOINT"):
        openai_bindings.OpenAI(provider="azure")
    client, transport = client_for("azure", base_url="https://res.openai.azure.com")
    with pytest.raises(ValueError, match="deployment"):
        client.create_chat_completion(HI)
    assert transport.requests == []


def test_openrouter_headers_and_comments(monkeypatch, fake):
    monkeypatch.setenv("OPENROUTER_API_KEY", "or-key")
    client, transport = client_for("openrouter", app_url="https://myapp.example", app_name="My App")
    client.create_chat_completion(HI)
    request = transport.last
    assert request.url == "https://openrouter.ai/api/v1/chat/completions"
    assert request.headers["Authorization"] == "Bearer or-key"
    assert (
        request.headers["HTTP-Referer"] == "https://myapp.example" and request.headers["X-Title"] == "My App"
    )
    assert json.loads(request.body)["model"] == "openai/gpt-4.1"
    # OpenRouter's keep-alive comments in the middle of a real stream are skipped
    chunk = {
        "id": "gen-1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": "ok"}}],
    }
    body = (
        b": OPENROUTER PROCESSING\n\n"
        + f"data: {json.dumps(chunk)}\n\n".encode()
        + b": OPENROUTER PROCESSING\n\ndata: [DONE]\n\n"
    )
    fake.queue(Reply(chunks=[body[:10], body[10:]], headers={"Content-Type": "text/event-stream"}))
    from openai_bindings.providers.openrouter import OpenRouter

    stream = OpenRouter(base_url=fake.base_url, transport="stdlib").create_chat_completion(HI, stream=True)
    assert [e["choices"][0]["delta"]["content"] for e in stream] == ["ok"]


def test_compatible_provider(fake):
    with pytest.raises(ValueError, match="base_url"):
        openai_bindings.OpenAI(provider="compatible")
    client, transport = client_for("compatible", base_url="http://localhost:11434/v1")
    client.create_chat_completion(HI)
    assert "model" not in json.loads(transport.last.body) and "Authorization" not in transport.last.headers
    # llama.cpp / vLLM chunks without "object" are delivered and accumulated
    chunks = [{"choices": [{"index": 0, "delta": {"content": w}}]} for w in ("a", "b")]
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks).encode() + b"data: [DONE]\n\n"
    fake.queue(Reply(chunks=[body], headers={"Content-Type": "text/event-stream"}))
    from openai_bindings.providers.compatible import Compatible

    stream = Compatible(base_url=fake.base_url, transport="stdlib").create_chat_completion(HI, stream=True)
    assert len(list(stream)) == 2 and stream.text == "ab"


def test_unknown_provider_and_bad_options():
    with pytest.raises(PluginError) as info:
        openai_bindings.OpenAI(provider="skynet")
    for name in ("openai", "gemini", "azure", "openrouter", "compatible"):
        assert name in str(info.value)
    with pytest.raises(TypeError, match="organization"):
        openai_bindings.OpenAI(provider="gemini", organization="x")
    with pytest.raises(ValueError, match="http"):
        openai_bindings.OpenAI(base_url="api.openai.com")


def test_provider_instance_and_subclass():
    from openai_bindings.providers import OpenAIProvider

    class Local(OpenAIProvider):
        name = "local"
        default_base_url = "http://127.0.0.1:8080/v1"
        default_model = "tiny"

    transport = RecordingTransport()
    client = openai_bindings.OpenAI(provider=Local(api_key="k"), transport=transport)
    client.create_chat_completion(HI)
    assert transport.last.url == "http://127.0.0.1:8080/v1/chat/completions"
    assert json.loads(transport.last.body)["model"] == "tiny"
    with pytest.raises(TypeError, match="provider instance"):
        openai_bindings.OpenAI(provider=Local(), api_key="k")


# -- third-party plugins, installed for real ---------------------------------------------------

THIRD_PARTY = """
import asyncio, json, sys
import openai_bindings
from openai_bindings.testing import FakeOpenAIServer

with FakeOpenAIServer() as server:
    client = openai_bindings.OpenAI(provider="ollama", base_url=server.base_url, transport="httpx")
    assert client.transport.name == "httpx" and client.provider.name == "ollama"
    status, body, headers = client.create_chat_completion([{"role": "user", "content": "hi"}],
                                                          max_completion_tokens=5)
    sent = server.requests[-1].json
    assert sent["model"] == "llama3.2" and sent["max_tokens"] == 5, sent
    assert "max_completion_tokens" not in sent, sent
    assert body["choices"][0]["message"]["content"] == "echo: hi"
    stream = client.create_chat_completion([{"role": "user", "content": "streamed words"}], stream=True)
    assert [e["choices"][0]["delta"].get("content") for e in stream][1:-1] == ["echo: ", "streamed ", "words"]
    session = client.new_chat_session()
    assert session.send("again", lambda chunk: None) == "echo: again"
    try:
        client.create_response("x")
    except openai_bindings.UnsupportedEndpointError as error:
        assert "ollama" in str(error)
    else:
        raise AssertionError("responses should be refused")

    async def main():
        async with openai_bindings.AsyncOpenAI(provider="ollama", base_url=server.base_url,
                                               transport="httpx") as aclient:
            stream = await aclient.create_chat_completion([{"role": "user", "content": "async"}], stream=True)
            return [e async for e in stream] and stream.text

    assert asyncio.run(main()) == "echo: async"
print("ok")
"""


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory):
    pytest.importorskip("httpx")
    site = tmp_path_factory.mktemp("plugin-site")
    return install_example_plugins(site, "httpx-transport", "ollama-provider")


def test_example_plugins_work_through_the_public_api(plugin_site):
    result = run_with_site(plugin_site, "-c", textwrap.dedent(THIRD_PARTY))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_example_plugins_are_listed(plugin_site):
    result = run_with_site(plugin_site, "-m", "openai_bindings", "plugins")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(
        line.startswith("  httpx ") and "from openai-bindings-httpx" in line and "usable" in line
        for line in lines
    )
    assert any(line.startswith("  ollama ") and "from openai-bindings-ollama" in line for line in lines)


def test_a_providers_own_per_request_methods_are_called():
    """The client does a base-class provider's per-request work inline; a subclass that
    overrides one of those methods must still have it called, on every request."""
    from openai_bindings import Provider

    seen = []

    class Picky(Provider):
        name = "picky-test"
        default_base_url = "http://127.0.0.1:9/v1"
        key_required = False

        def supports(self, endpoint):
            seen.append(("supports", endpoint))
            return endpoint != "embeddings"

        def url(self, path, params=None, *, model=None):
            seen.append(("url", model))
            params["model"] = model  # a provider may add to the query it is given
            return f"{self.base_url}{path}?{'&'.join(f'{k}={v}' for k, v in params.items())}"

        def adjust_body(self, endpoint, body):
            seen.append(("adjust_body", endpoint))
            return {**body, "vendor": True}

    transport = RecordingTransport()
    client = openai_bindings.OpenAI(provider=Picky, transport=transport)
    client.create_chat_completion(HI, model="m1")
    assert transport.last.url == "http://127.0.0.1:9/v1/chat/completions?model=m1"
    assert json.loads(transport.last.body)["vendor"] is True
    assert seen == [("supports", "chat.completions"), ("adjust_body", "chat.completions"), ("url", "m1")]
    with pytest.raises(UnsupportedEndpointError, match="embeddings"):
        client.embedding("text", model="e")
    assert len(transport.requests) == 1  # refused before anything was sent


def test_a_base_provider_with_an_endpoint_list_refuses_the_others():
    """The inline check of a base-class provider reads its ``endpoints`` as check_endpoint does."""
    from openai_bindings import Provider

    class Narrow(Provider):
        name = "narrow-test"
        default_base_url = "http://127.0.0.1:9/v1"
        key_required = False
        endpoints = frozenset({"chat.completions"})

    transport = RecordingTransport()
    client = openai_bindings.OpenAI(provider=Narrow, transport=transport)
    client.create_chat_completion(HI, model="m")
    with pytest.raises(UnsupportedEndpointError, match="narrow-test"):
        client.embedding("text", model="e")
    assert len(transport.requests) == 1
