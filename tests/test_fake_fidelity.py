"""openai-python against FakeOpenAIServer: every endpoint parses, and is valid for the API reference.

Each answer is checked three ways: openai-python's client parses it, its
pydantic model validates it strictly, and the reference's schema for the
endpoint finds every required field (tests/fake_oracle.py).
"""

from __future__ import annotations

import io
import json
from typing import Any, Iterator, List

import openai
import pytest
from fake_oracle import check, check_events, spec_check
from openai.types import (
    Batch,
    Completion,
    CreateEmbeddingResponse,
    FileDeleted,
    FileObject,
    ImagesResponse,
    Model,
    ModelDeleted,
    ModerationCreateResponse,
    Upload,
    VectorStore,
    VectorStoreDeleted,
    VectorStoreSearchResponse,
)
from openai.types.audio import (
    Transcription,
    TranscriptionStreamEvent,
    TranscriptionVerbose,
    Translation,
    TranslationVerbose,
)
from openai.types.beta import Assistant, AssistantDeleted, Thread, ThreadDeleted
from openai.types.beta.threads import Message
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionDeleted
from openai.types.conversations import Conversation, ConversationDeletedResource, ConversationItemList
from openai.types.conversations.conversation_item import ConversationItem
from openai.types.responses import InputTokenCountResponse, Response, ResponseStreamEvent
from openai.types.responses.response_item import ResponseItem
from openai.types.uploads import UploadPart
from openai.types.vector_stores import VectorStoreFile
from pydantic import BaseModel, TypeAdapter

import openai_bindings
from openai_bindings.testing import FakeOpenAIServer
from openai_bindings.testing.fake.images import PNG_1X1 as PNG

#: openai-python warns that it deprecates the assistants calls; the fake still serves them.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:openai")

MSGS = [{"role": "user", "content": "Hello there"}]
WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
    "required": ["city", "days"],
    "additionalProperties": False,
}
CHAT_TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]
RESPONSE_TOOLS = [{"type": "function", "name": "get_weather", "parameters": WEATHER}]


class _Weather(BaseModel):
    city: str
    days: int


@pytest.fixture
def oai(fake: FakeOpenAIServer) -> Iterator[Any]:
    client = openai.OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0)
    yield client
    client.close()


@pytest.fixture
def ours(fake: FakeOpenAIServer) -> Iterator[openai_bindings.OpenAI]:
    """The project's client, to read raw streamed events as the server sent them."""
    with openai_bindings.OpenAI(
        base_url=fake.base_url, api_key="sk-test", max_retries=0, transport="stdlib"
    ) as c:
        yield c


def raw_events(client: openai_bindings.OpenAI, path: str, body: Any) -> List[Any]:
    """The decoded events exactly as the server streamed them (the project's client adds nothing)."""
    body = dict(body)
    method = {
        "/chat/completions": "create_chat_completion",
        "/completions": "completion",
        "/responses": "create_response",
    }
    first = body.pop({"/chat/completions": "messages", "/completions": "prompt", "/responses": "input"}[path])
    return list(getattr(client, method[path])(first, **body))


# -- chat completions ---------------------------------------------------------------------------


def test_chat_completion_text_and_tool_calls(oai, fake):
    chat = oai.chat.completions.with_raw_response
    assert check(chat.create(model="gpt-4.1", messages=MSGS), ChatCompletion).choices[0].message.content == (
        "echo: Hello there"
    )
    fake.reply_with_tool_calls(
        ("get_weather", {"city": "Paris", "days": 1}), ("get_weather", {"city": "Rome"})
    )
    parsed = check(chat.create(model="gpt-4.1", messages=MSGS, tools=CHAT_TOOLS), ChatCompletion)
    assert [c.function.name for c in parsed.choices[0].message.tool_calls] == ["get_weather", "get_weather"]
    assert parsed.choices[0].finish_reason == "tool_calls"
    assert len(check(chat.create(model="gpt-4.1", messages=MSGS, n=3), ChatCompletion).choices) == 3


def test_chat_stream_events_and_stream_helper(oai, ours, fake):
    adapter = TypeAdapter(ChatCompletionChunk)
    body = {"model": "gpt-4.1", "messages": MSGS, "stream": True, "stream_options": {"include_usage": True}}
    check_events("POST /chat/completions", raw_events(ours, "/chat/completions", body), adapter)
    fake.reply_with_tool_call("get_weather", {"city": "Paris", "days": 2})
    check_events(
        "POST /chat/completions",
        raw_events(ours, "/chat/completions", {**body, "tools": CHAT_TOOLS}),
        adapter,
    )

    with oai.chat.completions.stream(model="gpt-4.1", messages=MSGS) as stream:
        kinds = {event.type for event in stream}
        final = stream.get_final_completion()
    assert {"chunk", "content.delta", "content.done"} <= kinds
    assert final.choices[0].message.content == "echo: Hello there"
    tools = [openai.pydantic_function_tool(_Weather)]
    with oai.chat.completions.stream(
        model="gpt-4.1", messages=MSGS, tools=tools, tool_choice="required"
    ) as stream:
        final = stream.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    assert call.function.name == "_Weather" and call.function.parsed_arguments == _Weather(
        city="example", days=0
    )


def test_chat_structured_output_parses_without_a_script(oai):
    parsed = oai.chat.completions.parse(model="gpt-4.1", messages=MSGS, response_format=_Weather)
    assert parsed.choices[0].message.parsed == _Weather(city="example", days=0)


def test_stored_chat_completions(oai):
    chat = oai.chat.completions
    made = chat.create(model="gpt-4.1", messages=MSGS, store=True, metadata={"topic": "greeting"})
    chat.create(model="gpt-4.1", messages=MSGS)  # not stored
    listed = check(chat.with_raw_response.list(metadata={"topic": "greeting"}))
    assert [c.id for c in listed.data] == [made.id]
    assert check(chat.with_raw_response.retrieve(made.id), ChatCompletion).id == made.id
    updated = check(chat.with_raw_response.update(made.id, metadata={"topic": "hi"}), ChatCompletion)
    assert updated.model_dump()["metadata"] == {"topic": "hi"}
    messages = check(chat.messages.with_raw_response.list(made.id))
    assert [(m.role, m.content) for m in messages.data] == [("user", "Hello there")]
    assert check(chat.with_raw_response.delete(made.id), ChatCompletionDeleted).deleted
    with pytest.raises(openai.NotFoundError):
        chat.retrieve(made.id)


# -- legacy completions, embeddings, moderations, models -------------------------------------


def test_completions(oai):
    parsed = check(
        oai.completions.with_raw_response.create(model="gpt-3.5-turbo-instruct", prompt="Say"), Completion
    )
    assert parsed.choices[0].text == "echo: Say"
    stream = oai.completions.create(
        model="m", prompt="Say it", stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "echo: Say it"
    assert chunks[-1].usage.total_tokens == 5  # words: 2 in, 3 out


def test_embeddings_floats_and_base64(oai):
    floats = check(
        oai.embeddings.with_raw_response.create(model="m", input=["a", "b"], encoding_format="float"),
        CreateEmbeddingResponse,
    )
    decoded = oai.embeddings.create(model="m", input=["a", "b"])  # openai-python asks for base64
    for got, sent in zip(decoded.data, floats.data, strict=True):
        assert got.embedding == pytest.approx(sent.embedding, abs=1e-6)


def test_moderation_has_every_category(oai):
    raw = oai.moderations.with_raw_response.create(input=["I will kill", "hello"])
    parsed = check(raw, ModerationCreateResponse)
    assert [r.flagged for r in parsed.results] == [True, False]
    result = raw.http_response.json()["results"][0]
    assert len(result["categories"]) == len(result["category_scores"]) == 13


def test_models(oai, fake):
    listed = check(oai.models.with_raw_response.list())
    assert [m.id for m in listed.data] == ["fake-model", "fake-embedding"]
    assert check(oai.models.with_raw_response.retrieve("fake-model"), Model).id == "fake-model"
    assert check(oai.models.with_raw_response.delete("fake-embedding"), ModelDeleted).deleted
    assert fake.models == ["fake-model"]


# -- the Responses API ------------------------------------------------------------------------


def test_responses_create_retrieve_items_tokens_delete(oai):
    responses = oai.responses
    first = check(
        responses.with_raw_response.create(model="gpt-4.1", input="Hi", instructions="Be brief"), Response
    )
    assert first.output_text == "echo: Hi"
    second = check(
        responses.with_raw_response.create(model="gpt-4.1", input="Again", previous_response_id=first.id),
        Response,
    )
    assert check(responses.with_raw_response.retrieve(second.id), Response).previous_response_id == first.id
    items = check(responses.input_items.with_raw_response.list(second.id))
    assert [i.content[0].text for i in items.data] == ["Again"]
    TypeAdapter(ResponseItem).validate_python(items.data[0].model_dump())
    counted = check(
        responses.input_tokens.with_raw_response.count(model="gpt-4.1", input="one two three"),
        InputTokenCountResponse,
    )
    assert counted.input_tokens == 3
    assert first.usage.input_tokens == 3  # "Be brief" and "Hi": the same count create reports
    # openai-python types compact's output as output items only; the API (and its reference) keeps the
    # user's messages there too, so only the reference judges this one.
    compacted = check(responses.with_raw_response.compact(model="gpt-4.1", previous_response_id=second.id))
    assert compacted.output[-1].type == "compaction"
    deleted = responses.with_raw_response.delete(first.id)
    assert deleted.http_response.status_code == 200
    with pytest.raises(openai.NotFoundError):
        responses.retrieve(first.id)


def test_responses_tool_calls_and_background(oai, fake):
    fake.reply_with_tool_call("get_weather", {"city": "Paris", "days": 3})
    made = check(
        oai.responses.with_raw_response.create(model="gpt-4.1", input="w?", tools=RESPONSE_TOOLS), Response
    )
    assert made.output[0].type == "function_call" and json.loads(made.output[0].arguments)["days"] == 3
    queued = check(
        oai.responses.with_raw_response.create(model="gpt-4.1", input="later", background=True), Response
    )
    assert queued.status == "queued"
    assert check(oai.responses.with_raw_response.cancel(queued.id), Response).status == "cancelled"
    done = oai.responses.create(model="gpt-4.1", input="later", background=True)
    assert oai.responses.retrieve(done.id).status == "completed"
    replayed = [e.type for e in oai.responses.retrieve(done.id, stream=True, starting_after=7)]
    assert replayed == ["response.output_item.done", "response.completed"]


def test_responses_stream_events_in_the_api_order(ours, fake):
    adapter = TypeAdapter(ResponseStreamEvent)
    events = raw_events(ours, "/responses", {"model": "gpt-4.1", "input": "Hi", "stream": True})
    check_events("POST /responses", events, adapter)
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    fake.reply_with_tool_call("get_weather", {"city": "Paris", "days": 3})
    body = {"model": "gpt-4.1", "input": "w?", "tools": RESPONSE_TOOLS, "stream": True}
    events = raw_events(ours, "/responses", body)
    check_events("POST /responses", events, adapter)
    kinds = [e["type"] for e in events]
    assert kinds[2:7] == [
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
    ]


def test_responses_stream_helper(oai, fake):
    with oai.responses.stream(model="gpt-4.1", input="Hello stream") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text == "echo: Hello stream"
    fake.reply_with_tool_call("get_weather", {"city": "Oslo", "days": 2})
    with oai.responses.stream(model="gpt-4.1", input="w?", tools=RESPONSE_TOOLS) as stream:
        final = stream.get_final_response()
    assert json.loads(final.output[0].arguments) == {"city": "Oslo", "days": 2}
    with oai.responses.stream(model="gpt-4.1", input="w?", text_format=_Weather) as stream:
        assert stream.get_final_response().output_parsed == _Weather(city="example", days=0)


def test_conversations_and_their_items(oai):
    conversations = oai.conversations
    made = check(
        conversations.with_raw_response.create(
            metadata={"k": "v"}, items=[{"type": "message", "role": "user", "content": "first"}]
        ),
        Conversation,
    )
    oai.responses.create(model="gpt-4.1", input="second", conversation=made.id)
    items = check(conversations.items.with_raw_response.list(made.id, order="asc"), ConversationItemList)
    assert [i.role for i in items.data] == ["user", "user", "assistant"]
    added = check(
        conversations.items.with_raw_response.create(made.id, items=[{"role": "user", "content": "third"}]),
        ConversationItemList,
    )
    item_id = added.data[0].id
    got = check(conversations.items.with_raw_response.retrieve(item_id, conversation_id=made.id))
    TypeAdapter(ConversationItem).validate_python(got.model_dump())
    check(conversations.items.with_raw_response.delete(item_id, conversation_id=made.id), Conversation)
    assert check(
        conversations.with_raw_response.update(made.id, metadata={"k": "w"}), Conversation
    ).metadata == {"k": "w"}
    assert check(conversations.with_raw_response.retrieve(made.id), Conversation).id == made.id
    assert check(conversations.with_raw_response.delete(made.id), ConversationDeletedResource).deleted


# -- files, uploads, batches --------------------------------------------------------------------


def test_files(oai):
    made = check(
        oai.files.with_raw_response.create(file=("notes.txt", b"hello"), purpose="user_data"), FileObject
    )
    assert made.status == "processed" and made.bytes == 5
    assert [f.id for f in check(oai.files.with_raw_response.list()).data] == [made.id]
    assert check(oai.files.with_raw_response.retrieve(made.id), FileObject).filename == "notes.txt"
    assert oai.files.content(made.id).content == b"hello"
    assert check(oai.files.with_raw_response.delete(made.id), FileDeleted).deleted


def test_uploads_assemble_parts_in_order(oai):
    made = check(
        oai.uploads.with_raw_response.create(
            bytes=6, filename="a.jsonl", mime_type="text/jsonl", purpose="batch"
        ),
        Upload,
    )
    second = check(oai.uploads.parts.with_raw_response.create(made.id, data=b"def"), UploadPart)
    first = check(oai.uploads.parts.with_raw_response.create(made.id, data=b"abc"), UploadPart)
    done = check(oai.uploads.with_raw_response.complete(made.id, part_ids=[first.id, second.id]), Upload)
    assert done.status == "completed" and oai.files.content(done.file.id).content == b"abcdef"
    other = oai.uploads.create(bytes=1, filename="b.jsonl", mime_type="text/jsonl", purpose="batch")
    assert check(oai.uploads.with_raw_response.cancel(other.id), Upload).status == "cancelled"


def test_batches_lifecycle(oai, fake):
    lines = [
        {
            "custom_id": f"r{n}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "m", "messages": MSGS},
        }
        for n in range(4)
    ]
    source = oai.files.create(file=("in.jsonl", "\n".join(map(json.dumps, lines)).encode()), purpose="batch")
    made = check(
        oai.batches.with_raw_response.create(
            input_file_id=source.id, endpoint="/v1/chat/completions", completion_window="24h"
        ),
        Batch,
    )
    statuses = [check(oai.batches.with_raw_response.retrieve(made.id), Batch).status for _ in range(3)]
    assert [made.status, *statuses] == ["validating", "in_progress", "finalizing", "completed"]
    final = oai.batches.retrieve(made.id)
    assert final.request_counts.completed == 4
    output = [json.loads(line) for line in oai.files.content(final.output_file_id).text.splitlines()]
    for line in output:
        ChatCompletion.model_validate(line["response"]["body"])
    assert [b.id for b in check(oai.batches.with_raw_response.list()).data] == [made.id]
    other = oai.batches.create(
        input_file_id=source.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert check(oai.batches.with_raw_response.cancel(other.id), Batch).status == "cancelling"
    assert oai.batches.retrieve(other.id).status == "cancelled"


# -- images and audio -------------------------------------------------------------------------


def test_images(oai):
    check(oai.images.with_raw_response.generate(prompt="a cat", model="gpt-image-1"), ImagesResponse)
    url = check(oai.images.with_raw_response.generate(prompt="a cat", response_format="url"), ImagesResponse)
    assert url.data[0].url.endswith("/images/fake.png")
    edited = check(
        oai.images.with_raw_response.edit(
            image=[("a.png", PNG, "image/png"), ("b.png", PNG, "image/png")],
            mask=("m.png", PNG, "image/png"),
            prompt="merge",
            model="gpt-image-1",
        ),
        ImagesResponse,
    )
    assert edited.usage.input_tokens_details.image_tokens == 130  # both images were received
    check(
        oai.images.with_raw_response.create_variation(image=("a.png", PNG, "image/png"), n=2), ImagesResponse
    )


def test_speech_bytes_and_stream(oai):
    with oai.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", voice="alloy", input="one two three", response_format="wav"
    ) as answer:
        assert answer.headers["content-type"] == "audio/wav"
        audio = b"".join(answer.iter_bytes())
    assert audio.startswith(b"RIFF") and audio[8:12] == b"WAVE"
    raw = oai.audio.speech.with_raw_response.create(model="tts-1", voice="alloy", input="hi")
    assert raw.http_response.headers["content-type"] == "audio/mpeg" and raw.content.startswith(b"ID3")


@pytest.mark.parametrize(
    ("fmt", "model", "expect"),
    [
        ("json", Transcription, None),
        ("verbose_json", TranscriptionVerbose, None),
        ("text", None, "the words spoken\n"),
        ("srt", None, "1\n00:00:00,000 --> 00:00:01,200\nthe words spoken\n\n"),
        ("vtt", None, "WEBVTT\n\n00:00:00.000 --> 00:00:01.200\nthe words spoken\n\n"),
    ],
)
def test_transcriptions_in_every_format(oai, fmt, model, expect):
    answer = oai.audio.transcriptions.with_raw_response.create(
        model="whisper-1", file=("speech.txt", b"the words spoken"), response_format=fmt
    )
    if model is None:
        assert answer.http_response.text == expect
        return
    assert check(answer, model).text == "the words spoken"


def test_transcription_stream_and_translation(oai, ours):
    stream = oai.audio.transcriptions.create(
        model="gpt-4o-transcribe", file=("speech.txt", b"streamed words here"), stream=True
    )
    events = list(stream)
    assert [e.type for e in events][-1] == "transcript.text.done" and events[-1].text == "streamed words here"
    for event in events:
        TypeAdapter(TranscriptionStreamEvent).validate_python(event.model_dump())
        spec_check("POST /audio/transcriptions", event.model_dump(exclude_unset=True), "text/event-stream")
    check(
        oai.audio.translations.with_raw_response.create(model="whisper-1", file=("speech.txt", b"bonjour")),
        Translation,
    )
    verbose = oai.audio.translations.with_raw_response.create(
        model="whisper-1", file=io.BytesIO(b"bonjour"), response_format="verbose_json"
    )
    assert check(verbose, TranslationVerbose).text == "bonjour"


# -- vector stores, assistants -------------------------------------------------------------------


def test_vector_stores_and_search(oai):
    doc = oai.files.create(
        file=("doc.txt", b"Cats purr.\n\nDogs bark loudly.\n\nBirds sing."), purpose="assistants"
    )
    store = check(oai.vector_stores.with_raw_response.create(name="pets"), VectorStore)
    attached = check(
        oai.vector_stores.files.with_raw_response.create(
            store.id, file_id=doc.id, attributes={"kind": "pets"}
        ),
        VectorStoreFile,
    )
    assert attached.status == "completed"
    assert [f.id for f in check(oai.vector_stores.files.with_raw_response.list(store.id)).data] == [doc.id]
    found = check(oai.vector_stores.with_raw_response.search(store.id, query="which dogs bark"))
    assert found.data[0].content[0].text == "Dogs bark loudly."
    VectorStoreSearchResponse.model_validate(found.data[0].model_dump())
    filtered = oai.vector_stores.search(
        store.id, query="dogs", filters={"type": "eq", "key": "kind", "value": "cats"}
    )
    assert filtered.data == []
    assert (
        check(oai.vector_stores.with_raw_response.retrieve(store.id), VectorStore).file_counts.completed == 1
    )
    assert [s.id for s in check(oai.vector_stores.with_raw_response.list()).data] == [store.id]
    assert check(oai.vector_stores.with_raw_response.delete(store.id), VectorStoreDeleted).deleted


def test_assistants_threads_and_messages(oai):
    beta = oai.beta
    assistant = check(beta.assistants.with_raw_response.create(model="gpt-4.1", name="helper"), Assistant)
    assert [a.id for a in check(beta.assistants.with_raw_response.list()).data] == [assistant.id]
    assert check(beta.assistants.with_raw_response.retrieve(assistant.id), Assistant).name == "helper"
    thread = check(
        beta.threads.with_raw_response.create(messages=[{"role": "user", "content": "hi"}]), Thread
    )
    message = check(
        beta.threads.messages.with_raw_response.create(thread.id, role="user", content="more"), Message
    )
    listed = check(beta.threads.messages.with_raw_response.list(thread.id, order="asc"))
    assert [m.content[0].text.value for m in listed.data] == ["hi", "more"]
    assert check(beta.threads.messages.with_raw_response.retrieve(message.id, thread_id=thread.id), Message)
    assert check(beta.threads.with_raw_response.retrieve(thread.id), Thread).id == thread.id
    listed = oai.get("/threads", cast_to=object, options={"headers": {"OpenAI-Beta": "assistants=v2"}})
    assert [t["id"] for t in listed["data"]] == [thread.id]  # the original's threads(), outside the reference
    assert check(beta.threads.with_raw_response.delete(thread.id), ThreadDeleted).deleted
    assert check(beta.assistants.with_raw_response.delete(assistant.id), AssistantDeleted).deleted


# -- the oracle itself ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "answer", "missing"),
    [
        (
            "POST /files",
            {
                "id": "file-1",
                "object": "file",
                "bytes": 1,
                "created_at": 1,
                "filename": "a",
                "purpose": "batch",
            },
            "'status' is a required property",
        ),
        (
            "POST /moderations",
            {
                "id": "modr-1",
                "model": "omni-moderation-latest",
                "results": [
                    {
                        "flagged": False,
                        "categories": {"violence": False},
                        "category_scores": {"violence": 0.1},
                        "category_applied_input_types": {"violence": []},
                    }
                ],
            },
            "'harassment' is a required property",
        ),
    ],
)
def test_the_oracle_refuses_what_the_old_fake_sent(key, answer, missing):
    with pytest.raises(AssertionError, match=missing):
        spec_check(key, answer)


def test_the_oracle_refuses_a_response_without_its_required_fields(oai):
    answer = oai.responses.with_raw_response.create(model="gpt-4.1", input="x").http_response.json()
    for field in ("parallel_tool_calls", "tool_choice", "usage"):
        broken = {k: v for k, v in answer.items() if k != field}
        if field == "usage":
            broken["usage"] = {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}
        with pytest.raises(
            AssertionError, match=r"'(parallel_tool_calls|tool_choice|input_tokens_details)' is"
        ):
            spec_check("POST /responses", broken)
