"""Batches run their lines through the live handlers; their lifecycle, its scripting, and uploads."""

from __future__ import annotations

import json
from typing import Any, Dict, Iterator, List

import openai
import pytest

from openai_bindings.testing import FakeOpenAIServer

CHAT = "/v1/chat/completions"


@pytest.fixture
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(models=["gpt-4.1"]) as server:
        yield server


@pytest.fixture
def oai(fake: FakeOpenAIServer) -> Iterator[Any]:
    client = openai.OpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0)
    yield client
    client.close()


def line(custom_id: str, text: str = "hi", **body: Any) -> Dict[str, Any]:
    body = {"model": "gpt-4.1", "messages": [{"role": "user", "content": text}], **body}
    return {"custom_id": custom_id, "method": "POST", "url": CHAT, "body": body}


def submit(oai: Any, lines: List[Any], endpoint: str = CHAT) -> Any:
    data = "\n".join(entry if isinstance(entry, str) else json.dumps(entry) for entry in lines).encode()
    source = oai.files.create(file=("input.jsonl", data), purpose="batch")
    return oai.batches.create(input_file_id=source.id, endpoint=endpoint, completion_window="24h")


def poll(oai: Any, batch_id: str, times: int) -> List[Any]:
    return [oai.batches.retrieve(batch_id) for _ in range(times)]


def jsonl(oai: Any, file_id: str) -> List[Dict[str, Any]]:
    return [json.loads(text) for text in oai.files.content(file_id).text.splitlines()]


def test_lines_run_through_the_live_handlers(oai, fake):
    fake.reply_with("first answer", "second answer")
    made = submit(
        oai, [line("a"), line("b"), line("c", "third"), line("bad", model="gpt-9"), line("x", foo=1)]
    )
    seen = poll(oai, made.id, 3)
    assert [b.status for b in seen] == ["in_progress", "finalizing", "completed"]
    assert [b.request_counts.completed for b in seen] == [1, 3, 3]
    final = seen[-1]
    assert final.request_counts.total == 5 and final.request_counts.failed == 2
    assert final.in_progress_at and final.finalizing_at and final.completed_at and final.model == "gpt-4.1"
    assert final.usage.total_tokens > 0
    output = {entry["custom_id"]: entry for entry in jsonl(oai, final.output_file_id)}
    texts = {
        key: entry["response"]["body"]["choices"][0]["message"]["content"] for key, entry in output.items()
    }
    assert texts == {"a": "first answer", "b": "second answer", "c": "echo: third"}
    assert all(entry["response"]["request_id"].startswith("req_") for entry in output.values())
    errors = {entry["custom_id"]: entry["response"] for entry in jsonl(oai, final.error_file_id)}
    assert errors["bad"]["status_code"] == 404 and errors["bad"]["body"]["error"]["code"] == "model_not_found"
    assert errors["x"]["status_code"] == 400 and "foo" in errors["x"]["body"]["error"]["message"]
    assert oai.files.retrieve(final.output_file_id).purpose == "batch_output"


def test_embeddings_and_responses_batches(oai):
    lines = [
        {
            "custom_id": "e",
            "method": "POST",
            "url": "/v1/embeddings",
            "body": {"model": "gpt-4.1", "input": "x"},
        }
    ]
    made = submit(oai, lines, "/v1/embeddings")
    final = poll(oai, made.id, 3)[-1]
    assert jsonl(oai, final.output_file_id)[0]["response"]["body"]["object"] == "list"
    lines = [
        {
            "custom_id": "r",
            "method": "POST",
            "url": "/v1/responses",
            "body": {"model": "gpt-4.1", "input": "hi"},
        }
    ]
    final = poll(oai, submit(oai, lines, "/v1/responses").id, 3)[-1]
    assert (
        jsonl(oai, final.output_file_id)[0]["response"]["body"]["output"][0]["content"][0]["text"]
        == "echo: hi"
    )


def test_batch_polls_sets_how_long_batches_take(oai, fake):
    fake.batch_polls(1)
    assert oai.batches.retrieve(submit(oai, [line("a")]).id).status == "completed"
    fake.batch_polls(5)
    statuses = [b.status for b in poll(oai, submit(oai, [line("a")]).id, 6)]
    assert statuses == ["in_progress", "in_progress", "in_progress", "finalizing", "completed", "completed"]
    with pytest.raises(ValueError):
        fake.batch_polls(0)


def test_a_batch_can_be_made_to_expire(oai, fake):
    fake.expire_next_batch(completed=1)
    made = submit(oai, [line("a"), line("b"), line("c")])
    final = poll(oai, made.id, 3)[-1]
    assert final.status == "expired" and final.expired_at
    assert [e["custom_id"] for e in jsonl(oai, final.output_file_id)] == ["a"]
    errors = jsonl(oai, final.error_file_id)
    assert [(e["custom_id"], e["error"]["code"]) for e in errors] == [
        ("b", "batch_expired"),
        ("c", "batch_expired"),
    ]
    assert final.request_counts.model_dump() == {"total": 3, "completed": 1, "failed": 2}


def test_a_batch_can_be_made_to_fail(oai, fake):
    fake.fail_next_batch("The input file is not valid JSONL.", code="invalid_json_line")
    made = submit(oai, [line("a")])
    final = oai.batches.retrieve(made.id)
    assert final.status == "failed" and final.failed_at
    assert final.errors.data[0].code == "invalid_json_line" and final.output_file_id is None


def test_an_invalid_input_file_fails_validation_with_line_numbers(oai):
    made = submit(oai, [line("a"), "not json", line("a"), {**line("u"), "url": "/v1/embeddings"}])
    final = oai.batches.retrieve(made.id)
    assert final.status == "failed"
    assert [(e.line, e.code) for e in final.errors.data] == [
        (2, "invalid_json_line"),
        (3, "duplicate_custom_id"),
        (4, "mismatched_endpoint"),
    ]


def test_create_refuses_bad_arguments(oai):
    source = oai.files.create(file=("in.jsonl", json.dumps(line("a")).encode()), purpose="user_data")
    with pytest.raises(openai.BadRequestError, match="purpose 'batch'"):
        oai.batches.create(input_file_id=source.id, endpoint=CHAT, completion_window="24h")
    with pytest.raises(openai.BadRequestError, match=r"Supported values are: '24h'"):
        oai.batches.create(input_file_id=source.id, endpoint=CHAT, completion_window="1h")
    with pytest.raises(openai.NotFoundError, match="No such File object"):
        oai.batches.create(input_file_id="file-nope", endpoint=CHAT, completion_window="24h")


def test_cancel_keeps_what_ran_and_accounts_for_the_rest(oai):
    made = submit(oai, [line(str(n)) for n in range(6)])
    assert oai.batches.retrieve(made.id).request_counts.completed == 2  # a third ran
    assert oai.batches.cancel(made.id).status == "cancelling"
    final = oai.batches.retrieve(made.id)
    assert final.status == "cancelled" and final.cancelled_at
    assert len(jsonl(oai, final.output_file_id)) == 2
    assert {e["error"]["code"] for e in jsonl(oai, final.error_file_id)} == {"batch_cancelled"}
    with pytest.raises(openai.ConflictError):
        oai.batches.cancel(made.id)


def test_batches_list_newest_first_in_pages(oai):
    made = [submit(oai, [line("a")]).id for _ in range(3)]
    first = oai.batches.list(limit=2)
    assert [b.id for b in first.data] == made[::-1][:2] and first.has_more
    assert [b.id for b in oai.batches.list(limit=2)] == made[::-1]


# -- uploads ------------------------------------------------------------------------------------


def test_upload_refuses_a_size_mismatch_and_foreign_parts(oai):
    upload = oai.uploads.create(bytes=10, filename="a.jsonl", mime_type="text/jsonl", purpose="batch")
    part = oai.uploads.parts.create(upload.id, data=b"abc")
    with pytest.raises(openai.BadRequestError, match=r"bytes uploaded \(3\) does not match.*\(10\)"):
        oai.uploads.complete(upload.id, part_ids=[part.id])
    other = oai.uploads.create(bytes=3, filename="b.jsonl", mime_type="text/jsonl", purpose="batch")
    with pytest.raises(openai.BadRequestError, match="does not belong"):
        oai.uploads.complete(other.id, part_ids=[part.id])
    oai.uploads.cancel(upload.id)
    with pytest.raises(openai.BadRequestError, match="already cancelled"):
        oai.uploads.parts.create(upload.id, data=b"abc")


def test_upload_checks_md5_and_becomes_a_batch_input(oai):
    import hashlib

    data = json.dumps(line("a")).encode()
    upload = oai.uploads.create(bytes=len(data), filename="in.jsonl", mime_type="text/jsonl", purpose="batch")
    parts = [oai.uploads.parts.create(upload.id, data=data[i : i + 10]).id for i in range(0, len(data), 10)]
    with pytest.raises(openai.BadRequestError, match="md5"):
        oai.uploads.complete(upload.id, part_ids=parts, md5="0" * 32)
    done = oai.uploads.complete(upload.id, part_ids=parts, md5=hashlib.md5(data).hexdigest())
    batch = oai.batches.create(input_file_id=done.file.id, endpoint=CHAT, completion_window="24h")
    assert poll(oai, batch.id, 3)[-1].request_counts.completed == 1
