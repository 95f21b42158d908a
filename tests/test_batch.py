"""run_batch / batch_results end to end against a fake Batch API, on both clients."""

from __future__ import annotations

import asyncio
import json
import os
import tracemalloc
from typing import Any, Dict, Iterator, List

import pytest

import openai_bindings
from openai_bindings.batch import BatchItemError, BatchResults, _write_inputs
from openai_bindings.errors import BadRequestError
from openai_bindings.testing import FakeOpenAIServer

FAST = {"poll_interval": 0.01}


@pytest.fixture
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        running.batch_polls(3)
        yield running


def chat(n: int, prefix: str = "q") -> List[Dict[str, Any]]:
    return [
        {"custom_id": f"{prefix}{i}", "body": {"messages": [{"role": "user", "content": f"hello {i}"}]}}
        for i in range(n)
    ]


def run(fake: FakeOpenAIServer, is_async: bool, method: str, *args: Any, **kwargs: Any) -> Any:
    if is_async:

        async def go() -> Any:
            async with openai_bindings.AsyncOpenAI(base_url=fake.base_url) as client:
                return await getattr(client, method)(*args, **kwargs)

        return asyncio.run(go())
    with openai_bindings.OpenAI(base_url=fake.base_url) as client:
        return getattr(client, method)(*args, **kwargs)


def uploads(fake: FakeOpenAIServer) -> List[List[Dict[str, Any]]]:
    """The JSONL input files the client uploaded, parsed."""
    files = [f for f in fake.files.values() if f["purpose"] == "batch"]
    return [[json.loads(line) for line in fake.file_contents[f["id"]].splitlines()] for f in files]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_run_batch_end_to_end(
    fake: FakeOpenAIServer, is_async: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    results = run(fake, is_async, "run_batch", chat(5), **FAST)
    assert isinstance(results, BatchResults)
    assert list(results) == [f"q{i}" for i in range(5)]  # the order the requests were given
    for i, (key, result) in enumerate(results.items()):
        assert result.ok and result.status == "completed" and result.status_code == 200
        assert result.custom_id == key and result.error is None
        assert result.body["choices"][0]["message"]["content"] == f"echo: hello {i}"
    assert results.counts == {"completed": 5} and results.errors == {}
    assert len(results.batch_ids) == 1 and results.batches[0]["status"] == "completed"
    (lines,) = uploads(fake)
    assert lines[0] == {
        "custom_id": "q0",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"messages": [{"role": "user", "content": "hello 0"}], "model": "gpt-4.1"},
    }
    create = next(r for r in fake.requests if r.path == "/v1/batches")
    assert create.json == {
        "input_file_id": next(f for f in fake.files.values() if f["purpose"] == "batch")["id"],
        "endpoint": "/v1/chat/completions",
        "completion_window": "24h",
    }
    assert capsys.readouterr().err == ""  # stderr is no terminal here: no progress unless asked


def test_embeddings_batch_and_metadata(fake: FakeOpenAIServer) -> None:
    requests = [{"custom_id": f"d{i}", "body": {"input": f"doc {i}"}} for i in range(3)]
    results = run(
        fake, False, "run_batch", requests, endpoint="/v1/embeddings", metadata={"job": "x"}, **FAST
    )
    assert all(len(r.body["data"][0]["embedding"]) > 0 for r in results.values())
    assert uploads(fake)[0][0]["body"] == {"input": "doc 0", "model": "text-embedding-3-small"}
    assert fake.batches[results.batch_ids[0]]["metadata"] == {"job": "x"}


def test_failed_lines_are_typed_errors(fake: FakeOpenAIServer) -> None:
    requests = chat(2)
    requests.insert(1, {"custom_id": "bad", "body": {"messages": []}})  # the fake answers 400
    results = run(fake, False, "run_batch", requests, **FAST)
    assert list(results) == ["q0", "bad", "q1"]
    bad = results["bad"]
    assert bad.status == "failed" and not bad.ok and bad.status_code == 400
    assert isinstance(bad.error, BadRequestError) and "messages" in bad.error.message
    assert set(results.errors) == {"bad"} and set(results.succeeded) == {"q0", "q1"}


def test_expired_batch_accounts_for_every_item(fake: FakeOpenAIServer) -> None:
    fake.expire_next_batch(completed=2)
    results = run(fake, False, "run_batch", chat(5), **FAST)
    assert results.counts == {"completed": 2, "expired": 3}
    late = results["q4"]
    assert late.status == "expired" and isinstance(late.error, BatchItemError)
    assert late.error.code == "batch_expired" and late.batch_id == results.batch_ids[0]


def test_failed_batch_says_why_for_each_item(fake: FakeOpenAIServer) -> None:
    fake.fail_next_batch("the input file is broken", code="invalid_file")
    results = run(fake, True, "run_batch", chat(3), **FAST)
    assert results.counts == {"not_run": 3}
    error = results["q1"].error
    assert isinstance(error, BatchItemError) and error.code == "invalid_file"
    assert "the input file is broken" in str(error) and results.batches[0]["status"] == "failed"


def test_missing_lines_are_not_lost(fake: FakeOpenAIServer) -> None:
    """A batch that ends without a line for an item: the item is there, 'not_run', with the reason."""
    with openai_bindings.OpenAI(base_url=fake.base_url) as client:
        results = client.run_batch(chat(3), **FAST)
        output = results.batches[0]["output_file_id"]
        lines = fake.file_contents[output].splitlines()
        fake.file_contents[output] = b"\n".join(lines[:2]) + b"\n"
        again = client.batch_results(results.batch_ids[0], **FAST)
    assert again.counts == {"completed": 2, "not_run": 1}
    assert "without a result" in str(again["q2"].error)


@pytest.mark.parametrize(
    ("limits", "sizes"),
    [({"max_lines": 2}, [2, 2, 1]), ({"max_bytes": 300}, [2, 2, 1])],
    ids=["lines", "bytes"],
)
def test_over_the_limits_splits_into_batches(
    fake: FakeOpenAIServer, limits: Dict[str, int], sizes: List[int]
) -> None:
    results = run(fake, False, "run_batch", chat(5), **limits, **FAST)
    assert [len(lines) for lines in uploads(fake)] == sizes
    assert len(results.batch_ids) == 3 and list(results) == [f"q{i}" for i in range(5)]
    assert results.counts == {"completed": 5}
    assert {results[f"q{i}"].batch_id for i in range(5)} == set(results.batch_ids)


@pytest.mark.parametrize(
    ("requests", "error", "words"),
    [
        (chat(2) + chat(1), ValueError, "custom_id 'q0'"),
        ([{"custom_id": "", "body": {}}], ValueError, "needs a 'custom_id'"),
        ([{"id": "x", "body": {}}], ValueError, "needs a 'custom_id'"),
        ([{"custom_id": "x", "body": "hi"}], TypeError, "'body' must be a dict"),
        ([{"custom_id": "x", "body": {}, "model": "m"}], ValueError, "unknown key(s) model"),
        ([{"custom_id": "x", "method": "GET", "body": {}}], ValueError, "'method' must be 'POST'"),
        ([{"custom_id": "x", "body": {"messages": [], "stream": True}}], ValueError, "'stream'"),
        ([{"custom_id": "x", "url": "/v1/embeddings", "body": {}}], ValueError, "one endpoint"),
        ([{"custom_id": "x", "body": {"messages": [], "temprature": 1}}], TypeError, "temperature"),
        (["not a dict"], TypeError, "request #0 must be a dict"),
        ([], ValueError, "no requests"),
        ({"custom_id": "x", "body": {}}, TypeError, "iterable"),
    ],
)
def test_bad_requests_are_refused_before_anything_is_sent(
    fake: FakeOpenAIServer, requests: Any, error: type, words: str
) -> None:
    with pytest.raises(error, match=None) as raised:
        run(fake, False, "run_batch", requests, **FAST)
    assert words in str(raised.value)
    assert fake.requests == []  # nothing uploaded, no batch created


def test_a_line_over_the_byte_limit_is_refused(fake: FakeOpenAIServer) -> None:
    with pytest.raises(ValueError, match="over the per-batch limit of 100 bytes"):
        run(fake, False, "run_batch", chat(1), max_bytes=100, **FAST)
    assert fake.requests == []


def test_interrupted_job_names_its_batches_and_resumes(fake: FakeOpenAIServer) -> None:
    fake.batch_polls(4)
    seen: List[Dict[str, Any]] = []

    def interrupt(snapshot: Dict[str, Any]) -> None:
        seen.append(snapshot)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with openai_bindings.OpenAI(base_url=fake.base_url) as client:
        with pytest.raises(KeyboardInterrupt) as raised:
            client.run_batch(chat(4), max_lines=2, progress=interrupt, **FAST)
        ids = list(fake.batches)
        assert len(ids) == 2
        notes = "\n".join(getattr(raised.value, "__notes__", []))
        assert all(ident in notes for ident in ids) and "batch_results" in notes
        results = client.batch_results(ids, **FAST)  # the custom ids come from the input files
    assert list(results) == ["q0", "q1", "q2", "q3"] and results.counts == {"completed": 4}
    assert seen[0]["label"].startswith("2 batches")


def test_batch_results_of_one_id_on_the_async_client(fake: FakeOpenAIServer) -> None:
    with openai_bindings.OpenAI(base_url=fake.base_url) as client:
        uploaded = client.upload_file(
            (
                "in.jsonl",
                b"".join(
                    json.dumps({**r, "method": "POST", "url": "/v1/chat/completions"}).encode() + b"\n"
                    for r in chat(2)
                ),
            ),
            "batch",
        )
        batch = client.create_batch(uploaded.body["id"], "/v1/chat/completions").body
    results = run(fake, True, "batch_results", batch["id"], **FAST)
    assert list(results) == ["q0", "q1"] and results.counts == {"completed": 2}


def test_progress_true_writes_lines_off_a_terminal(
    fake: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    run(fake, False, "run_batch", chat(3), progress=True, **FAST)
    err = capsys.readouterr().err.splitlines()
    assert err and err[-1].startswith("batch_") and "completed" in err[-1] and "3/3" in err[-1]
    assert "\x1b" not in "".join(err)  # no escape codes off a terminal


def test_bad_settings_are_refused(fake: FakeOpenAIServer) -> None:
    for kwargs, words in [
        ({"poll_interval": 0}, "poll_interval"),
        ({"max_lines": -1}, "max_lines"),
        ({"progress": "yes"}, "progress"),
        ({"endpoint": "chat"}, "API path"),
    ]:
        with pytest.raises((ValueError, TypeError), match=words):
            run(fake, False, "run_batch", chat(1), **kwargs)
    with pytest.raises(ValueError, match="batch id"):
        run(fake, False, "batch_results", [])
    assert fake.requests == []


def test_inputs_are_written_as_a_stream_not_held_in_memory(tmp_path: Any) -> None:
    """Six megabytes of requests from a generator pass through a small, fixed amount of memory."""
    client = openai_bindings.OpenAI(base_url="http://127.0.0.1:9/v1")
    text = "x" * 1000

    def requests() -> Iterator[Dict[str, Any]]:
        for i in range(6_000):
            yield {"custom_id": f"r{i}", "body": {"messages": [{"role": "user", "content": text}]}}

    tracemalloc.start()
    try:
        files = _write_inputs(client, requests(), "/v1/chat/completions", str(tmp_path), 50_000, 2_500_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        client.close()
    assert sum(os.path.getsize(f.path) for f in files) > 6_000_000 and len(files) == 3
    assert peak < 2_000_000, peak  # the custom ids and one line at a time, never the whole JSONL


# -- the command line ---------------------------------------------------------------------------------


def cli(*args: str, fake: FakeOpenAIServer, input: Any = None) -> Any:
    import shutil
    import subprocess
    import sys

    beside = os.path.join(os.path.dirname(sys.executable), "openai-bindings")
    command = beside if os.path.exists(beside) else shutil.which("openai-bindings")
    if not command:
        pytest.skip("the console script is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update({"OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": "sk-test"})
    return subprocess.run([command, *args], input=input, capture_output=True, text=True, env=env, timeout=60)


def test_cli_submit_status_results(fake: FakeOpenAIServer, tmp_path: Any) -> None:
    source = tmp_path / "requests.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in chat(3)))
    submitted = cli("batch", "submit", str(source), "--max-lines", "2", fake=fake)
    assert submitted.returncode == 0, submitted.stderr
    ids = submitted.stdout.split()
    assert len(ids) == 2 and all(i.startswith("batch_") for i in ids)
    assert f"batch results {' '.join(ids)}" in submitted.stderr
    status = cli("batch", "status", *ids, fake=fake)
    assert status.returncode == 0 and status.stdout.splitlines()[0].startswith(f"{ids[0]}\tin_progress\t")
    out = tmp_path / "results.jsonl"
    done = cli("batch", "results", *ids, "--out", str(out), "--poll-interval", "0.01", fake=fake)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["custom_id"] for line in lines] == ["q0", "q1", "q2"]
    assert lines[2]["status"] == "completed" and lines[2]["body"]["choices"][0]["message"]["content"]
    assert done.stderr.endswith(f"3 results: 3 completed -> {out}\n")


def test_cli_submit_wait_from_stdin_with_the_batch_apis_own_lines(fake: FakeOpenAIServer) -> None:
    lines = [{**r, "method": "POST", "url": "/v1/embeddings", "body": {"input": "x"}} for r in chat(2)]
    done = cli(
        "batch",
        "submit",
        "-",
        "--wait",
        "--poll-interval",
        "0.01",
        "--progress",
        fake=fake,
        input="".join(json.dumps(line) + "\n" for line in lines),
    )
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["custom_id"] for r in results] == ["q0", "q1"] and results[0]["body"]["data"]
    assert "completed" in done.stderr.splitlines()[-2]  # the progress line, asked for off a terminal


def test_cli_refuses_a_bad_file(fake: FakeOpenAIServer, tmp_path: Any) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text('{"custom_id": "a", "body": {}}\nnot json\n')
    result = cli("batch", "submit", str(source), fake=fake)
    assert result.returncode == 2 and "line 2: not JSON" in result.stderr
    missing = cli("batch", "submit", str(tmp_path / "none.jsonl"), fake=fake)
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    assert fake.requests == []
