"""Python types through the client: structured outputs, checked parameters, sessions that persist.

The building blocks (json_schema, check_params...) have their own tests; these check
that the client and the sessions use them: what goes on the wire, what comes back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
from typing import List, Optional

import pytest

import openai_bindings
from openai_bindings import BadRequestError, json_schema
from openai_bindings.sessions import ChatSession, ResponsesChatSession, StructuredReply
from openai_bindings.testing import Reply


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class Item:
    name: str
    color: Color
    tags: List[str]
    note: Optional[str] = None


ITEM = {"name": "ball", "color": "red", "tags": ["toy"], "note": None}
HI = [{"role": "user", "content": "describe the ball"}]


# -- structured outputs ----------------------------------------------------------------------


def test_chat_response_format_type_sends_the_strict_schema_and_parses(make_caller, fake):
    call = make_caller(base_url=fake.base_url)
    fake.reply_with(json.dumps(ITEM))
    result = call("create_chat_completion", HI, response_format=Item)
    sent = fake.requests[-1].json["response_format"]
    assert sent == {
        "type": "json_schema",
        "json_schema": {"name": "Item", "schema": json_schema(Item), "strict": True},
    }
    assert result.parsed == Item("ball", Color.RED, ["toy"])
    assert result.refusal is None


def test_a_streamed_structured_answer_is_parsed_when_finished(make_caller, fake):
    call = make_caller(base_url=fake.base_url)
    fake.reply_with(json.dumps(ITEM))
    stream = call("create_chat_completion", HI, response_format=Item, stream=True)
    call.events(stream)
    assert stream.parsed == Item("ball", Color.RED, ["toy"])


def test_a_refusal_is_no_parse(make_caller, fake):
    call = make_caller(base_url=fake.base_url)
    refused = {
        "id": "chatcmpl-9",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None, "refusal": "I can't help with that."},
                "finish_reason": "stop",
            }
        ],
    }
    fake.queue(Reply(body=refused))
    result = call("create_chat_completion", HI, response_format=Item)
    assert result.parsed is None and result.refusal == "I can't help with that."


def test_responses_text_format_type(make_caller, fake):
    call = make_caller(base_url=fake.base_url)
    fake.reply_with(json.dumps(ITEM))
    result = call("create_response", "describe the ball", text_format=Item)
    sent = fake.requests[-1].json
    assert "text_format" not in sent
    assert sent["text"]["format"] == {
        "type": "json_schema",
        "name": "Item",
        "schema": json_schema(Item),
        "strict": True,
    }
    assert result.parsed == Item("ball", Color.RED, ["toy"])


def test_a_dict_response_format_passes_through_untouched(make_caller, fake):
    call = make_caller(base_url=fake.base_url)
    result = call("create_chat_completion", HI, response_format={"type": "json_object"})
    assert fake.requests[-1].json["response_format"] == {"type": "json_object"}
    assert result.parsed is None


def test_pydantic_models_work_when_pydantic_is_installed(make_caller, fake):
    pydantic = pytest.importorskip("pydantic")

    class Point(pydantic.BaseModel):
        x: int
        y: int

    call = make_caller(base_url=fake.base_url)
    fake.reply_with('{"x": 1, "y": 2}')
    assert call("create_chat_completion", HI, response_format=Point).parsed == Point(x=1, y=2)


def test_sessions_give_parsed_replies(make_caller, fake):
    call = make_caller(base_url=fake.base_url)
    fake.reply_with(json.dumps(ITEM), json.dumps({**ITEM, "name": "cube"}))
    chat = call.client.new_chat_session(response_format=Item)
    reply = call.wait(chat.send("describe the ball"))
    assert isinstance(reply, StructuredReply) and reply == json.dumps(ITEM)
    assert reply.parsed == Item("ball", Color.RED, ["toy"])
    responses = call.client.new_responses_chat_session(text_format=Item)
    response = call.wait(responses.send("and now?"))
    assert response.parsed.name == "cube"


# -- parameters checked before sending -----------------------------------------------------------------


def test_a_typo_is_refused_before_anything_is_sent(make_caller, fake):
    call = make_caller(base_url=fake.base_url)
    with pytest.raises(TypeError, match="did you mean 'temperature'"):
        call("create_chat_completion", HI, temprature=0.2)
    with pytest.raises(TypeError, match="temperature must be a number"):
        call("create_chat_completion", HI, temperature="0.2")
    with pytest.raises(TypeError, match="max_tokens must be an integer"):
        call("create_chat_completion", HI, max_tokens=1.5)
    assert fake.requests == []
    with pytest.raises(BadRequestError, match="Unrecognized request argument supplied: temprature"):
        call("create_chat_completion", HI, extra_body={"temprature": 0.2})  # sent as given; refused there
    assert fake.requests[-1].json["temprature"] == 0.2


@pytest.mark.parametrize(
    ("provider", "extra", "passes"),
    [
        ("openai", {"top_k": 5}, False),
        ("azure", {"data_sources": []}, True),
        ("openrouter", {"provider": {"order": ["x"]}}, True),
        ("openrouter", {"top_kk": 5}, False),
        ("compatible", {"anything_at_all": 1}, True),
    ],
)
def test_providers_declare_their_extra_parameters(fake, provider, extra, passes):
    options = {"api_version": "2024-10-21"} if provider == "azure" else {}
    client = openai_bindings.OpenAI(
        provider=provider,
        base_url=fake.base_url,
        api_key="k",
        default_model="m",
        transport="stdlib",
        **options,
    )
    with client:
        if passes:
            # the fake may not route azure's paths: what matters is that the request was sent
            with contextlib.suppress(openai_bindings.APIStatusError):
                client.create_chat_completion(HI, **extra)
            assert fake.requests
        else:
            with pytest.raises(TypeError, match="unknown parameter"):
                client.create_chat_completion(HI, **extra)
            assert not fake.requests


# -- typed tools -----------------------------------------------------------------------------------


@dataclasses.dataclass
class Query:
    city: str
    days: int = 1


def test_tool_arguments_arrive_as_the_annotated_types(make_caller, fake):
    seen: list = []

    def forecast(query: Query) -> str:
        """The weather for some days in a city."""
        seen.append(query)
        return f"sunny in {query.city} for {query.days} days"

    call = make_caller(base_url=fake.base_url)
    fake.reply_with_tool_call("forecast", {"query": {"city": "Oslo", "days": 3}})
    fake.reply_with("Sunny.")
    session = call.client.new_chat_session()
    assert call.wait(session.run("weather?", tools={"forecast": forecast})) == "Sunny."
    assert seen == [Query("Oslo", 3)]
    tool = fake.requests[0].json["tools"][0]["function"]
    assert tool["parameters"]["properties"]["query"]["$ref"].endswith("Query")


# -- usage and persistence -------------------------------------------------------------------------------


def test_usage_totals_every_request_of_a_tool_loop(make_caller, fake):
    call = make_caller(base_url=fake.base_url)
    fake.reply_with_tool_call("clock", {})
    fake.reply_with("It is noon.")
    session = call.client.new_chat_session()
    call.wait(session.run("time?", tools={"clock": lambda: "12:00"}))
    bodies = [r.json for r in fake.requests]
    assert len(bodies) == 2
    assert session.usage.requests == 2
    assert session.usage["input_tokens"] == 1 + 2  # the fake counts the words of the messages' contents
    assert session.usage.total_tokens == session.usage.input_tokens + session.usage.output_tokens
    assert set(session.usage) >= {
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "cached_tokens",
        "reasoning_tokens",
    }


def test_streamed_session_turns_count_their_usage_too(make_caller, fake):
    call = make_caller(base_url=fake.base_url)
    session = call.client.new_chat_session()
    call.wait(session.send("hello", lambda chunk: None))
    assert fake.requests[-1].json["stream_options"] == {"include_usage": True}
    assert session.usage.requests == 1 and session.usage.input_tokens == 1  # "hello": one word


def test_a_chat_session_survives_json_and_goes_on(make_caller, fake):
    call = make_caller(base_url=fake.base_url)
    session = call.client.new_chat_session(
        messages=[{"role": "system", "content": "Be brief."}], temperature=0.3, response_format=Item
    )
    fake.reply_with(json.dumps(ITEM))
    call.wait(session.send("describe"))
    data = json.loads(json.dumps(session.to_dict()))
    restored = ChatSession.from_dict(call.client, data, response_format=Item)
    assert restored.messages == session.messages and restored.usage == session.usage
    fake.reply_with(json.dumps({**ITEM, "name": "kite"}))
    reply = call.wait(restored.send("another"))
    assert reply.parsed.name == "kite"
    sent = fake.requests[-1].json
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "user"]
    assert sent["temperature"] == 0.3


def test_a_responses_session_survives_json_chained_and_local(make_caller, fake):
    call = make_caller(base_url=fake.base_url)
    chained = call.client.new_responses_chat_session(instructions="Be brief.")
    first = call.wait(chained.send("Remember 7."))
    data = json.loads(json.dumps(chained.to_dict()))
    restored = ResponsesChatSession.from_dict(call.client, data)
    call.wait(restored.send("Which number?"))
    assert fake.requests[-1].json["previous_response_id"] == first["id"]
    assert fake.requests[-1].json["instructions"] == "Be brief."

    local = call.client.new_responses_chat_session(store=False)
    call.wait(local.send("one"))
    again = ResponsesChatSession.from_dict(call.client, json.loads(json.dumps(local.to_dict())))
    call.wait(again.send("two"))
    sent = fake.requests[-1].json
    assert "previous_response_id" not in sent
    assert [i.get("content") for i in sent["input"] if i.get("role") == "user"] == ["one", "two"]


def test_from_dict_refuses_what_it_did_not_write(make_caller, fake):
    call = make_caller(base_url=fake.base_url)
    with pytest.raises(ValueError, match="to_dict"):
        ChatSession.from_dict(call.client, {"kind": "responses", "version": 1})
    with pytest.raises(ValueError, match="version"):
        ChatSession.from_dict(call.client, {"kind": "chat", "version": 9})
