"""Every example runs against FakeOpenAIServer, so none of them rots."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
}


def test_every_example_has_a_case():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_runs(name, fake, tmp_path):
    script, expected = CASES[name]
    script(fake)
    env = {
        **os.environ,
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": fake.base_url,
        "GEMINI_API_KEY": "test",
        "GEMINI_BASE_URL": fake.base_url,
        "OPENROUTER_API_KEY": "test",
        "OPENROUTER_BASE_URL": fake.base_url,
    }
    args = [str(tmp_path / "out.png")] if name == "image_generation.py" else []
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
    assert not any("Traceback" in line for line in result.stderr.splitlines())
