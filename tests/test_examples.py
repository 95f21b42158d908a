"""Every example runs against FakeOpenAIServer, so none of them rots."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def script_none(server):
    pass


def script_function_calling(server):
    server.reply_with_tool_call("standard_deviation", {"numbers": [2, 8, 28, 92, 9]})
    server.reply_with("The standard deviation is about 33.26.")


def script_tools(server):
    server.reply_with_tool_call("get_weather", {"city": "Paris"})
    server.reply_with("It is 18°C and sunny in Paris.")


def script_responses_tools(server):
    server.reply_with_tool_call("multiply", {"a": 1231, "b": 2331})
    server.reply_with("1231 * 2331 = 2869461")


def script_tool_loop(server):
    server.reply_with_tool_calls(("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"}))
    server.reply_with("Rome is warmer today.")


def script_json(server):
    server.reply_with('{"name": "France", "capital": "Paris", "population": 68000000}')


def script_recipe(server):
    server.reply_with('{"title": "Pancakes", "ingredients": ["flour", "milk", "eggs"]}')


def script_structured(server):
    server.reply_with(
        '{"title": "Pancakes", "ingredients": ["flour", "milk"], "difficulty": "easy", "minutes": 15}',
        '{"title": "Croissants", "ingredients": ["flour", "butter"], "difficulty": "hard", "minutes": null}',
    )


def script_country(server):
    server.reply_with(
        '{"name": "Portugal", "capital": "Lisbon", "population": 10300000, "languages": ["Portuguese"]}'
    )


CASES = {
    "basic_chat.py": (script_none, "echo: Write a 'Hello world' program in Lua"),
    "function_calling.py": (script_function_calling, "[2, 8, 28, 92, 9]}) = 33.26"),
    "chat_session.py": (script_none, "assistant: echo: Excluding the colors"),
    "streaming.py": (script_none, "finish reason: stop | usage: {"),
    "tools.py": (script_tools, "the model asked for the weather in Paris"),
    "vision.py": (script_none, "echo: What is in this image?"),
    "embeddings.py": (script_none, "3 vectors of 8 dimensions"),
    "gemini_session.py": (script_none, "echo: Now in two more"),
    "gemini_embeddings.py": (script_none, "1 8"),
    "gemini_models.py": (script_none, "fake-model"),
    "gemini_structured_output.py": (script_json, '"capital": "Paris"'),
    "image_generation.py": (script_none, "saved"),
    "openrouter.py": (script_none, "echo: Write a haiku about HTTP"),
    "responses_basic.py": (script_none, "chained: ['resp_"),
    "responses_structured_output.py": (script_recipe, '"title": "Pancakes"'),
    "responses_tools.py": (script_responses_tools, "multiply({'a': 1231, 'b': 2331}) = 2869461"),
    "responses_vision.py": (script_none, "echo: Describe this image in one sentence."),
    "tool_loop.py": (script_tool_loop, "Rome is warmer today."),
    "async_chat.py": (script_none, "Name a red fruit -> echo: Name a red fruit"),
    "bulk_embeddings_processes.py": (script_none, "embedded 120 of 120 documents in 2 processes"),
    "bulk_embeddings_dask.py": (script_none, "embedded 120 of 120 documents on 4 Dask tasks"),
    "structured_output.py": (script_structured, "Pancakes (easy, 15 min): flour, milk\nsession: Croissants"),
    "structured_output_pydantic.py": (script_country, "Portugal: capital Lisbon, 10,300,000 people"),
    "tk_chat.py": (script_none, "you: Hello\nassistant: echo: Hello"),
    "transcription.py": (script_none, "streamed: This is the transcript of silence.wav."),
    "batch.py": (script_none, "q2 -> echo: Spell 'batch' backwards."),
    "image_edit.py": (script_none, "saved"),
}
#: Examples that take arguments when a test runs them.
ARGS = {"tk_chat.py": ["--demo", "Hello"], "image_edit.py": ["edited.png"]}


def test_every_example_has_a_case():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(CASES)


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    """A virtual X display for the Tk example (Debian's xvfb), or a skip that says how to get one."""
    pytest.importorskip("tkinter", reason="the Tk example needs Python's tkinter")
    if shutil.which("Xvfb") is None:
        pytest.skip("the Tk example needs a display: apt-get install xvfb (CI installs it)")
    number = 90 + os.getpid() % 500
    server = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "800x600x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not os.path.exists(f"/tmp/.X11-unix/X{number}") and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_runs(name, fake, tmp_path, request):
    script, expected = CASES[name]
    script(fake)
    if name == "structured_output_pydantic.py":
        pytest.importorskip("pydantic", reason="pip install pydantic (the test extra has it)")
    extra = {"DISPLAY": request.getfixturevalue("display")} if name == "tk_chat.py" else {}
    env = {
        **extra,
        "BATCH_POLL_INTERVAL": "0.05",
        **os.environ,
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": fake.base_url,
        "GEMINI_API_KEY": "test",
        "GEMINI_BASE_URL": fake.base_url,
        "OPENROUTER_API_KEY": "test",
        "OPENROUTER_BASE_URL": fake.base_url,
    }
    args = [str(tmp_path / "out.png")] if name == "image_generation.py" else ARGS.get(name, [])
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout, result.stdout
    if name == "image_generation.py":
        assert (tmp_path / "out.png").read_bytes().startswith(b"\x89PNG\r\n")
    if name == "image_edit.py":
        assert (tmp_path / "edited.png").read_bytes().startswith(b"\x89PNG\r\n")
        assert fake.requests[-1].path == "/v1/images/edits"
        assert fake.requests[-1].body.count(b'name="image[]"') == 2
    assert not any("Traceback" in line for line in result.stderr.splitlines())
