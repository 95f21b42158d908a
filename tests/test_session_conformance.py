"""Multi-turn tool conversations recorded with the real APIs, replayed through the sessions.

The recordings were made by other libraries, whose requests differ from ours in
form (key order, ``"content": null`` or absent, JSON spacing inside tool
arguments), so requests are matched by meaning: the same conversation (roles,
texts, tool calls with the same parsed arguments, tool results) and the same
other parameters. Read from ../shared/conformance (or $OPENAI_BINDINGS_CONFORMANCE), skipped when absent.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from support import CONFORMANCE as CORPUS
from support import CONFORMANCE_MISSING

from openai_bindings.sessions import ToolLoopError

vcr = pytest.importorskip("vcr")


def _parsed(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return text


def _chat_message(message: dict) -> tuple:
    calls = tuple(
        (c.get("id"), c["function"]["name"], json.dumps(_parsed(c["function"]["arguments"]), sort_keys=True))
        for c in message.get("tool_calls") or ()
    )
    return (message["role"], message.get("content") or None, calls, message.get("tool_call_id"))


def _input_item(item: dict) -> tuple:
    kind = item.get("type", "message")
    if kind == "message":
        content = item.get("content")
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content)
        return ("message", item.get("role"), content)
    if kind == "function_call":
        return (kind, item["call_id"], item["name"], json.dumps(_parsed(item["arguments"]), sort_keys=True))
    if kind == "function_call_output":
        return (kind, item["call_id"], item["output"])
    if kind == "reasoning":
        return (kind, item.get("id"), item.get("encrypted_content"))
    return (kind,)


def _rename_ids(value: Any, names: dict) -> Any:
    """Call ids are opaque tokens: compare them up to a consistent renaming (id #1, #2...)."""
    if isinstance(value, tuple):
        return tuple(_rename_ids(v, names) for v in value)
    if isinstance(value, str) and value.startswith(("call_", "fc_")):
        return names.setdefault(value, f"id#{len(names) + 1}")
    return value


def meaning(body: Any) -> Any:
    data = _parsed(body.decode() if isinstance(body, bytes) else body)
    if not isinstance(data, dict):
        return data
    data = dict(data)
    if "messages" in data:
        data["messages"] = [_chat_message(m) for m in data["messages"]]
    if "input" in data:
        items = data["input"]
        data["input"] = [
            _input_item(i)
            for i in ([{"role": "user", "content": items}] if isinstance(items, str) else items)
        ]
    names: dict = {}
    for key in ("messages", "input"):
        if key in data:
            data[key] = [_rename_ids(item, names) for item in data[key]]
    return data


def same_conversation(r1: Any, r2: Any) -> None:
    assert meaning(r1.body) == meaning(r2.body)


def play(name: str):
    path = CORPUS / f"{name}.yaml"
    if not path.is_file():
        pytest.skip(
            CONFORMANCE_MISSING if not CORPUS.is_dir() else f"{path.name} is not in the conformance corpus"
        )
    recorder = vcr.VCR(
        record_mode="none", match_on=["method", "uri", "conversation"], filter_headers=["authorization"]
    )
    recorder.register_matcher("conversation", same_conversation)
    return recorder.use_cassette(str(path), allow_playback_repeats=False)


def recorded_request(name: str, index: int = 0) -> dict:
    import yaml

    data = yaml.safe_load((CORPUS / f"{name}.yaml").read_text())
    return json.loads(data["interactions"][index]["request"]["body"])


def recorded_tools(name: str) -> list:
    return recorded_request(name)["tools"]


def recorded_session(call, name: str):
    """A Responses session with every option of the recorded first request (all but the input)."""
    options = {key: value for key, value in recorded_request(name).items() if key != "input"}
    return call.client.new_responses_chat_session(**options)


def recorded_prompt(name: str) -> str:
    body = recorded_request(name)
    return (body.get("messages") or body.get("input"))[-1]["content"]


@pytest.fixture
def call(make_caller):
    return make_caller(base_url="https://api.openai.com/v1", api_key="sk-test-not-a-key", max_retries=0)


def test_chat_tool_chain_of_two_calls(call):
    name = "llm__test_tool_use_chain_of_two_calls"
    with play(name) as cassette:
        session = call.client.new_chat_session(model="gpt-4o-mini", stream=False, tools=recorded_tools(name))
        calls = []
        answer = call.wait(
            session.run(
                "Can the country of Crumpet have dragons? Answer with only YES or NO",
                tools={
                    "lookup_population": lambda country: 123124,
                    "can_have_dragons": lambda population: population > 10000,
                },
                on_tool_call=calls.append,
            )
        )
        assert answer == "YES"
        assert [(c.name, c.arguments, c.result) for c in calls] == [
            ("lookup_population", {"country": "Crumpet"}, "123124"),
            ("can_have_dragons", {"population": 123124}, "true"),
        ]
        assert [m["role"] for m in session.messages] == [
            "user",
            "assistant",
            "tool",
            "assistant",
            "tool",
            "assistant",
        ]
        assert cassette.all_played


def test_chat_parallel_tool_calls_answered_by_hand(call):
    """Tools given for one call only (an override), answered with append_message + generate_response."""
    name = "otel-contrib__test_chat_completion_tool_calls_with_content"
    with play(name) as cassette:
        session = call.client.new_chat_session(
            messages=[{"role": "system", "content": "You're a helpful assistant."}], model="gpt-4o-mini"
        )
        reply = call.wait(
            session.send(
                "What's the weather in Seattle and San Francisco today?",
                tools=recorded_tools(name),
                tool_choice="auto",
            )
        )
        weather = {"Seattle, WA": "50 degrees and raining", "San Francisco, CA": "70 degrees and sunny"}
        session.append_message(
            *(
                {
                    "role": "tool",
                    "tool_call_id": c["id"],
                    "content": weather[json.loads(c["function"]["arguments"])["location"]],
                }
                for c in reply["tool_calls"]
            )
        )
        text = call.wait(session.generate_response())
        assert "Seattle" in text and "San Francisco" in text
        assert cassette.all_played


def test_responses_tool_use_without_storage(call):
    name = "llm__test_responses_tool_use"
    with play(name) as cassette:
        session = recorded_session(call, name)
        answer = call.wait(
            session.run("What is 1231 * 2331? Use the multiply tool.", tools={"multiply": lambda a, b: a * b})
        )
        assert "2,869,461" in str(answer) or "2869461" in str(answer)
        assert cassette.all_played


def test_responses_round_trips_encrypted_reasoning(call):
    name = "llm__test_responses_round_trips_encrypted_reasoning"
    with play(name) as cassette:
        session = recorded_session(call, name)
        answer = call.wait(
            session.run(
                recorded_prompt(name),
                tools={
                    "lookup_population": lambda country: 123124,
                    "can_have_dragons": lambda population: True,
                },
            )
        )
        assert "Pundora" in str(answer)
        assert [i.get("type", "message") for i in session.items][:3] == [
            "message",
            "reasoning",
            "function_call",
        ]
        assert cassette.all_played


def test_responses_interleaved_reasoning_hits_max_turns(call):
    name = "llm__test_responses_interleaved_reasoning_between_tool_calls"
    answers = {"start": "Begin with the value 7.", "7": "unknown key", "step1": "unknown key"}
    with play(name) as cassette:
        session = recorded_session(call, name)
        prompt = recorded_prompt(name)
        with pytest.raises(ToolLoopError, match="after 4 turns"):
            call.wait(session.run(prompt, tools={"db_lookup": lambda key: answers[key]}, max_turns=4))
        assert len(session.response_history) == 4
        assert len(session.response_history[-1].function_calls) == 5  # the calls it still wanted
        assert cassette.all_played


def test_responses_streamed_tool_use_with_local_history(call):
    name = "pydantic-ai__test_openai_responses_stream"
    with play(name) as cassette:
        session = call.client.new_responses_chat_session(
            model="gpt-4o",
            instructions="",
            tool_choice="auto",
            tools=recorded_tools(name),
            local_history=True,
        )
        pieces = []
        answer = call.wait(
            session.run(
                "What is the capital of France?",
                tools={"get_capital": lambda country: "Paris"},
                stream_callback=pieces.append,
            )
        )
        assert str(answer) == "The capital of France is Paris." == "".join(map(str, pieces))
        assert cassette.all_played
