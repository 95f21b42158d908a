"""The project's own client against the fake, on every endpoint group: the two agree on the wire.

The client's encodings (``key[]`` lists, ``key[sub]`` form fields, several files
in one form, file parts' MIME types) are what the fake parses, so a mismatch
on either side fails here rather than in a user's test.
"""

from __future__ import annotations

import io
import json
from typing import Iterator

import pytest

import openai_bindings
from openai_bindings.testing import FakeOpenAIServer
from openai_bindings.testing.fake.images import PNG_1X1 as PNG

MSGS = [{"role": "user", "content": "hi"}]
LINE = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": MSGS}}


@pytest.fixture
def client(fake: FakeOpenAIServer) -> Iterator[openai_bindings.OpenAI]:
    with openai_bindings.OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0) as made:
        yield made


def test_chat_and_stored_completions(client):
    made = client.create_chat_completion(MSGS, store=True, metadata={"app": "x"}).body
    assert [c["id"] for c in client.chat_completions(metadata={"app": "x"}).body["data"]] == [made["id"]]
    assert client.update_chat_completion(made["id"], metadata={"app": "y"}).body["metadata"] == {"app": "y"}
    assert client.chat_completion_messages(made["id"]).body["data"][0]["content"] == "hi"
    assert client.delete_chat_completion(made["id"]).body["deleted"]


def test_responses_items_tokens_and_compaction(client, fake):
    made = client.create_response("one two").body
    items = client.response_input_items(made["id"], include=["message.input_image.image_url"]).body
    assert items["data"][0]["content"][0]["text"] == "one two"
    assert fake.requests[-1].query == {"include[]": ["message.input_image.image_url"]}
    assert client.count_input_tokens(input="a b c").body["input_tokens"] == 3
    assert client.compact_response(previous_response_id=made["id"]).body["object"] == "response.compaction"


def test_files_uploads_and_batches(client, fake):
    source = client.upload_file(io.BytesIO(json.dumps(LINE).encode()), "batch").body
    upload = client.create_upload(bytes=3, filename="a.txt", mime_type="text/plain", purpose="user_data").body
    part = client.add_upload_part(upload["id"], b"abc").body
    assert client.complete_upload(upload["id"], part_ids=[part["id"]]).body["file"]["bytes"] == 3
    batch = client.create_batch(source["id"], "/v1/chat/completions").body
    fake.batch_polls(1)
    assert client.batch(batch["id"]).body["status"] in ("in_progress", "finalizing", "completed")
    assert [b["id"] for b in client.batches(limit=5).body["data"]] == [batch["id"]]
    assert client.cancel_batch(batch["id"]).body["status"] in ("cancelling", "completed")


def test_conversations(client):
    made = client.create_conversation(items=[{"role": "user", "content": "x"}], metadata={"k": "v"}).body
    client.create_conversation_items(made["id"], [{"role": "user", "content": "y"}])
    items = client.conversation_items(made["id"], order="asc").body["data"]
    assert [i["content"][0]["text"] for i in items] == ["x", "y"]
    assert client.conversation_item(made["id"], items[0]["id"]).body["id"] == items[0]["id"]
    client.delete_conversation_item(made["id"], items[0]["id"])
    assert client.update_conversation(made["id"], metadata={"k": "w"}).body["metadata"] == {"k": "w"}
    assert client.delete_conversation(made["id"]).body["deleted"]


def test_images_and_audio(client, fake):
    edited = client.image_edit([PNG, PNG], "merge them", mask=PNG, model="gpt-image-1").body
    assert edited["usage"]["input_tokens_details"]["image_tokens"] == 130  # both images arrived
    assert client.image_variation(PNG).body["data"]
    assert client.speech("hello there").body.startswith(b"ID3")
    verbose = client.transcription(
        b"hello words", response_format="verbose_json", timestamp_granularities=["word"]
    )
    assert [w["word"] for w in verbose.body["words"]] == ["hello", "words"]
    assert client.transcription(b"hello words", response_format="text").body == "hello words\n"
    stream = client.transcription(b"streamed words", stream=True)
    assert [e["type"] for e in stream][-1] == "transcript.text.done"
    assert client.translation(b"bonjour").body["text"] == "bonjour"


def test_vector_stores(client):
    doc = client.upload_file(io.BytesIO(b"Cats purr.\n\nDogs bark."), "assistants").body
    store = client.create_vector_store(
        name="pets", expires_after={"anchor": "last_active_at", "days": 1}
    ).body
    assert store["expires_at"] == store["created_at"] + 86400
    client.add_vector_store_file(store["id"], doc["id"])
    assert [f["id"] for f in client.vector_store_files(store["id"]).body["data"]] == [doc["id"]]
    found = client.search_vector_store(store["id"], "dogs").body["data"]
    assert found[0]["content"][0]["text"] == "Dogs bark."
    assert client.delete_vector_store(store["id"]).body["deleted"]


def test_the_originals_assistants_calls(client, fake):
    assert client.assistants().body["data"] == []
    assert client.threads().body["object"] == "list"
    assert fake.requests[-1].headers["openai-beta"] == "assistants=v2"
    with pytest.raises(openai_bindings.NotFoundError, match="No thread found"):
        client.thread_messages("thread_missing")
