"""The whole API surface: each endpoint's exact request, the escape hatch, encoding, error shapes.

The local server echoes every request back as JSON (method, path, query, headers, body), so
each endpoint is checked on both clients against what actually went over the wire.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
from typing import Any, Dict, List, Optional

import pytest

from openai_bindings import APIStatusError, NotFoundError, RateLimitError
from openai_bindings.testing import Reply

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
WAV = b"RIFF\x24\0\0\0WAVEfmt " + b"\0" * 16


def parts_of(echo: Dict[str, Any]) -> List[tuple]:
    """(name, filename, content type, content) of each part of an echoed multipart body."""
    content_type = {k.lower(): v for k, v in echo["headers"].items()}["content-type"]
    raw = echo["body"].encode("utf-8", "surrogateescape")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    return [
        (
            part.get_param("name", header="content-disposition"),
            part.get_filename(),
            part.get_content_type(),
            part.get_payload(decode=True),
        )
        for part in message.iter_parts()
    ]


# (method, args, kwargs) -> (HTTP method, path under /v1, query, JSON body or None)
JSON_CASES = [
    (
        "chat_completions",
        (),
        {"limit": 2, "metadata": {"team": "a"}},
        "GET",
        "/chat/completions",
        {"limit": ["2"], "metadata[team]": ["a"]},
        None,
    ),
    ("chat_completion", ("cc_1",), {}, "GET", "/chat/completions/cc_1", {}, None),
    (
        "update_chat_completion",
        ("cc_1",),
        {"metadata": {"k": "v"}},
        "POST",
        "/chat/completions/cc_1",
        {},
        {"metadata": {"k": "v"}},
    ),
    ("delete_chat_completion", ("cc_1",), {}, "DELETE", "/chat/completions/cc_1", {}, None),
    (
        "chat_completion_messages",
        ("cc_1",),
        {"limit": 5},
        "GET",
        "/chat/completions/cc_1/messages",
        {"limit": ["5"]},
        None,
    ),
    (
        "response_input_items",
        ("resp_1",),
        {"include": ["a.b", "c"]},
        "GET",
        "/responses/resp_1/input_items",
        {"include[]": ["a.b", "c"]},
        None,
    ),
    (
        "count_input_tokens",
        (),
        {"input": "hi"},
        "POST",
        "/responses/input_tokens",
        {},
        {"input": "hi", "model": "gpt-4.1"},
    ),
    (
        "compact_response",
        (),
        {"input": [{"role": "user", "content": "hi"}]},
        "POST",
        "/responses/compact",
        {},
        {"input": [{"role": "user", "content": "hi"}], "model": "gpt-4.1"},
    ),
    ("delete_model", ("ft:gpt-4.1:org:x",), {}, "DELETE", "/models/ft:gpt-4.1:org:x", {}, None),
    (
        "create_upload",
        (),
        {"filename": "a.jsonl", "purpose": "batch", "bytes": 3, "mime_type": "text/jsonl"},
        "POST",
        "/uploads",
        {},
        {"filename": "a.jsonl", "purpose": "batch", "bytes": 3, "mime_type": "text/jsonl"},
    ),
    (
        "complete_upload",
        ("upl_1", ["part_1", "part_2"]),
        {},
        "POST",
        "/uploads/upl_1/complete",
        {},
        {"part_ids": ["part_1", "part_2"]},
    ),
    ("cancel_upload", ("upl_1",), {}, "POST", "/uploads/upl_1/cancel", {}, None),
    (
        "create_batch",
        ("file_1", "/v1/chat/completions"),
        {"metadata": {"job": "n"}},
        "POST",
        "/batches",
        {},
        {
            "input_file_id": "file_1",
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
            "metadata": {"job": "n"},
        },
    ),
    ("batch", ("batch_1",), {}, "GET", "/batches/batch_1", {}, None),
    (
        "batches",
        (),
        {"limit": 2, "after": "batch_0"},
        "GET",
        "/batches",
        {"limit": ["2"], "after": ["batch_0"]},
        None,
    ),
    ("cancel_batch", ("batch_1",), {}, "POST", "/batches/batch_1/cancel", {}, None),
    (
        "create_conversation",
        (),
        {"metadata": {"topic": "x"}},
        "POST",
        "/conversations",
        {},
        {"metadata": {"topic": "x"}},
    ),
    ("conversation", ("conv_1",), {}, "GET", "/conversations/conv_1", {}, None),
    (
        "update_conversation",
        ("conv_1",),
        {"metadata": {"topic": "y"}},
        "POST",
        "/conversations/conv_1",
        {},
        {"metadata": {"topic": "y"}},
    ),
    ("delete_conversation", ("conv_1",), {}, "DELETE", "/conversations/conv_1", {}, None),
    (
        "conversation_items",
        ("conv_1",),
        {"limit": 1},
        "GET",
        "/conversations/conv_1/items",
        {"limit": ["1"]},
        None,
    ),
    (
        "create_conversation_items",
        ("conv_1", [{"type": "message", "role": "user", "content": "hi"}]),
        {},
        "POST",
        "/conversations/conv_1/items",
        {},
        {"items": [{"type": "message", "role": "user", "content": "hi"}]},
    ),
    ("conversation_item", ("conv_1", "msg_1"), {}, "GET", "/conversations/conv_1/items/msg_1", {}, None),
    (
        "delete_conversation_item",
        ("conv_1", "msg_1"),
        {},
        "DELETE",
        "/conversations/conv_1/items/msg_1",
        {},
        None,
    ),
    ("create_vector_store", (), {"name": "docs"}, "POST", "/vector_stores", {}, {"name": "docs"}),
    ("vector_store", ("vs_1",), {}, "GET", "/vector_stores/vs_1", {}, None),
    ("vector_stores", (), {"limit": 3}, "GET", "/vector_stores", {"limit": ["3"]}, None),
    ("delete_vector_store", ("vs_1",), {}, "DELETE", "/vector_stores/vs_1", {}, None),
    (
        "search_vector_store",
        ("vs_1", "returns policy"),
        {"max_num_results": 2},
        "POST",
        "/vector_stores/vs_1/search",
        {},
        {"query": "returns policy", "max_num_results": 2},
    ),
    (
        "add_vector_store_file",
        ("vs_1", "file_1"),
        {},
        "POST",
        "/vector_stores/vs_1/files",
        {},
        {"file_id": "file_1"},
    ),
    ("vector_store_files", ("vs_1",), {}, "GET", "/vector_stores/vs_1/files", {}, None),
    ("assistants", (), {}, "GET", "/assistants", {}, None),
    ("threads", (), {}, "GET", "/threads", {}, None),
    ("thread_messages", ("thread_1",), {}, "GET", "/threads/thread_1/messages", {}, None),
    ("delete_thread", ("thread_1",), {}, "DELETE", "/threads/thread_1", {}, None),
]


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "method", "path", "query", "body"), JSON_CASES, ids=[c[0] for c in JSON_CASES]
)
def test_each_endpoint_sends_exactly_its_request(
    make_caller, server, name, args, kwargs, method, path, query, body
):
    call = make_caller(base_url=server.url("/v1"), api_key="sk-test")
    echo = call(name, *args, **kwargs).body
    assert (echo["method"], echo["path"], echo["query"]) == (method, "/v1" + path, query)
    assert (json.loads(echo["body"]) if echo["body"] else None) == body
    headers = {k.lower(): v for k, v in echo["headers"].items()}
    if name in ("assistants", "threads", "thread_messages", "delete_thread"):
        assert headers["openai-beta"] == "assistants=v2"  # the original sent it (as the body, by a bug)
    else:
        assert "openai-beta" not in headers


def test_speech_answers_bytes_and_streams_them(make_caller, server, tmp_path):
    call = make_caller(base_url=server.url("/v1"), api_key="sk-test")
    audio = call("speech", "Hello there", voice="nova").body
    assert isinstance(audio, bytes)
    sent = json.loads(json.loads(audio)["body"])
    assert sent == {"input": "Hello there", "voice": "nova", "model": "gpt-4o-mini-tts"}
    server.queue(Reply(chunks=[b"ID3", b"\x00\x01", b"\x02"], headers={"Content-Type": "audio/mpeg"}))
    stream = call("speech", "Hello", stream=True)
    chunks = call.events(stream)
    assert all(isinstance(c, bytes) for c in chunks) and b"".join(chunks) == b"ID3\x00\x01\x02"
    assert "stream" not in json.loads(server.requests[-1].body)  # our streaming, not an API parameter
    server.queue(Reply(chunks=[b"ID3", b"\x05"], headers={"Content-Type": "audio/mpeg"}))
    target = tmp_path / "hello.mp3"
    call.wait(call("speech", "Hello", stream=True).write_to_file(target))
    assert target.read_bytes() == b"ID3\x05"


def test_transcription_and_translation_are_multipart_uploads(make_caller, server, tmp_path):
    call = make_caller(base_url=server.url("/v1"), api_key="sk-test")
    recording = tmp_path / "note.wav"
    recording.write_bytes(WAV)
    echo = call("transcription", recording, timestamp_granularities=["word", "segment"], language="en").body
    assert echo["path"] == "/v1/audio/transcriptions"
    parts = parts_of(echo)
    assert ("file", "note.wav", "audio/x-wav", WAV) in parts or (
        "file",
        "note.wav",
        "audio/wav",
        WAV,
    ) in parts
    fields = {(name, content.decode()) for name, filename, _, content in parts if filename is None}
    assert fields == {
        ("timestamp_granularities[]", "word"),
        ("timestamp_granularities[]", "segment"),
        ("language", "en"),
        ("model", "gpt-4o-mini-transcribe"),
    }
    echo = call("translation", ("clip.mp3", b"ID3data")).body
    assert echo["path"] == "/v1/audio/translations"
    assert ("file", "clip.mp3", "audio/mpeg", b"ID3data") in parts_of(echo)


def test_a_streamed_transcription_adds_up_its_text(make_caller, server):
    call = make_caller(base_url=server.url("/v1"), api_key="sk-test")
    events = [
        {"type": "transcript.text.delta", "delta": "Hello "},
        {"type": "transcript.text.delta", "delta": "world"},
        {
            "type": "transcript.text.done",
            "text": "Hello world",
            "usage": {"input_tokens": 3, "output_tokens": 2},
        },
    ]
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events).encode()
    server.queue(Reply(chunks=[body], headers={"Content-Type": "text/event-stream"}))
    stream = call("transcription", ("a.wav", WAV), stream=True)
    assert [e["type"] for e in call.events(stream)] == [e["type"] for e in events]
    assert stream.text == "Hello world" and stream.final_response["text"] == "Hello world"
    assert parts_of(
        {
            "headers": server.requests[-1].headers,
            "body": server.requests[-1].body.decode("utf-8", "surrogateescape"),
        }
    )


def test_image_edits_take_several_images_and_a_mask(make_caller, server, tmp_path):
    call = make_caller(base_url=server.url("/v1"), api_key="sk-test")
    first, second = tmp_path / "a.png", tmp_path / "b.webp"
    first.write_bytes(PNG)
    second.write_bytes(b"RIFF\0\0\0\0WEBPVP8 ")
    echo = call(
        "image_edit", [first, second], "put them together", mask=("mask.png", PNG), size="1024x1024"
    ).body
    assert echo["path"] == "/v1/images/edits"
    parts = parts_of(echo)
    files = [(name, filename, kind) for name, filename, kind, _ in parts if filename]
    assert files == [
        ("image[]", "a.png", "image/png"),
        ("image[]", "b.webp", "image/webp"),
        ("mask", "mask.png", "image/png"),
    ]
    fields = {name: content.decode() for name, filename, _, content in parts if filename is None}
    assert fields == {"prompt": "put them together", "size": "1024x1024", "model": "gpt-image-1"}
    echo = call("image_edit", first, "just one").body
    assert [p[0] for p in parts_of(echo) if p[1]] == ["image"]
    echo = call("image_variation", first, n=2).body
    assert echo["path"] == "/v1/images/variations" and [p[0] for p in parts_of(echo) if p[1]] == ["image"]


def test_add_upload_part_sends_the_data_as_a_file_part(make_caller, server):
    call = make_caller(base_url=server.url("/v1"), api_key="sk-test")
    echo = call("add_upload_part", "upl_1", b"0123456789").body
    assert echo["path"] == "/v1/uploads/upl_1/parts"
    assert [(p[0], p[3]) for p in parts_of(echo)] == [("data", b"0123456789")]


# -- the escape hatch ----------------------------------------------------------------------------------


def test_request_reaches_any_path_through_the_provider(make_caller, server):
    call = make_caller(base_url=server.url("/v1"), api_key="sk-test")
    echo = call(
        "request", "GET", "/fine_tuning/jobs", params={"limit": 2, "status": ["running", "queued"]}
    ).body
    assert echo["path"] == "/v1/fine_tuning/jobs"
    assert echo["query"] == {"limit": ["2"], "status[]": ["running", "queued"]}
    assert {k.lower(): v for k, v in echo["headers"].items()}["authorization"] == "Bearer sk-test"
    echo = call(
        "request",
        "POST",
        "/fine_tuning/jobs",
        json={"model": "m", "training_file": "f"},
        extra_headers={"X-A": "1"},
    ).body
    assert json.loads(echo["body"]) == {"model": "m", "training_file": "f"}
    assert {k.lower(): v for k, v in echo["headers"].items()}["x-a"] == "1"
    echo = call(
        "request", "PUT", "/things/1", body=b"\x00raw", headers={"Content-Type": "application/x-thing"}
    ).body
    assert (
        echo["body"] == "\x00raw"
        and {k.lower(): v for k, v in echo["headers"].items()}["content-type"] == "application/x-thing"
    )


def test_request_streams_retries_and_raises_like_any_endpoint(make_caller, server):
    call = make_caller(base_url=server.url("/v1"), api_key="sk-test", max_retries=1)
    events = b'data: {"type": "progress", "n": 1}\n\ndata: not json\n\n'
    server.queue(
        Reply(status=503, body={"error": {"message": "busy"}}, headers={"retry-after-ms": "10"}),
        Reply(chunks=[events], headers={"Content-Type": "text/event-stream"}),
    )
    stream = call("request", "GET", "/jobs/1/events", stream=True)
    assert call.events(stream) == [{"type": "progress", "n": 1}, "not json"]
    server.queue(Reply(status=404, body={"detail": "Not Found"}))
    with pytest.raises(NotFoundError, match="Not Found"):
        call("request", "DELETE", "/nope")


def test_request_refuses_what_it_cannot_send(make_caller, server):
    call = make_caller(base_url=server.url("/v1"))
    with pytest.raises(ValueError, match="relative to the base URL"):
        call("request", "GET", "https://elsewhere.example/v1/x")
    with pytest.raises(TypeError, match="json= or body="):
        call("request", "POST", "/x", json={}, body=b"")
    with pytest.raises(TypeError, match="unknown option"):
        call("request", "GET", "/x", temperature=1)
    assert server.requests == []


# -- error shapes seen in the wild ------------------------------------------------------------------------

ERROR_SHAPES = [
    (
        {"error": {"message": "Invalid model", "type": "invalid_request_error", "code": "model_not_found"}},
        None,
        "Invalid model",
    ),
    (
        [{"error": {"code": 400, "message": "Gemini says no", "status": "INVALID_ARGUMENT"}}],
        None,
        "Gemini says no",
    ),
    ({"detail": "Not authenticated"}, None, "Not authenticated"),
    (
        {"detail": [{"loc": ["body", "model"], "msg": "field required", "type": "missing"}]},
        None,
        "model: field required",
    ),
    ({"error": "model 'llama9' not found"}, None, "model 'llama9' not found"),
    ({"message": "Route not found"}, None, "Route not found"),
    (
        'data: {"error": {"message": "quota exceeded", "code": "insufficient_quota"}}\n\n',
        "text/event-stream",
        "quota exceeded",
    ),
    ("upstream connect error or disconnect/reset before headers", "text/plain", "upstream connect error"),
    ("<html><head><title>502</title></head><body>Bad Gateway</body></html>", "text/html", "HTML page"),
    (None, None, "HTTP 418 with no error message"),
]


@pytest.mark.parametrize(("body", "content_type", "expected"), ERROR_SHAPES)
def test_every_error_shape_gives_its_message(make_caller, server, body, content_type, expected):
    call = make_caller(base_url=server.url("/v1"), max_retries=0)
    headers = {"Content-Type": content_type} if content_type else {}
    server.queue(Reply(status=418, body=body if body is not None else b"", headers=headers))
    with pytest.raises(APIStatusError) as info:
        call("models")
    assert expected in info.value.message
    assert "data:" not in info.value.message


@pytest.mark.parametrize("header", ["x-request-id", "request-id", "x-ms-request-id", "apim-request-id"])
def test_the_request_id_comes_from_whichever_header_the_server_used(make_caller, server, header):
    call = make_caller(base_url=server.url("/v1"), max_retries=0)
    server.queue(
        Reply(
            status=429, body={"error": {"message": "slow"}}, headers={header: "rid-7", "Retry-After": "120"}
        )
    )
    with pytest.raises(RateLimitError) as info:
        call("models")
    assert info.value.request_id == "rid-7"
    assert info.value.retry_after == 120.0 and "retry after 120 seconds" in str(info.value)


def test_a_redirect_is_an_error_that_names_where_it_points(make_caller, server):
    call = make_caller(base_url=server.url("/v1"), max_retries=2)
    server.queue(Reply(status=301, headers={"Location": "https://elsewhere.example/v1/models"}))
    with pytest.raises(APIStatusError) as info:
        call("models")
    assert info.value.status == 301 and "https://elsewhere.example/v1/models" in str(info.value)
    assert len(server.requests) == 1  # neither followed nor retried


# -- defaults that do not fight the user -----------------------------------------------------------------


def test_no_default_model_with_a_stored_prompt(make_caller, server):
    call = make_caller(base_url=server.url("/v1"))
    echo = call("create_response", prompt={"id": "pmpt_1", "version": "2"}).body
    assert json.loads(echo["body"]) == {"prompt": {"id": "pmpt_1", "version": "2"}}
    echo = call("create_response", "hi").body
    assert json.loads(echo["body"])["model"] == "gpt-4.1"


def test_the_compatible_provider_sends_empty_content_with_tool_calls(server):
    from openai_bindings.providers.compatible import Compatible

    message: Optional[dict] = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
    }
    history = [
        {"role": "user", "content": "hi"},
        message,
        {"role": "tool", "tool_call_id": "c1", "content": "ok"},
    ]
    with Compatible(base_url=server.url("/v1"), transport="stdlib") as client:
        sent = json.loads(client.create_chat_completion(history).body["body"])
    assert sent["messages"][1]["content"] == ""
    assert history[1]["content"] is None  # the caller's history is left alone
