"""The real console script in a subprocess, against FakeOpenAIServer."""

from __future__ import annotations

import json
import os
import re
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
        [COMMAND, *args],
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Each test has its own home: keys, history and the last conversation never touch the real one."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path


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


#: Runs argv[1:] with Ctrl-C's default disposition: a job started in the background by a
#: non-interactive shell (as CI may run the suite) inherits SIGINT ignored, and Python then
#: never raises KeyboardInterrupt, as it should not.
WITH_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def test_ctrl_c_exits_cleanly(fake, env):
    fake.queue(Stall(20), path="/v1/chat/completions")
    process = subprocess.Popen(
        [sys.executable, "-c", WITH_SIGINT, COMMAND, "chat", "-i"],
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


# -- the default command, stdin, options ------------------------------------------------------------


def test_a_prompt_is_the_default_command(fake, env):
    result = run("Say", "hi", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "echo: Say hi\n"
    result = run("-m", "m-2", "--no-stream", "hello", env=env)
    assert result.stdout == "echo: hello\n" and fake.requests[-1].json["model"] == "m-2"
    assert run("--debug", "models", env=env).stdout.splitlines() == ["fake-embedding", "fake-model"]


def test_no_arguments_off_a_terminal_prints_help():
    result = run()
    assert result.returncode == 2 and "usage: openai-bindings" in result.stdout


def test_piped_stdin_is_joined_after_the_prompt(fake, env):
    result = run("chat", "Summarise:", input="line one\nline two\n", env=env)
    assert result.returncode == 0, result.stderr
    assert fake.requests[-1].json["messages"] == [
        {"role": "user", "content": "Summarise:\n\nline one\nline two"}
    ]
    result = run("chat", input="", env=env)
    assert result.returncode == 2 and "nothing to send" in result.stderr


def test_dash_o_sends_any_parameter_as_json_or_text(fake, env):
    options = ["-o", "temperature", "0.2", "-o", "stop", '["x", "y"]', "-o", "user", "alice"]
    options += ["-o", "logit_bias", '{"50256": -100}', "-o", "seed", "7", "-o", "store", "true"]
    result = run("--no-stream", *options, "hi", env=env)
    assert result.returncode == 0, result.stderr
    body = fake.requests[-1].json
    assert body["temperature"] == 0.2 and body["stop"] == ["x", "y"] and body["user"] == "alice"
    assert body["logit_bias"] == {"50256": -100} and body["seed"] == 7 and body["store"] is True
    result = run("-o", "stream", "false", "hi", env=env)
    assert result.returncode == 2 and "--no-stream" in result.stderr


def test_models_json_prints_the_raw_listing(fake, env):
    result = run("models", "--json", env=env)
    body = json.loads(result.stdout)
    assert body["object"] == "list" and {m["id"] for m in body["data"]} == {"fake-model", "fake-embedding"}


def test_no_spinner_when_stderr_is_a_pipe(fake, env):
    fake.delay_next(0.5)
    result = run("--no-stream", "hi", env=env)
    assert result.returncode == 0 and result.stdout == "echo: hi\n" and result.stderr == ""


# -- conversations: slash commands and --continue ---------------------------------------------------


def test_slash_commands_are_handled_here_never_sent(fake, env):
    script = "/help\n/bogus thing\nfirst\n/history\n/reset\n//etc is a folder\n/quit\nnever sent\n"
    result = run("chat", "-i", input=script, env=env)
    assert result.returncode == 0, result.stderr
    sent = [r.json["messages"] for r in fake.requests if r.path == "/v1/chat/completions"]
    assert sent == [
        [{"role": "user", "content": "first"}],
        [{"role": "user", "content": "/etc is a folder"}],  # /reset forgot "first"; // escapes a slash
    ]
    for command in ("/help", "/reset", "/history", "/exit"):
        assert command in result.stdout
    assert "user: first\nassistant: echo: first\n" in result.stdout
    assert "unknown command /bogus; not sent" in result.stderr


def test_continue_goes_on_with_the_last_conversation(fake, env, home):
    assert run("-c", "hi", env=env).returncode == 2  # nothing to continue yet
    result = run("--no-stream", "-m", "m-1", "-s", "Be terse.", "-o", "seed", "3", "first", env=env)
    assert result.returncode == 0, result.stderr
    result = run("-c", "second", env=env)
    assert result.returncode == 0 and result.stdout == "echo: second\n"
    body = fake.requests[-1].json
    assert [m["content"] for m in body["messages"]] == ["Be terse.", "first", "echo: first", "second"]
    assert body["model"] == "m-1" and body["seed"] == 3  # the conversation's options come with it
    run("chat", "-c", "-m", "m-2", "third", env=env)
    assert fake.requests[-1].json["model"] == "m-2" and len(fake.requests[-1].json["messages"]) == 6
    saved = home / "state" / "openai-bindings" / "last-conversation.json"
    assert saved.stat().st_mode & 0o777 == 0o600
    assert saved.parent.stat().st_mode & 0o777 == 0o700
    assert "sk-test" not in saved.read_text()


def test_continue_a_responses_conversation(fake, env):
    run("--responses", "one", env=env)
    first = fake.requests[-1]
    result = run("-c", "two", env=env)  # the saved conversation knows its API
    assert result.returncode == 0 and result.stdout == "echo: two\n"
    assert fake.requests[-1].path == "/v1/responses"
    assert fake.requests[-1].json["previous_response_id"].startswith("resp_")
    assert first.json.get("previous_response_id") is None
    run("one more", env=env)  # a new chat conversation is now the last one
    result = run("-c", "--responses", "x", env=env)
    assert result.returncode == 2 and "drop --responses" in result.stderr


def test_interactive_continue_and_history(fake, env):
    run("--no-stream", "first", env=env)
    result = run("-c", "-i", input="/history\nsecond\n", env=env)
    assert result.stdout.startswith("user: first\nassistant: echo: first\n")
    assert [m["content"] for m in fake.requests[-1].json["messages"]] == ["first", "echo: first", "second"]


# -- keys ---------------------------------------------------------------------------------------------


def test_keys_are_stored_privately_and_never_echoed(home):
    path = home / "config" / "openai-bindings" / "keys.json"
    assert run("keys", "path").stdout == f"{path}\n"
    assert run("keys", "list").stdout == ""
    result = run("keys", "set", "openai", "--value", "sk-stored-1234")
    assert result.returncode == 0 and "sk-stored" not in result.stdout + result.stderr
    result = run("keys", "set", "work", input="sk-work-5678\n")  # from a pipe, no prompt
    assert result.returncode == 0 and "sk-work" not in result.stdout + result.stderr
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    assert run("keys", "list").stdout == "openai\nwork\n"
    assert run("keys", "get", "work").stdout == "sk-work-5678\n"
    result = run("keys", "get", "nope")
    assert result.returncode == 1 and "keys set nope" in result.stderr and "sk-" not in result.stderr
    assert run("keys", "set", "empty", input="\n").returncode == 2


def test_key_order_argument_environment_file(fake):
    run("keys", "set", "openai", "--value", "sk-from-file")
    run("keys", "set", "work", "--value", "sk-work")

    def sent_key(*args, env=None):
        result = run("--no-stream", *args, "hi", env={"OPENAI_BASE_URL": fake.base_url, **(env or {})})
        assert result.returncode == 0, result.stderr
        return fake.requests[-1].headers["authorization"]

    assert sent_key() == "Bearer sk-from-file"
    assert sent_key(env={"OPENAI_API_KEY": "sk-env"}) == "Bearer sk-env"
    assert sent_key("--api-key", "sk-arg", env={"OPENAI_API_KEY": "sk-env"}) == "Bearer sk-arg"
    assert sent_key("--key", "work") == "Bearer sk-work"
    result = run("hi", "--key", "missing", env={"OPENAI_BASE_URL": fake.base_url})
    assert result.returncode == 2 and "keys set missing" in result.stderr
    result = run("hi", "--provider", "gemini")  # no key anywhere for it: the message says where to put one
    assert result.returncode == 2 and "GEMINI_API_KEY" in result.stderr and "keys set gemini" in result.stderr


# -- --debug and broken plugins --------------------------------------------------------------------


def test_debug_shows_the_request_log(fake, env):
    result = run("--debug", "--no-stream", "hi", env=env)
    assert result.returncode == 0 and result.stdout == "echo: hi\n"
    assert re.search(
        r"DEBUG POST http://127\.0\.0\.1:\d+/v1/chat/completions -> 200 request_id=", result.stderr
    )
    assert "sk-test" not in result.stderr
    assert "DEBUG" not in run("--no-stream", "hi", env=env).stderr


def test_a_broken_plugin_is_one_line(fake, env, tmp_path):
    from test_plugins import BROKEN, make_distribution

    site = tmp_path / "site"
    site.mkdir()
    make_distribution(site, "ob-broken-plugin", "ob_broken_plugin", BROKEN, entry="broken")
    result = run("models", env={**env, "PYTHONPATH": str(site)})
    assert result.returncode == 0 and result.stdout.splitlines() == ["fake-embedding", "fake-model"]
    assert result.stderr == (
        "openai-bindings: plugin 'broken' (from dist ob-broken-plugin) skipped: "
        "RuntimeError: this plugin is broken on purpose\n"
    )


# -- attachments ---------------------------------------------------------------------------------------


@pytest.fixture
def attachments(tmp_path):
    from test_parts import PDF, png_bytes, wav_bytes

    made = {"pic.png": png_bytes(), "report.pdf": PDF, "sound.wav": wav_bytes()}
    for name, data in made.items():
        (tmp_path / name).write_bytes(data)
    return {name: str(tmp_path / name) for name in made}


def test_attachments_go_with_the_prompt(fake, env, attachments):
    files = [attachments["pic.png"], attachments["report.pdf"], attachments["sound.wav"]]
    result = run("--no-stream", *(x for f in files for x in ("-a", f)), "What is this?", env=env)
    assert result.returncode == 0, result.stderr
    content = fake.requests[-1].json["messages"][-1]["content"]
    assert [part["type"] for part in content] == ["text", "image_url", "file", "input_audio"]
    assert content[0]["text"] == "What is this?"
    assert content[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert content[2]["file"]["filename"] == "report.pdf" and content[3]["input_audio"]["format"] == "wav"

    result = run("-a", "https://example.com/cat.png", "--no-stream", "and this?", env=env)
    assert fake.requests[-1].json["messages"][-1]["content"][1]["image_url"]["url"] == (
        "https://example.com/cat.png"
    )
    result = run("-a", "missing.png", "hi", env=env)
    assert result.returncode == 2 and "no such file" in result.stderr


def test_attachments_with_the_responses_api(fake, env, attachments):
    result = run(
        "--responses", "-a", attachments["pic.png"], "-a", attachments["report.pdf"], "Describe", env=env
    )
    assert result.returncode == 0, result.stderr
    [message] = fake.requests[-1].json["input"]
    assert message["role"] == "user"
    assert [part["type"] for part in message["content"]] == ["input_text", "input_image", "input_file"]


def test_attachments_go_with_the_first_turn_of_a_conversation(fake, env, attachments):
    result = run("-i", "-a", attachments["pic.png"], input="first\n/history\nsecond\n", env=env)
    assert result.returncode == 0, result.stderr
    first, second = (r.json["messages"] for r in fake.requests)
    assert [part["type"] for part in first[-1]["content"]] == ["text", "image_url"]
    assert second[-1] == {"role": "user", "content": "second"}
    assert "user: first [attached: pic.png]" in result.stdout


def test_an_unwritable_state_directory_does_not_lose_the_answer(fake, env, home):
    (home / "state").write_text("a file where the state directory should be")
    result = run("--no-stream", "hi", env=env)
    assert result.returncode == 0 and result.stdout == "echo: hi\n"
    assert "not saved for -c" in result.stderr


def test_continue_keeps_the_conversations_provider(fake, env):
    both = {**env, "OPENAI_COMPATIBLE_API_KEY": "sk-compatible"}
    run("--provider", "compatible", "--base-url", fake.base_url, "--no-stream", "first", env=both)
    assert fake.requests[-1].headers["authorization"] == "Bearer sk-compatible"
    run("-c", "--base-url", fake.base_url, "--no-stream", "second", env=both)
    assert fake.requests[-1].headers["authorization"] == "Bearer sk-compatible"
    run("-c", "--provider", "openai", "--no-stream", "third", env=both)  # named now: it wins
    assert fake.requests[-1].headers["authorization"] == "Bearer sk-test"
