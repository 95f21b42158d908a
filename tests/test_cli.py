"""The real console script in a subprocess, against FakeOpenAIServer."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from openai_bindings.testing import Stall

_BESIDE = os.path.join(os.path.dirname(sys.executable), "openai-bindings")
COMMAND = _BESIDE if os.path.exists(_BESIDE) else (shutil.which("openai-bindings") or "")
pytestmark = pytest.mark.skipif(not COMMAND, reason="the console script is not installed")


def run(*args, input=None, env=None, timeout=60):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "GEMINI_"))}
    full_env.update(env or {})
    return subprocess.run(
        [COMMAND, *args], input=input, capture_output=True, text=True, env=full_env, timeout=timeout
    )


@pytest.fixture
def env(fake):
    return {"OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": "sk-test"}


def test_one_shot_streams_to_the_terminal(fake, env):
    fake.reply_with("Hello from the fake model")
    result = run("chat", "Say", "hello", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello from the fake model\n"
    sent = fake.requests[-1]
    assert sent.json["stream"] is True and sent.json["messages"] == [{"role": "user", "content": "Say hello"}]
    assert sent.headers["authorization"] == "Bearer sk-test"


def test_options_are_sent(fake, env):
    result = run("chat", "--no-stream", "-m", "m-1", "-s", "Be terse.", "--temperature", "0.2", "hi", env=env)
    assert result.returncode == 0 and result.stdout == "echo: hi\n"
    body = fake.requests[-1].json
    assert body["model"] == "m-1" and body["temperature"] == 0.2 and "stream" not in body
    assert body["messages"][0] == {"role": "system", "content": "Be terse."}


def test_piped_stdin_is_the_prompt(fake, env):
    result = run("chat", input="a question from a pipe\n", env=env)
    assert result.returncode == 0 and result.stdout == "echo: a question from a pipe\n"


def test_json_prints_the_raw_response(fake, env):
    result = run("chat", "--json", "hi", env=env)
    body = json.loads(result.stdout)
    assert body["object"] == "chat.completion" and body["choices"][0]["message"]["content"] == "echo: hi"
    result = run("chat", "--json", "--responses", "hi", env=env)
    assert json.loads(result.stdout)["object"] == "response"


def test_responses_mode(fake, env):
    result = run("chat", "--responses", "-s", "Be kind.", "hello", env=env)
    assert result.returncode == 0 and result.stdout == "echo: hello\n"
    assert fake.requests[-1].path == "/v1/responses" and fake.requests[-1].json["instructions"] == "Be kind."


def test_interactive_session_keeps_history(fake, env):
    result = run("chat", "-i", input="first\n\nsecond\n/exit\nnever sent\n", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["echo: first", "echo: second"]
    assert [m["content"] for m in fake.requests[-1].json["messages"]] == ["first", "echo: first", "second"]
    result = run("chat", "-i", "--responses", input="one\ntwo\n", env=env)  # Ctrl-D (end of input) ends it
    assert result.returncode == 0 and fake.requests[-1].json["previous_response_id"].startswith("resp_")


def test_interactive_error_does_not_end_the_session(fake, env):
    fake.fail_with(400, "That prompt is not allowed")
    result = run("chat", "-i", input="bad\ngood\n", env=env)
    assert result.returncode == 0
    assert "That prompt is not allowed" in result.stderr and "echo: good" in result.stdout


def test_ctrl_c_exits_cleanly(fake, env):
    fake.queue(Stall(20), path="/v1/chat/completions")
    process = subprocess.Popen(
        [COMMAND, "chat", "-i"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    process.stdin.write("wait forever\n")
    process.stdin.flush()
    assert fake.wait_for_requests(1, timeout=20)
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "Traceback" not in err


def test_models_and_embed(fake, env):
    assert run("models", env=env).stdout.splitlines() == ["fake-embedding", "fake-model"]
    vectors = [json.loads(line) for line in run("embed", "one", "two", env=env).stdout.splitlines()]
    assert len(vectors) == 2 and len(vectors[0]) == 8
    assert run("embed", "--dims", "one", env=env).stdout == "8\tone\n"


def test_missing_key_names_the_variable():
    result = run("chat", "hi")
    assert result.returncode == 2
    assert "OPENAI_API_KEY" in result.stderr and "Traceback" not in result.stderr
    result = run("chat", "hi", "--provider", "gemini")
    assert "GEMINI_API_KEY" in result.stderr


def test_unknown_provider_and_transport_list_the_available_ones(env):
    result = run("chat", "hi", "--provider", "nope", env=env)
    assert result.returncode == 2 and "openai" in result.stderr and "gemini" in result.stderr
    result = run("chat", "hi", "--transport", "nope", env=env)
    assert result.returncode == 2 and "stdlib" in result.stderr and "urllib3" in result.stderr


def test_network_failure_says_what_was_tried():
    result = run("chat", "hi", "--base-url", "http://127.0.0.1:9/v1", "--transport", "stdlib")
    assert result.returncode == 1
    assert "http://127.0.0.1:9/v1" in result.stderr and "stdlib" in result.stderr
    assert "Traceback" not in result.stderr


def test_rejected_key_and_debug_traceback(fake, env):
    fake.fail_with(401, "Incorrect API key provided", code="invalid_api_key")
    result = run("chat", "--no-stream", "hi", env=env)
    assert result.returncode == 1 and "refused the API key" in result.stderr
    assert "sk-test" not in result.stderr
    fake.fail_with(401, "Incorrect API key provided")
    result = run("--debug", "chat", "--no-stream", "hi", env=env)
    assert result.returncode == 1 and "Traceback" in result.stderr


def test_python_dash_m_is_the_same_command(fake, env):
    result = subprocess.run(
        [sys.executable, "-m", "openai_bindings", "chat", "--no-stream", "x"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )
    assert result.stdout == "echo: x\n"


def test_demo_runs_offline():
    result = run("demo", timeout=120)
    assert result.returncode == 0, result.stderr
    for line in ("chat completion", "streamed ChatSession", "tool call", "Responses session", "embeddings"):
        assert line in result.stdout
    for transport in ("'stdlib'", "'urllib3'", "'aiohttp'"):
        assert f"transport={transport}" in result.stdout
