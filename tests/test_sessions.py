"""ChatSession, ResponsesChatSession and the tool loop, on every transport, sync and async."""

from __future__ import annotations

import json
import threading
from typing import Literal, Optional

import pytest

from openai_bindings import InternalServerError, OpenAI, StreamError
from openai_bindings.schema import function_schema, validate
from openai_bindings.sessions import ResponseObject, SessionChunk, ToolLoopError
from openai_bindings.testing import Reply, sse

CHAT = "/v1/chat/completions"


@pytest.fixture
def call(make_caller, fake):
    return make_caller(base_url=fake.base_url, max_retries=0)


def sent(fake, index=-1):
    return fake.requests[index].json


# -- ChatSession -----------------------------------------------------------------------------


@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "streamed"])
def test_history_after_each_turn(call, fake, streamed):
    session = call.client.new_chat_session(
        messages=[{"role": "system", "content": "Be brief."}], temperature=0.3
    )
    pieces = []
    callback = pieces.append if streamed else None
    fake.reply_with("Hello there!", "Fine, thanks.")
    assert call.wait(session.send("Hi", callback)) == "Hello there!"
    assert session.messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello there!"},
    ]
    assert call.wait(session.send({"role": "user", "content": "How are you?"}, callback)) == "Fine, thanks."
    assert len(session.messages) == 5 and session.last_message() == {
        "role": "assistant",
        "content": "Fine, thanks.",
    }
    assert sent(fake)["messages"] == session.messages[:4]
    assert sent(fake)["temperature"] == 0.3
    if streamed:
        assert all(isinstance(p, SessionChunk) for p in pieces)
        assert "".join(map(str, pieces)) == "Hello there!Fine, thanks."
        assert sent(fake)["stream"] is True


def test_streamed_and_plain_histories_are_identical(call, fake):
    histories = []
    for streamed in (False, True):
        session = call.client.new_chat_session()
        fake.reply_with_tool_calls(
            ("get_weather", {"city": "Paris"}, "call_a"), ("get_time", {"tz": "CET"}, "call_b")
        )
        fake.reply_with("It is sunny.")
        callback = (lambda chunk: None) if streamed else None
        reply = call.wait(session.send("Weather?", callback))
        assert reply["tool_calls"][1]["function"] == {"name": "get_time", "arguments": '{"tz": "CET"}'}
        session.append_message(
            {"role": "tool", "tool_call_id": "call_a", "content": "sunny"},
            {"role": "tool", "tool_call_id": "call_b", "content": "noon"},
        )
        assert call.wait(session.generate_response(stream_callback=callback)) == "It is sunny."
        histories.append(session.messages)
    assert histories[0] == histories[1]
    assert histories[0][1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_a",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            },
            {
                "id": "call_b",
                "type": "function",
                "function": {"name": "get_time", "arguments": '{"tz": "CET"}'},
            },
        ],
    }


def test_overrides_apply_to_one_call_only(call, fake):
    session = call.client.new_chat_session(
        model="m-session", temperature=0.1, response_format={"type": "text"}
    )
    call.wait(session.send("one", temperature=0.9, model="m-call", seed=4))
    assert {k: sent(fake)[k] for k in ("model", "temperature", "seed")} == {
        "model": "m-call",
        "temperature": 0.9,
        "seed": 4,
    }
    call.wait(session.send("two"))
    assert (
        sent(fake)["model"] == "m-session" and sent(fake)["temperature"] == 0.1 and "seed" not in sent(fake)
    )
    assert sent(fake)["response_format"] == {"type": "text"}
    call.wait(session.send("three", {"temperature": 0.5}))  # the original's send(msg, opts)
    assert sent(fake)["temperature"] == 0.5


def test_generate_response_without_appending(call, fake):
    session = call.client.new_chat_session(messages=["Hello"])
    message = call.wait(session.generate_response(append_response=False))
    assert message == "echo: Hello"
    assert session.messages == [{"role": "user", "content": "Hello"}]


def test_an_api_error_leaves_the_history_exactly_as_it_was(call, fake):
    session = call.client.new_chat_session(
        messages=[{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    )
    before = json.loads(json.dumps(session.messages))
    fake.fail_with(500, "The server is on fire")
    with pytest.raises(InternalServerError, match="on fire"):
        call.wait(session.send("c"))
    assert session.messages == before
    assert call.wait(session.send("c")) == "echo: c"  # simply retried
    assert len(session.messages) == 4


@pytest.mark.parametrize(
    ("message", "error", "text"),
    [
        ({"content": "x"}, ValueError, "messages[1] has no 'role'"),
        ({"role": "wizard", "content": "x"}, ValueError, "messages[1] has unknown role 'wizard'"),
        ({"role": "tool", "content": "x"}, ValueError, "messages[1] has role 'tool' but no 'tool_call_id'"),
        ({"role": "function", "content": "x"}, ValueError, "messages[1] has role 'function' but no 'name'"),
        ({"role": "user", "content": 42}, TypeError, "messages[1]['content'] must be a string"),
        (
            {"role": "user", "content": [{"type": "video", "video": 1}]},
            ValueError,
            "messages[1]['content'][0]",
        ),
        ({"role": "user", "content": [{"type": "image_url"}]}, ValueError, "needs a 'image_url' member"),
        (
            {"role": "assistant", "tool_calls": [{"id": "c"}]},
            ValueError,
            "messages[1]['tool_calls'][0] needs",
        ),
        (
            {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": {}}}]},
            TypeError,
            "JSON",
        ),
        ({"role": "user", "tool_calls": []}, ValueError, "only assistant messages"),
        (["not", "a", "dict", "but", "a", "list"], TypeError, "messages[1] must be a dict"),
    ],
)
def test_validation_names_the_index_and_leaves_history_untouched(message, error, text):
    session = OpenAI(transport="stdlib", base_url="http://127.0.0.1:9").new_chat_session(messages=["first"])
    with pytest.raises(error) as info:
        session.append_message({"role": "user", "content": "ok"} if False else message)
    assert text in str(info.value)
    with pytest.raises(error):
        session.append_message({"role": "user", "content": "fine"}, message)  # all or nothing
    assert session.messages == [{"role": "user", "content": "first"}]


def test_valid_content_parts_are_accepted():
    session = OpenAI(transport="stdlib", base_url="http://127.0.0.1:9").new_chat_session()
    session.append_message(
        {"role": "developer", "content": "rules"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                {"type": "input_audio", "input_audio": {"data": "AA==", "format": "wav"}},
                {"type": "file", "file": {"file_id": "file-1"}},
            ],
        },
        {"role": "function", "name": "f", "content": "1"},
    )
    assert len(session.messages) == 3


def test_tool_call_reply_is_returned_whole(call, fake):
    session = call.client.new_chat_session(
        tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}],
        tool_choice="required",
        parallel_tool_calls=False,
    )
    fake.reply_with_tool_call("f", {"x": 1}, "call_1")
    reply = call.wait(session.send("go"))
    assert reply["role"] == "assistant" and reply["tool_calls"][0]["id"] == "call_1"
    assert sent(fake)["tool_choice"] == "required" and sent(fake)["parallel_tool_calls"] is False


def test_stream_callback_gets_chunk_and_raw_event(call, fake):
    session = call.client.new_chat_session()
    fake.reply_with("one two")
    seen = []
    call.wait(session.send("x", lambda chunk, event: seen.append((str(chunk), event["object"]))))
    assert seen == [("one ", "chat.completion.chunk"), ("two", "chat.completion.chunk")]


def test_legacy_function_calling(call, fake):
    functions = [
        {
            "name": "stddev",
            "description": "standard deviation",
            "parameters": {
                "type": "object",
                "properties": {"nums": {"type": "array", "items": {"type": "number"}}},
                "required": ["nums"],
            },
        }
    ]
    session = call.client.new_chat_session(functions=functions)
    fake.reply_with_tool_call("stddev", {"nums": [2, 4, 4, 4, 5, 5, 7, 9]})
    reply = call.wait(session.send("Standard deviation of 2, 4, 4, 4, 5, 5, 7, 9?"))
    assert reply["function_call"]["name"] == "stddev"
    call.wait(session.send({"role": "function", "name": "stddev", "content": "2"}))
    assert session.messages[-2] == {"role": "function", "name": "stddev", "content": "2"}
    assert sent(fake)["functions"] == functions


# -- ResponsesChatSession -----------------------------------------------------------------


@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "streamed"])
def test_responses_session_chains_previous_response_id(call, fake, streamed):
    session = call.client.new_responses_chat_session(model="gpt-4.1", instructions="Be kind.")
    callback = (lambda chunk: None) if streamed else None
    fake.reply_with("First answer.", "Second answer.")
    first = call.wait(session.send("Hello", callback))
    assert isinstance(first, ResponseObject) and str(first) == first.output_text == "First answer."
    assert "previous_response_id" not in sent(fake) and sent(fake)["instructions"] == "Be kind."
    second = call.wait(session.send("More", callback))
    assert sent(fake)["previous_response_id"] == first["id"]
    assert session.current_response_id == second["id"]
    assert [r["id"] for r in session.response_history] == [first["id"], second["id"]]
    assert second.get_output_text() == "Second answer."


def test_responses_session_resumes_and_overrides(call, fake):
    first = call("create_response", "start")
    session = call.client.new_responses_chat_session(previous_response_id=first.body["id"])
    call.wait(session.create_response("next", temperature=0.2))
    assert sent(fake)["previous_response_id"] == first.body["id"] and sent(fake)["temperature"] == 0.2


def test_responses_function_calls_and_images(call, fake):
    session = call.client.new_responses_chat_session(tools=[{"type": "image_generation"}])
    fake.reply_with_tool_calls(("lookup", {"q": "x"}, "call_9"), text="Here you go")
    response = call.wait(session.send("Draw and look up"))
    assert response.function_calls == [
        {"name": "lookup", "call_id": "call_9", "arguments": {"q": "x"}, "raw_arguments": '{"q": "x"}'}
    ]
    assert response.get_images()[0].startswith(b"\x89PNG")
    assert isinstance(response.get_images(decode=False)[0], str)
    assert [item["type"] for item in response["output"]] == [
        "function_call",
        "message",
        "image_generation_call",
    ]
    call.wait(session.send([{"type": "function_call_output", "call_id": "call_9", "output": "42"}]))
    assert sent(fake)["input"] == [{"type": "function_call_output", "call_id": "call_9", "output": "42"}]


def test_responses_stream_without_completed_raises(call, fake):
    session = call.client.new_responses_chat_session()
    partial = sse(
        ("response.created", {"type": "response.created", "response": {"id": "resp_x"}}),
        ("response.output_text.delta", {"type": "response.output_text.delta", "delta": "Hi"}),
        done=False,
    )
    fake.queue(Reply(chunks=[partial], headers={"Content-Type": "text/event-stream"}), path="/v1/responses")
    with pytest.raises(StreamError, match=r"response\.completed"):
        call.wait(session.send("x", lambda chunk: None))
    assert session.response_history == [] and session.current_response_id is None


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("", "must not be empty"),
        ([], "non-empty list"),
        ([{"role": "robot", "content": "x"}], "input[0] has role 'robot'"),
        ([{"role": "user", "content": [{"type": "image"}]}], "input[0]['content'][0]"),
        ([{"type": "function_call_output", "output": "1"}], "needs 'call_id'"),
        (["text"], "input[0] must be a dict"),
        ([{"content": "no role, no type"}], "needs a 'type'"),
    ],
)
def test_responses_input_validation(fake, value, text):
    session = OpenAI(base_url=fake.base_url, transport="stdlib").new_responses_chat_session()
    with pytest.raises((TypeError, ValueError), match=text.replace("[", r"\[").replace("]", r"\]")):
        session.send(value)
    assert fake.requests == []


def test_responses_input_parts_accepted(fake):
    session = OpenAI(base_url=fake.base_url, transport="stdlib").new_responses_chat_session()
    session.send(
        [
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is in this image?"},
                    {"type": "input_image", "image_url": "https://x/y.png"},
                    {"type": "input_file", "file_id": "file-1"},
                ],
            }
        ]
    )
    assert sent(fake)["input"][0]["content"][1]["type"] == "input_image"


def test_store_false_keeps_the_items_locally(call, fake):
    session = call.client.new_responses_chat_session(store=False)
    fake.reply_with_tool_call("f", {"a": 1}, "call_1")
    call.wait(session.send("go"))
    call.wait(session.send([{"type": "function_call_output", "call_id": "call_1", "output": "2"}]))
    body = sent(fake)
    assert "previous_response_id" not in body and body["store"] is False
    assert [item.get("type", item.get("role")) for item in body["input"]] == [
        "user",
        "function_call",
        "function_call_output",
    ]
    assert "id" not in body["input"][1]  # unstored ids would be looked up and fail


# -- the tool loop -------------------------------------------------------------------------


def add(a: int, b: int) -> int:
    """Add two integers.

    a: the first number
    b: the second number
    """
    return a + b


def test_function_schema_from_a_typed_function():
    def search(
        query: str, limit: int = 5, mode: Literal["fast", "deep"] = "fast", tags: Optional[list[str]] = None
    ):
        """Search the notes.

        Args:
            query: what to look for
        """

    schema = function_schema(search)
    assert schema == {
        "type": "function",
        "function": {
            "name": "search",
            "description": "Search the notes.",
            "parameters": {
                "type": "object",
                "required": ["query"],
                "properties": {
                    "query": {"type": "string", "description": "what to look for"},
                    "limit": {"type": "integer", "default": 5},
                    "mode": {"type": "string", "enum": ["fast", "deep"], "default": "fast"},
                    "tags": {
                        "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}],
                        "default": None,
                    },
                },
                "additionalProperties": False,
            },
        },
    }


@pytest.mark.parametrize("use_jsonschema", [True, False], ids=["jsonschema", "subset"])
def test_schema_validation(monkeypatch, use_jsonschema):
    import sys

    if not use_jsonschema:
        monkeypatch.setitem(sys.modules, "jsonschema", None)
    schema = {
        "type": "object",
        "required": ["a"],
        "additionalProperties": False,
        "properties": {
            "a": {"type": "integer"},
            "mode": {"enum": ["x", "y"]},
            "items": {
                "type": "array",
                "items": {"type": "object", "properties": {"n": {"type": "number"}}, "required": ["n"]},
            },
        },
    }
    assert validate({"a": 1, "mode": "x", "items": [{"n": 1.5}]}, schema) == []
    assert validate({"a": True}, schema)  # a bool is not an integer
    assert validate({}, schema)
    assert validate({"a": 1, "mode": "z"}, schema)
    assert validate({"a": 1, "items": [{"n": "1"}]}, schema)
    assert validate({"a": 1, "extra": 1}, schema)


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_tool_loop_runs_tools_until_text(call, fake, api):
    session = call.client.new_chat_session() if api == "chat" else call.client.new_responses_chat_session()
    records = []
    fake.reply_with_tool_call("add", {"a": 2, "b": 3})
    fake.reply_with_tool_call("add", {"a": 5, "b": 10})
    fake.reply_with("The sum is 15.")
    answer = call.wait(session.run("Add 2 and 3, then 10", tools={"add": add}, on_tool_call=records.append))
    assert str(answer) == "The sum is 15."
    assert [(r.arguments, r.result, r.error) for r in records] == [
        ({"a": 2, "b": 3}, "5", None),
        ({"a": 5, "b": 10}, "15", None),
    ]
    tools = sent(fake, 0)["tools"]
    name = tools[0]["function"]["name"] if api == "chat" else tools[0]["name"]
    assert name == "add"  # derived from the function's signature
    if api == "chat":
        assert [m["role"] for m in session.messages] == [
            "user",
            "assistant",
            "tool",
            "assistant",
            "tool",
            "assistant",
        ]
        assert session.messages[2]["content"] == "5"
    else:
        assert sent(fake)["input"] == [
            {"type": "function_call_output", "call_id": records[1].call_id, "output": "15"}
        ]


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_tool_loop_reports_bad_calls_to_the_model(call, fake, api):
    def boom(x: int) -> int:
        raise RuntimeError("the tool broke")

    session = call.client.new_chat_session() if api == "chat" else call.client.new_responses_chat_session()
    records = []
    fake.reply_with_tool_calls(
        ("add", '{"a": 1, "b": '),  # malformed JSON
        ("add", {"a": "one", "b": 2}),  # schema violation
        ("subtract", {"a": 1}),  # unknown tool
        ("boom", {"x": 1}),  # the tool raises
        ("add", {"a": 1, "b": 1}),  # fine
    )
    fake.reply_with("Sorted it out.")
    answer = call.wait(session.run("go", tools={"add": add, "boom": boom}, on_tool_call=records.append))
    assert str(answer) == "Sorted it out."
    errors = [r.error for r in records]
    assert "not valid JSON" in errors[0]
    assert "schema" in errors[1] and "'a'" in errors[1]
    assert "unknown tool 'subtract'" in errors[2] and "add, boom" in errors[2]
    assert "RuntimeError: the tool broke" in errors[3]
    assert errors[4] is None and records[4].result == "2"
    results = (
        [m["content"] for m in session.messages if m["role"] == "tool"]
        if api == "chat"
        else [i["output"] for i in sent(fake)["input"]]
    )
    assert [json.loads(r).get("error") if r.startswith("{") else r for r in results] == [*errors[:4], "2"]


def test_parallel_tool_calls_run_concurrently_on_the_async_client(make_caller, fake):
    call = make_caller(base_url=fake.base_url)
    barrier = threading.Barrier(2, timeout=10)

    def wait_for_the_other(name: str) -> str:
        barrier.wait()  # only passes when both calls run at the same time
        return name

    if not call.is_async:
        barrier = threading.Barrier(1)
    session = call.client.new_chat_session()
    fake.reply_with_tool_calls(("meet", {"name": "a"}, "c1"), ("meet", {"name": "b"}, "c2"))
    fake.reply_with("done")
    assert call.wait(session.run("x", tools={"meet": wait_for_the_other})) == "done"
    tool_messages = [m for m in session.messages if m["role"] == "tool"]
    assert [(m["tool_call_id"], m["content"]) for m in tool_messages] == [
        ("c1", "a"),
        ("c2", "b"),
    ]  # in order


def test_async_tools_are_awaited(make_caller, fake):
    call = make_caller(base_url=fake.base_url)

    async def double(n: int) -> int:
        return n * 2

    fake.reply_with_tool_call("double", {"n": 21})
    fake.reply_with("42 it is")
    if call.is_async:
        assert call.wait(call.client.new_chat_session().run("x", tools={"double": double})) == "42 it is"
        assert json.loads(sent(fake)["messages"][-1]["content"]) == 42


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_max_turns_stops_the_loop(call, fake, api):
    session = call.client.new_chat_session() if api == "chat" else call.client.new_responses_chat_session()
    ran = []
    for _ in range(3):
        fake.reply_with_tool_call("add", {"a": 1, "b": 1})
    with pytest.raises(ToolLoopError, match="after 2 turns"):
        call.wait(session.run("loop", tools={"add": lambda a, b: ran.append(1) or a + b}, max_turns=2))
    assert len(ran) == 1 and len(fake.requests) == 2


def test_gemini_style_empty_tool_call_ids_can_be_answered(call, fake):
    session = call.client.new_chat_session()
    fake.reply_with_tool_call("add", {"a": 1, "b": 2}, call_id="")
    fake.reply_with("3")
    assert call.wait(session.run("x", tools={"add": add})) == "3"
    assert session.messages[1]["tool_calls"][0]["id"] == "call_0"
    assert session.messages[2]["tool_call_id"] == "call_0"
