"""What a user can see of what the client did: the observation hooks and the log.

The hooks are seen by a plugin installed the way a real one is (a distribution with an
entry point), on every transport, sync and async; the log is read with caplog.
"""

from __future__ import annotations

import importlib
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Iterator, List

import pytest
from support import make_distribution

import openai_bindings
from openai_bindings import APIConnectionError, BadRequestError, InternalServerError, hookimpl, plugins
from openai_bindings._observe import PluginHookWarning
from openai_bindings.plugins import get_registry
from openai_bindings.testing import Drop, Reply

HI = [{"role": "user", "content": "hi"}]
KEY = "sk-test-observed-KEY"  # distinctive, and not shaped like a real key

RECORDER = """
from openai_bindings import hookimpl

SEEN = []

@hookimpl
def prepare_request(request, provider):
    SEEN.append(("prepare", request.method, request.url.rsplit("/", 1)[-1], provider))

@hookimpl
def on_response(request, response, elapsed, attempt):
    assert elapsed >= 0
    SEEN.append(("response", response.status, attempt))

@hookimpl
def on_error(request, error, elapsed, attempt, final):
    assert elapsed >= 0
    SEEN.append(("error", type(error).__name__, attempt, final))

@hookimpl
def on_complete(request, body, elapsed):
    assert elapsed >= 0
    SEEN.append(("complete", body.get("object") if isinstance(body, dict) else type(body).__name__))
"""


@pytest.fixture
def seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[List[Any]]:
    """A recording plugin, installed as a distribution with an entry point."""
    folder = tmp_path / "site"
    folder.mkdir()
    make_distribution(folder, "ob-recorder", "ob_recorder", RECORDER, entry="recorder")
    monkeypatch.syspath_prepend(str(folder))
    importlib.invalidate_caches()
    plugins.reset()
    yield importlib.import_module("ob_recorder").SEEN
    sys.modules.pop("ob_recorder", None)


def test_a_plain_call(make_caller, fake, seen):
    call = make_caller(base_url=fake.base_url)
    call("create_chat_completion", HI)
    assert seen == [
        ("prepare", "POST", "completions", "openai"),
        ("response", 200, 1),
        ("complete", "chat.completion"),
    ]


def test_a_retried_call(make_caller, fake, seen):
    call = make_caller(base_url=fake.base_url, max_retries=2)
    fake.queue(Reply(status=500, body={"error": {"message": "oops"}}, headers={"retry-after-ms": "10"}))
    call("create_chat_completion", HI)
    assert seen[1:] == [
        ("response", 500, 1),
        ("error", "InternalServerError", 1, False),
        ("response", 200, 2),
        ("complete", "chat.completion"),
    ]


def test_failed_calls(make_caller, fake, seen):
    call = make_caller(base_url=fake.base_url, max_retries=0)
    fake.queue(Reply(status=400, body={"error": {"message": "bad"}}))
    with pytest.raises(BadRequestError):
        call("create_chat_completion", HI)
    fake.drop_next()
    with pytest.raises(APIConnectionError):
        call("models")
    assert seen == [
        ("prepare", "POST", "completions", "openai"),
        ("response", 400, 1),
        ("error", "BadRequestError", 1, True),
        ("prepare", "GET", "models", "openai"),
        ("response", 200, 1),  # the headers arrived; then the body was cut
        ("error", "APIConnectionError", 1, True),
    ]


def test_streams_report_the_whole_when_they_end_and_errors_midway(make_caller, fake, seen):
    call = make_caller(base_url=fake.base_url, max_retries=0)
    call.events(call("create_chat_completion", HI, stream=True))
    assert seen[1:] == [("response", 200, 1), ("complete", "chat.completion")]
    del seen[:]
    event = b'data: {"choices": [{"index": 0, "delta": {"content": "a"}}]}\n\n'
    fake.queue(Drop(sent=event, headers={"Content-Type": "text/event-stream"}, chunked=True))
    stream = call("create_chat_completion", HI, stream=True)
    with pytest.raises(APIConnectionError):
        call.events(stream)
    assert seen[1:] == [("response", 200, 1), ("error", "APIConnectionError", 1, True)]


def test_a_hook_that_raises_does_not_break_the_call(fake):
    class Broken:
        @hookimpl
        def on_response(self, request, response, elapsed, attempt):
            raise RuntimeError("tracing backend is down")

    plugins.get_plugin_manager().register(Broken())
    with (
        openai_bindings.OpenAI(base_url=fake.base_url, transport="stdlib") as client,
        pytest.warns(PluginHookWarning, match="tracing backend is down"),
    ):
        assert client.models().status == 200


def test_hooks_nobody_implements_are_not_called():
    observers = get_registry().observers
    assert observers.response is None and observers.error is None and observers.complete is None
    assert observers.after is False


def test_a_plugin_registered_at_run_time_is_seen(fake):
    calls = []

    class Late:
        @hookimpl
        def on_complete(self, request, body, elapsed):
            calls.append(body["object"])

    with openai_bindings.OpenAI(base_url=fake.base_url, transport="stdlib") as client:
        client.models()
        late = Late()
        plugins.get_plugin_manager().register(late)
        client.models()
        plugins.get_plugin_manager().unregister(late)
        client.models()
    assert calls == ["list"]


# -- the log ------------------------------------------------------------------------------------


def _records(caplog: pytest.LogCaptureFixture) -> List[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("openai_bindings")]


def _no_secret(records: List[logging.LogRecord]) -> None:
    for record in records:
        text = record.getMessage() + repr(record.args)
        assert KEY not in text and "Bearer" not in text, text


def test_each_attempt_is_logged_at_debug(make_caller, fake, caplog):
    caplog.set_level(logging.DEBUG, logger="openai_bindings")
    call = make_caller(base_url=fake.base_url, api_key=KEY)
    call("create_chat_completion", HI)
    (record,) = _records(caplog)
    message = record.getMessage()
    transport = call.client.transport.name
    assert record.levelno == logging.DEBUG
    assert message.startswith(f"POST {fake.base_url}/chat/completions -> 200 request_id=req_")
    assert f" ms transport={transport} attempt=1" in message
    _no_secret(_records(caplog))


def test_retries_are_logged_at_info_with_reason_and_wait(make_caller, fake, caplog):
    caplog.set_level(logging.DEBUG, logger="openai_bindings")
    call = make_caller(base_url=fake.base_url, api_key=KEY, max_retries=1)
    fake.queue(Reply(status=503, body={"error": {"message": "busy"}}, headers={"retry-after-ms": "20"}))
    call("models")
    infos = [r.getMessage() for r in _records(caplog) if r.levelno == logging.INFO]
    assert infos == [f"retrying GET {fake.base_url}/models in 0.02 s (attempt 2 of 2): 503 busy"]
    _no_secret(_records(caplog))


def test_failures_are_logged_and_nothing_secret_is(make_caller, fake, caplog):
    caplog.set_level(logging.DEBUG, logger="openai_bindings")
    call = make_caller(base_url=fake.base_url, api_key=KEY, max_retries=0)
    fake.drop_next()
    with pytest.raises(APIConnectionError):
        call("models")
    fake.queue(Reply(status=500, body={"error": {"message": f"it broke, key {KEY}"}}))
    with pytest.raises(InternalServerError) as info:
        call("models")
    assert KEY not in str(info.value)
    messages = [r.getMessage() for r in _records(caplog)]
    assert any("APIConnectionError" in m for m in messages)
    _no_secret(_records(caplog))


def test_query_secrets_are_not_logged(fake, caplog):
    caplog.set_level(logging.DEBUG, logger="openai_bindings")
    with openai_bindings.OpenAI(base_url=fake.base_url, transport="stdlib") as client:
        client.request("GET", "/models", params={"api_key": "q-secret-1", "limit": 2})
    message = _records(caplog)[0].getMessage()
    assert "q-secret-1" not in message and "api_key=<redacted>" in message and "limit=2" in message


def test_the_environment_variable_turns_the_log_on(fake):
    script = textwrap.dedent(
        f"""
        import openai_bindings
        with openai_bindings.OpenAI({KEY!r}, base_url={fake.base_url!r}, transport="stdlib") as client:
            client.models()
        """
    )
    env = {**os.environ, "OPENAI_BINDINGS_LOG": "debug"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"GET {fake.base_url}/models -> 200" in done.stderr
    assert KEY not in done.stderr
    quiet = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert quiet.stderr == ""
