"""Every endpoint against the project's cassettes, on every transport, sync and async."""

from __future__ import annotations

import base64
import email.parser
import email.policy
import io
import json

import pytest
from support import CASSETTES, replayer

from openai_bindings import LegacyChunk, NotFoundError

pytest.importorskip("vcr")
BASE = "https://api.openai.com/v1"
MSGS = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hello"}]


@pytest.fixture
def call(make_caller):
    return make_caller(base_url=BASE, api_key="sk-test-key", max_retries=0)


def cassette(name):
    return replayer().use_cassette(str(CASSETTES / f"{name}.yaml"), allow_playback_repeats=False)


def test_chat_completions(call):
    with cassette("chat_completions") as played:
        status, body, headers = call("create_chat_completion", MSGS)
        assert status == 200 and body["choices"][0]["message"]["content"] == "Hello!"
        assert headers["x-request-id"] == "req_chat_1"

        stream = call("create_chat_completion", MSGS, stream=True)
        assert len(call.events(stream)) == 4
        assert stream.text == "Hello!" and stream.finish_reason == "stop"
        assert stream.request_id == "req_chat_2"

        tools = [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Weather for a city",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                    },
                },
            }
        ]
        stream = call(
            "create_chat_completion",
            [{"role": "user", "content": "Weather in Paris?"}],
            tools=tools,
            tool_choice="required",
            stream=True,
            stream_options={"include_usage": True},
        )
        call.events(stream)
        assert stream.message == {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        }
        assert stream.finish_reason == "tool_calls" and stream.usage["total_tokens"] == 49
        folded = stream.completion
        assert folded["id"] == "chatcmpl-abc124" and folded["model"] == "gpt-4.1-2025-04-14"
        assert folded["choices"] == [{"index": 0, "message": stream.message, "finish_reason": "tool_calls"}]
        assert played.all_played


def test_legacy_chat_and_functions(call):
    with cassette("legacy_chat") as played:
        pieces = []
        stream = call(
            "chat", [{"role": "user", "content": "Two words"}], stream=True, chunk_callback=pieces.append
        )
        assert pieces == [LegacyChunk("Hello", 0), LegacyChunk(" there", 0)]
        assert "".join(str(p) for p in pieces) == "Hello there" == stream.text
        assert pieces[0] == {"content": "Hello", "index": 0}
        functions = [
            {
                "name": "stddev",
                "parameters": {
                    "type": "object",
                    "properties": {"nums": {"type": "array", "items": {"type": "number"}}},
                },
            }
        ]
        body = call("chat", [{"role": "user", "content": "stddev of 1,2,3"}], functions=functions).body
        assert body["choices"][0]["message"]["function_call"]["name"] == "stddev"
        assert played.all_played


def test_completions(call):
    with cassette("completions") as played:
        assert (
            call("completion", "Say this is a test", max_tokens=7).body["choices"][0]["text"].endswith("test")
        )
        stream = call("completion", "Say this is a test", stream=True)
        call.events(stream)
        assert stream.text == "This is a test"
        assert played.all_played


def test_embeddings_and_moderations(call):
    with cassette("embeddings") as played:
        vector = call("embedding", "The food was delicious").body["data"][0]["embedding"]
        assert vector == [0.0023064255, -0.009327292, -0.0028842222]
        data = call("embedding", ["a", "b"], model="text-embedding-3-large", dimensions=2).body["data"]
        assert [d["embedding"] for d in data] == [[0.1, 0.2], [0.3, 0.4]]
        assert played.all_played
    with cassette("moderations") as played:  # no model is injected: the server picks
        assert call("moderation", "I want to hug everyone").body["results"][0]["flagged"] is False
        assert played.all_played


def test_responses(call):
    with cassette("responses") as played:
        first = call("create_response", "Tell me a one-sentence bedtime story about a unicorn.")
        assert first.body["output"][0]["content"][0]["text"].startswith("Once upon")
        stream = call("create_response", "Say hi", previous_response_id="resp_1", stream=True)
        events = call.events(stream)
        assert [e["type"] for e in events] == [
            "response.created",
            "response.output_item.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.completed",
        ]
        assert stream.text == "Hi there"
        assert stream.final_response["id"] == "resp_2"
        assert stream.final_response["previous_response_id"] == "resp_1"
        assert call("response", "resp_1").body["id"] == "resp_1"
        assert call("cancel_response", "resp_3").body["status"] == "cancelled"
        assert call("delete_response", "resp_1").body["deleted"] is True
        with pytest.raises(NotFoundError, match="resp_missing"):
            call("response", "resp_missing")
        assert played.all_played


def test_models(call):
    with cassette("models") as played:
        assert [m["id"] for m in call("models").body["data"]] == ["gpt-4.1", "text-embedding-3-small"]
        assert call("model", "gpt-4.1").body["owned_by"] == "system"
        assert played.all_played


def test_files_and_pagination(call):
    with cassette("files") as played:
        items = call.events(call.client.paginate(call.client.files, limit=2))
        assert [item["id"] for item in items] == ["file-1", "file-2", "file-3"]
        assert call("file", "file-1").body["filename"] == "data1.jsonl"
        assert call("file_content", "file-1").body == b'{"prompt": "a", "completion": "b"}\n'
        assert call("delete_file", "file-1").body["deleted"] is True
        assert played.all_played


def test_image_generation(call):
    with cassette("image_generation") as played:
        body = call(
            "image_generation",
            prompt="A cute baby sea otter",
            n=1,
            size="256x256",
            response_format="b64_json",
        ).body
        assert base64.b64decode(body["data"][0]["b64_json"]).startswith(b"\x89PNG")
        assert played.all_played


# -- upload: a real multipart body, checked by the local server -------------------------------


def test_upload_file_streams_multipart(make_caller, fake, tmp_path):
    path = tmp_path / "train.jsonl"
    content = b'{"prompt": "p", "completion": "c"}\n' * 20000  # ~700 KB: several chunks
    path.write_bytes(content)
    fake.route(
        "POST",
        "/v1/files",
        lambda r: __import__("openai_bindings").testing.Reply(
            body={"id": "file-9", "object": "file", "bytes": len(content), "filename": "train.jsonl"}
        ),
    )
    call = make_caller(base_url=fake.base_url)
    assert call("upload_file", path, "fine-tune").body["id"] == "file-9"
    sent = fake.requests[-1]
    assert sent.headers["content-length"] == str(len(sent.body))
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + sent.headers["content-type"].encode() + b"\r\n\r\n" + sent.body
    )
    parts = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
    assert parts["purpose"].get_content() == "fine-tune"
    assert parts["file"].get_filename() == "train.jsonl"
    assert parts["file"].get_payload(decode=True) == content


def test_upload_reads_in_chunks_not_whole():
    from openai_bindings.multipart import MultipartFile

    class Recording(io.BytesIO):
        sizes: list = []

        def read(self, size=-1):
            self.sizes.append(size)
            return super().read(size)

    handle = Recording(b"x" * 3_000_000)
    body = MultipartFile(handle, {"purpose": "batch"})
    total = sum(len(chunk) for chunk in body)
    assert total == body.content_length
    assert handle.sizes and max(handle.sizes) <= 256 * 1024 and -1 not in handle.sizes
    assert sum(len(c) for c in body) == total  # re-iterable, for retries


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "error", "text"),
    [
        ("create_chat_completion", ("hi",), {}, TypeError, "list of dicts"),
        ("create_chat_completion", ([{"content": "x"}],), {}, ValueError, "messages[0] has no 'role'"),
        (
            "create_chat_completion",
            ([{"role": "robot", "content": "x"}],),
            {},
            ValueError,
            "unknown role 'robot'",
        ),
        ("create_chat_completion", ([{"role": "tool", "content": "x"}],), {}, ValueError, "tool_call_id"),
        ("create_chat_completion", ([{"role": "user", "content": 5}],), {}, TypeError, "content"),
        (
            "create_chat_completion",
            ([{"role": "user", "content": "x"}],),
            {"stream": "yes"},
            TypeError,
            "stream",
        ),
        (
            "create_chat_completion",
            ([{"role": "user", "content": "x"}],),
            {"extra_headers": 3},
            TypeError,
            "dict",
        ),
        ("create_response", (), {}, ValueError, "input"),
        ("embedding", ("",), {}, ValueError, "input is required"),
        ("response", ("",), {}, ValueError, "must not be empty"),
        ("file", ("../etc",), {}, ValueError, "contains"),
        ("delete_file", (3,), {}, TypeError, "string id"),
        ("upload_file", ("/no/such/file.jsonl", "batch"), {}, FileNotFoundError, "no such file"),
        ("upload_file", (12345, "batch"), {}, TypeError, "path or a binary file"),
        ("image_generation", (), {}, ValueError, "prompt"),
        (
            "create_chat_completion",
            ([{"role": "user", "content": "x"}],),
            {"max_retries": -1},
            ValueError,
            ">= 0",
        ),
    ],
)
def test_bad_input_is_refused_before_sending(fake, method, args, kwargs, error, text):
    import openai_bindings

    client = openai_bindings.OpenAI(base_url=fake.base_url, transport="stdlib")
    with pytest.raises(error) as info:
        getattr(client, method)(*args, **kwargs)
    assert text in str(info.value)
    assert fake.requests == []


def test_extra_headers_query_and_body(fake):
    import openai_bindings

    client = openai_bindings.OpenAI(base_url=fake.base_url, transport="stdlib")
    client.create_chat_completion(
        MSGS,
        extra_headers={"X-Per-Call": "1"},
        extra_query={"api-version": "x"},
        extra_body={"seed": 7},
        model="m",
    )
    sent = fake.requests[-1]
    assert sent.headers["x-per-call"] == "1" and sent.query == {"api-version": ["x"]}
    assert sent.json == {"messages": MSGS, "model": "m", "seed": 7}
    json.dumps(sent.json)
