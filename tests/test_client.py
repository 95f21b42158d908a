"""The client end to end against the fake server, on every transport, sync and async."""

from __future__ import annotations

import os
import sys

import pytest

import openai_bindings
from openai_bindings import (
    AuthenticationError,
    Timeout,
)
from openai_bindings.testing import Reply

HI = [{"role": "user", "content": "hi"}]


def test_chat_completion_unpacks_like_the_original(make_caller, fake):
    call = make_caller(base_url=fake.base_url, api_key="sk-test", default_headers={"X-App": "demo"})
    status, body, headers = call("create_chat_completion", HI, temperature=0.2)
    assert status == 200
    assert body["choices"][0]["message"]["content"] == "echo: hi"
    assert headers["X-REQUEST-ID"].startswith("req_")
    sent = fake.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.json == {"messages": HI, "temperature": 0.2, "model": "gpt-4.1"}
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.headers["x-app"] == "demo"
    assert sent.headers["accept"] == "application/json"
    assert sent.headers["content-type"] == "application/json"
    assert f"transport={call.client.transport.name}" in sent.headers["user-agent"]
    assert "openai-bindings/" in sent.headers["user-agent"]


def test_no_key_sends_no_authorization(make_caller, fake):
    call = make_caller(base_url=fake.base_url)
    call("models")
    assert "authorization" not in fake.requests[-1].headers


def test_environment_supplies_key_and_base_url(make_caller, fake, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    call = make_caller()
    assert call("models").body["data"][0]["id"] == "fake-model"
    assert fake.requests[-1].headers["authorization"] == "Bearer sk-from-env"


def test_new_is_the_original_constructor(fake):
    client = openai_bindings.new("sk-1", base_url=fake.base_url, transport="stdlib")
    assert isinstance(client, openai_bindings.OpenAI)
    assert client.create_chat_completion(HI).status == 200
    legacy = openai_bindings.new("sk-1", {"http_provider": "stdlib", "base_url": fake.base_url})
    assert legacy.transport.name == "stdlib"


def test_streaming_accumulates(make_caller, fake):
    call = make_caller(base_url=fake.base_url)
    stream = call("create_chat_completion", HI, stream=True, stream_options={"include_usage": True})
    events = call.events(stream)
    assert events[-1]["choices"] == []  # the usage-only chunk is delivered
    assert stream.text == "echo: hi"
    assert stream.message == {"role": "assistant", "content": "echo: hi"}
    assert stream.finish_reason == "stop"
    assert stream.usage["total_tokens"] == 3  # the fake counts words: "hi" in, "echo: hi" out
    assert stream.closed


def test_api_key_never_in_repr_or_errors(fake):
    client = openai_bindings.OpenAI("sk-secret-123", base_url=fake.base_url, transport="stdlib")
    fake.queue(
        Reply(
            status=401, body={"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}
        )
    )
    with pytest.raises(AuthenticationError) as info:
        client.models()
    assert "sk-secret-123" not in repr(client) + repr(client.provider) + str(info.value) + repr(info.value)
    request = client.build_request(openai_bindings.client.APICall("GET", "/models", "models"))
    assert "sk-secret-123" not in repr(request) + repr(request.headers)


def test_timeout_settings_are_validated():
    assert Timeout.coerce(3) == Timeout(3.0, 3.0)
    assert Timeout.coerce((1, None)) == Timeout(1, None)
    with pytest.raises(ValueError, match="positive"):
        Timeout(connect=-1)
    with pytest.raises(TypeError, match="timeout must be"):
        openai_bindings.OpenAI(timeout="soon")


def test_request_and_response_as_a_plugin_author_builds_them():
    request = openai_bindings.Request(method="GET", url="http://127.0.0.1/x", headers={"A": "1"}, timeout=3)
    assert (request.timeout.connect, request.timeout.read) == (3.0, 3.0) and request.headers["a"] == "1"
    closed = []
    response = openai_bindings.Response(
        status=200,
        headers={"Content-Type": "x"},
        stream=iter([b"a", b"", b"b"]),
        close=lambda: closed.append(True),
    )
    assert response.headers["content-type"] == "x" and response.read() == b"ab" and closed == [True]


def test_aiohttp_client_across_event_loops_leaves_no_unclosed_session(fake):
    """asyncio.run twice with one client: the session of the dead loop is dropped quietly."""
    import asyncio
    import gc
    import warnings

    client = openai_bindings.AsyncOpenAI(base_url=fake.base_url, transport="aiohttp")

    async def ask() -> int:
        return (await client.create_chat_completion([{"role": "user", "content": "x"}])).status

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert asyncio.run(ask()) == 200
        assert asyncio.run(ask()) == 200  # a new loop: a new ClientSession
        asyncio.run(client.close())
        gc.collect()
    assert not [w for w in caught if "Unclosed" in str(w.message)], [str(w.message) for w in caught]


def test_importing_the_package_loads_no_plugin_machinery_and_no_http_stack():
    """pluggy (with inspect), dataclasses, platform, asyncio, the streaming modules (they come
    with the first stream): none at `import openai_bindings`."""
    import subprocess
    import sys

    code = (
        "import sys, openai_bindings; "
        "print(sorted(m for m in ('pluggy', 'inspect', 'dataclasses', 'asyncio', 'urllib3', 'aiohttp', "
        "'platform', 'mimetypes', 'copy', 'openai_bindings.streaming', 'openai_bindings.accumulate', "
        "'openai_bindings.sse') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr
    from openai_bindings import hookimpl  # still there when a plugin asks

    assert callable(hookimpl)


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="there getproxies() asks the system")
def test_a_client_without_proxy_variables_does_not_load_urllib_request():
    """Reading proxies from an environment that has none must not import urllib.request (and
    the mail and MIME modules with it): 12 ms, a fifth of a cold start."""
    import subprocess

    code = (
        "import sys, openai_bindings; openai_bindings.OpenAI(api_key='sk-x', transport='stdlib'); "
        "openai_bindings.OpenAI(api_key='sk-x', transport='urllib3'); "
        "print('urllib.request' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert done.stdout.strip() == "False", done.stderr
    env["HTTPS_PROXY"] = "http://127.0.0.1:9"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert done.stdout.strip() == "True", done.stderr
