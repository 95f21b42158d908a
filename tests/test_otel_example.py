"""The OpenTelemetry example plugin, pip-installed, traced with opentelemetry-sdk's in-memory exporter."""

from __future__ import annotations

import json
import textwrap

import pytest
from support import install_example_plugins, run_with_site

SCRIPT = """
import asyncio, json
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)

import openai_bindings
from openai_bindings.testing import FakeOpenAIServer, Reply

with FakeOpenAIServer() as server:
    client = openai_bindings.OpenAI("sk-otel", base_url=server.base_url, transport="stdlib", max_retries=1)
    client.create_chat_completion([{"role": "user", "content": "hi"}], model="gpt-4.1", temperature=0.2)
    hey = [{"role": "user", "content": "hey"}]
    options = {"include_usage": True}
    stream = client.create_chat_completion(hey, model="gpt-4.1-mini", stream=True, stream_options=options)
    for _ in stream:
        pass
    client.embedding("apples", model="text-embedding-3-small")
    server.queue(Reply(status=503, body={"error": {"message": "busy"}}, headers={"retry-after-ms": "10"}),
                 path="/v1/chat/completions")
    client.create_chat_completion([{"role": "user", "content": "again"}])
    server.queue(Reply(status=400, body={"error": {"message": "bad"}}), path="/v1/chat/completions")
    try:
        client.create_chat_completion([{"role": "user", "content": "bad"}])
    except openai_bindings.BadRequestError:
        pass
    abandoned = client.create_chat_completion([{"role": "user", "content": "drop me"}], stream=True)
    next(abandoned)
    del abandoned

    async def main():
        url = server.base_url
        async with openai_bindings.AsyncOpenAI("sk-otel", base_url=url, transport="stdlib") as aclient:
            await aclient.create_response("async hi", model="gpt-4.1")

    asyncio.run(main())
    client.close()

spans = []
for span in exporter.get_finished_spans():
    spans.append({
        "name": span.name,
        "kind": span.kind.name,
        "status": span.status.status_code.name,
        "attributes": {k: (list(v) if isinstance(v, tuple) else v) for k, v in span.attributes.items()},
        "events": [e.name for e in span.events],
    })
print(json.dumps(spans))
"""


@pytest.fixture(scope="module")
def otel_site(tmp_path_factory):
    pytest.importorskip("opentelemetry.sdk", reason="pip install opentelemetry-sdk (the test extra has it)")
    return install_example_plugins(tmp_path_factory.mktemp("otel-site"), "opentelemetry")


def test_every_call_is_one_span_with_the_genai_attributes(otel_site):
    done = run_with_site(otel_site, "-c", textwrap.dedent(SCRIPT))
    assert done.returncode == 0, done.stderr
    spans = json.loads(done.stdout)
    assert [s["name"] for s in spans] == [
        "chat gpt-4.1",
        "chat gpt-4.1-mini",
        "embeddings text-embedding-3-small",
        "chat gpt-4.1",
        "chat gpt-4.1",
        "chat gpt-4.1",
        "chat gpt-4.1",
    ]
    plain, streamed, embedding, retried, failed, abandoned, responses = spans
    assert all(s["kind"] == "CLIENT" for s in spans)
    attributes = plain["attributes"]
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.system"] == "openai"
    assert attributes["gen_ai.request.model"] == "gpt-4.1"
    assert attributes["gen_ai.request.temperature"] == 0.2
    assert attributes["gen_ai.response.model"] == "gpt-4.1"
    assert attributes["gen_ai.usage.input_tokens"] == 1 and attributes["gen_ai.usage.output_tokens"] >= 1
    assert attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert attributes["server.address"] == "127.0.0.1" and attributes["http.response.status_code"] == 200
    assert streamed["attributes"]["gen_ai.usage.input_tokens"] == 1  # from the accumulated stream
    assert embedding["attributes"]["gen_ai.operation.name"] == "embeddings"
    assert retried["status"] == "UNSET" and retried["events"] == ["attempt failed", "retry"]
    assert failed["status"] == "ERROR" and failed["attributes"]["error.type"] == "BadRequestError"
    assert abandoned["status"] == "UNSET" and "gen_ai.response.model" not in abandoned["attributes"]
    assert responses["attributes"]["gen_ai.response.finish_reasons"] == ["completed"]
