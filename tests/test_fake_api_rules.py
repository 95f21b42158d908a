"""The checks the fake makes as the real API does: paths, request ids, parameters, models, headers,
``tool_choice``, listings, and the client's encodings of lists and nested fields."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator

import openai
import pytest
from fake_oracle import send

import openai_bindings
from openai_bindings.testing import FakeOpenAIServer, Reply

MSGS = [{"role": "user", "content": "Hello"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1},
            },
            "required": ["city", "unit", "days"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
}


@pytest.fixture
def oai(fake: FakeOpenAIServer) -> Iterator[Any]:
    client = openai.OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0)
    yield client
    client.close()


# -- the API root and request ids ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/chat/completions", "/v2/models", "/v1", "/v1/no/such/thing"])
def test_outside_the_api_answers_404(fake, path):
    status, headers, body = send(fake.url(path))
    assert status == 404 and body["error"]["message"] == f"Invalid URL (GET {path})"
    assert headers["x-request-id"].startswith("req_")


def test_a_wrong_base_url_fails_openai_python(fake):
    client = openai.OpenAI(base_url=fake.url(""), api_key="sk-test", max_retries=0)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="m", messages=MSGS)


def test_every_answer_has_a_request_id(fake):
    fake.fail_with(500, "boom")
    fake.queue(Reply(body={"raw": True}))
    fake.queue(Reply(body={}, headers={"X-Request-Id": "req_mine"}))
    seen = [send(fake.url("/v1/models"))[1]["x-request-id"] for _ in range(3)]
    seen.append(send(fake.base_url + "/chat/completions", "POST", {"messages": MSGS})[1]["x-request-id"])
    seen.append(send(fake.base_url + "/files/file-nope")[1]["x-request-id"])
    assert seen[1] == "req_mine" and len(set(seen)) == len(seen)
    assert all(ident.startswith("req_") for ident in seen)


# -- parameters and models -----------------------------------------------------------------------


def test_unknown_parameters_are_refused_as_the_api_words_it(oai):
    with pytest.raises(openai.BadRequestError) as chat:
        oai.chat.completions.create(model="m", messages=MSGS, extra_body={"temprature": 0.2})
    assert chat.value.status_code == 400
    assert chat.value.body == {
        "message": "Unrecognized request argument supplied: temprature",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    with pytest.raises(openai.BadRequestError) as responses:
        oai.responses.create(model="m", input="x", extra_body={"max_tokens": 5})
    assert responses.value.body == {
        "message": "Unknown parameter: 'max_tokens'.",
        "type": "invalid_request_error",
        "param": "max_tokens",
        "code": "unknown_parameter",
    }


def test_unknown_form_fields_are_refused_too_and_query_strings_let_be(fake, oai):
    assert send(fake.base_url + "/files?purpose=batch&api-version=2")[0] == 200
    with pytest.raises(openai.BadRequestError, match="Unknown parameter: 'purpse'"):
        oai.files.create(file=("a.txt", b"x"), purpose="batch", extra_body={"purpse": "x"})


def test_check_params_false_lets_vendor_parameters_through():
    with FakeOpenAIServer(check_params=False) as server:
        status, _, body = send(server.base_url + "/chat/completions", "POST", {"messages": MSGS, "top_k": 3})
    assert status == 200 and body["object"] == "chat.completion"


def test_models_limits_the_models_that_exist():
    with FakeOpenAIServer(models=["gpt-4.1", "text-embedding-3-small"]) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
        assert [m.id for m in client.models.list().data] == ["gpt-4.1", "text-embedding-3-small"]
        assert client.chat.completions.create(model="gpt-4.1", messages=MSGS).model == "gpt-4.1"
        client.embeddings.create(model="text-embedding-3-small", input="x")
        with pytest.raises(openai.NotFoundError) as missing:
            client.chat.completions.create(model="gpt-5-nano", messages=MSGS)
        assert missing.value.body == {
            "message": "The model `gpt-5-nano` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
        }
        with pytest.raises(openai.NotFoundError) as retrieved:
            client.models.retrieve("gpt-5-nano")
        assert retrieved.value.body["code"] == "model_not_found"
        assert server.requests[-1].path == "/v1/models/gpt-5-nano"
        client.close()
    with pytest.raises(ValueError, match="models="):
        FakeOpenAIServer(models=[])


def test_model_names_may_hold_slashes(fake):
    assert send(fake.base_url + "/models/meta-llama/llama-3")[2]["id"] == "meta-llama/llama-3"


def test_assistants_need_the_beta_header(fake):
    status, _, body = send(fake.base_url + "/assistants")
    assert status == 400 and body["error"]["code"] == "invalid_beta"
    assert body["error"]["message"] == (
        "You must provide the 'OpenAI-Beta' header to access the Assistants API. "
        "Please try again by setting the header 'OpenAI-Beta: assistants=v2'."
    )
    assert send(fake.base_url + "/threads", headers={"OpenAI-Beta": "assistants=v2"})[0] == 200


def test_a_body_that_is_not_json_is_refused(fake):
    request = urllib.request.Request(
        fake.base_url + "/chat/completions",
        data=b"{oops",
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as failure:
        urllib.request.urlopen(request, timeout=10)
    assert failure.value.code == 400
    assert "could not parse the JSON body" in json.loads(failure.value.read())["error"]["message"]


# -- tool_choice -------------------------------------------------------------------------------


def call_chat(client: Any, **params: Any) -> Dict[str, Any]:
    return client.chat.completions.create(model="m", messages=MSGS, **params).choices[0].message.model_dump()


def test_required_forces_a_call_with_arguments_from_the_schema(oai):
    message = call_chat(oai, tools=[WEATHER_TOOL, TIME_TOOL], tool_choice="required")
    call = message["tool_calls"][0]["function"]
    assert call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "example", "unit": "celsius", "days": 1}
    answer = oai.responses.create(
        model="m", input="x", tools=[{"type": "function", **WEATHER_TOOL["function"]}], tool_choice="required"
    )
    assert answer.output[0].type == "function_call" and answer.output[0].name == "get_weather"


def test_a_named_function_is_the_one_called(oai, fake):
    named = {"type": "function", "function": {"name": "get_time"}}
    fake.reply_with_tool_call("get_weather", {"city": "Paris"})  # not the named one: stays queued
    assert call_chat(oai, tools=[WEATHER_TOOL, TIME_TOOL], tool_choice=named)["tool_calls"][0][
        "function"
    ] == {
        "name": "get_time",
        "arguments": "{}",
    }
    assert call_chat(oai, tools=[WEATHER_TOOL])["tool_calls"][0]["function"]["name"] == "get_weather"


def test_none_forces_text_and_keeps_the_scripted_call_for_later(oai, fake):
    fake.reply_with_tool_call("get_weather", {"city": "Paris"})
    message = call_chat(oai, tools=[WEATHER_TOOL], tool_choice="none")
    assert message["content"] == "echo: Hello" and message["tool_calls"] is None
    assert (
        call_chat(oai, tools=[WEATHER_TOOL])["tool_calls"][0]["function"]["arguments"] == '{"city": "Paris"}'
    )


def test_required_with_a_scripted_text_keeps_the_text_for_the_next_turn(oai, fake):
    fake.reply_with("It is sunny.")
    assert call_chat(oai, tools=[WEATHER_TOOL], tool_choice="required")["tool_calls"]
    assert call_chat(oai, tools=[WEATHER_TOOL], tool_choice="none")["content"] == "It is sunny."


def test_the_readme_tools_example_runs_unscripted(fake):
    script = Path(__file__).resolve().parent.parent / "examples" / "tools.py"
    env = {"OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": "sk-test", "PATH": ""}
    result = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "the model asked for the weather in example"


def test_structured_output_without_a_script_follows_the_schema(fake):
    client = openai_bindings.OpenAI(base_url=fake.base_url, api_key="sk-test", transport="stdlib")
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}},
        "required": ["name", "tags"],
    }
    text = {"format": {"type": "json_schema", "name": "thing", "schema": schema, "strict": True}}
    answer = client.create_response("x", text=text).body["output"][0]["content"][0]["text"]
    assert json.loads(answer) == {"name": "example", "tags": ["example"]}
    fmt = {"type": "json_object"}
    chat = client.create_chat_completion(MSGS, response_format=fmt).body["choices"][0]["message"]["content"]
    assert json.loads(chat) == {"echo": "Hello"}
    client.close()


# -- listings and encodings ---------------------------------------------------------------------


def test_listings_paginate_with_limit_after_and_order(oai):
    made = [oai.files.create(file=(f"{n}.txt", b"x"), purpose="user_data").id for n in range(5)]
    first = oai.files.list(limit=2)
    assert [f.id for f in first.data] == made[::-1][:2] and first.has_more
    assert [f.id for f in oai.files.list(limit=2, order="asc").data] == made[:2]
    assert [f.id for f in oai.files.list()] == made[::-1]  # openai-python walks every page
    page = oai.files.with_raw_response.list(limit=2, after=made[3]).http_response.json()
    assert (page["first_id"], page["last_id"], page["has_more"]) == (made[2], made[1], True)
    with pytest.raises(openai.BadRequestError, match="integer above maximum value"):
        oai.vector_stores.list(limit=101)


def test_list_query_values_and_nested_form_fields_are_parsed(fake, oai):
    made = oai.responses.create(model="m", input="x")
    status, _, _ = send(fake.base_url + f"/responses/{made.id}/input_items?include[]=a&include[]=b&limit=1")
    assert status == 200
    uploaded = oai.files.create(
        file=("a.jsonl", b"{}"), purpose="batch", expires_after={"anchor": "created_at", "seconds": 3600}
    )
    sent = fake.requests[-1].body
    assert b'name="expires_after[anchor]"' in sent and b'name="expires_after[seconds]"' in sent
    assert uploaded.expires_at == uploaded.created_at + 3600


def test_scripted_failures_and_delays_apply_to_every_model_endpoint(fake, oai):
    fake.fail_with(503, "overloaded")
    with pytest.raises(openai.InternalServerError, match="overloaded"):
        oai.audio.transcriptions.create(model="whisper-1", file=("a.txt", b"hi"))
    fake.reply_with("scripted transcript")
    assert (
        oai.audio.transcriptions.create(model="whisper-1", file=("a.txt", b"hi")).text
        == "scripted transcript"
    )


def test_speech_as_server_sent_events(fake):
    body = {"model": "gpt-4o-mini-tts", "input": "one two", "voice": "alloy", "stream_format": "sse"}
    request = urllib.request.Request(
        fake.base_url + "/audio/speech",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.headers["content-type"] == "text/event-stream"
        events = [
            json.loads(line[6:]) for line in answer.read().decode().splitlines() if line.startswith("data: ")
        ]
    assert [e["type"] for e in events][-1] == "speech.audio.done" and events[0]["audio"]
