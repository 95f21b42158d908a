"""OpenTelemetry spans for every openai-bindings call, following the GenAI semantic conventions.

Install it next to openai-bindings (``pip install examples/plugins/opentelemetry``) and
configure OpenTelemetry as usual; every call then makes one CLIENT span named
``"{operation} {model}"`` (``chat gpt-4.1``) with ``gen_ai.operation.name``,
``gen_ai.system``, ``gen_ai.request.model`` (and temperature, top_p, max_tokens),
``gen_ai.response.model``, ``gen_ai.response.id``, ``gen_ai.response.finish_reasons``,
``gen_ai.usage.input_tokens`` / ``output_tokens``, ``server.address`` / ``server.port``;
retried attempts are span events; a failure sets ``error.type`` and the span's status.

It uses nothing but the library's hooks (prepare_request, on_response, on_error,
on_complete), so it works the same on every transport, sync and async, streamed or not.
A span lives from the moment the request is prepared until the call's end: its answer
(on_complete), its last failure (on_error with final=True), or, for a stream abandoned
before its end, the moment the request object is let go of.
"""

from __future__ import annotations

import json
import urllib.parse
import weakref
from typing import Any, Dict, Optional

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from openai_bindings import hookimpl

__all__ = ["OPERATIONS"]

#: The last path segments of an endpoint and the GenAI operation name they stand for.
OPERATIONS = {
    "chat/completions": "chat",
    "responses": "chat",
    "completions": "text_completion",
    "embeddings": "embeddings",
}
#: Request parameters recorded as gen_ai.request.* attributes.
REQUEST_ATTRIBUTES = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "max_output_tokens": "gen_ai.request.max_tokens",
    "seed": "gen_ai.request.seed",
}

_tracer = trace.get_tracer("openai_bindings_otel")
_spans: Dict[int, Any] = {}  # id(request) -> its span, until the call ends


def _operation(path: str) -> str:
    for suffix, name in OPERATIONS.items():
        if path.endswith("/" + suffix):
            return name
    return path.rstrip("/").rsplit("/", 1)[-1] or "request"


def _body(request: Any) -> Dict[str, Any]:
    if not isinstance(request.body, bytes) or "json" not in request.headers.get("content-type", ""):
        return {}
    try:
        body = json.loads(request.body)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _end(key: int, error: Optional[BaseException] = None) -> None:
    span = _spans.pop(key, None)
    if span is None:
        return
    if error is not None:
        span.set_attribute("error.type", type(error).__name__)
        span.set_status(Status(StatusCode.ERROR, str(error)[:500]))
    span.end()


@hookimpl
def prepare_request(request: Any, provider: str) -> None:
    url = urllib.parse.urlsplit(request.url)
    body = _body(request)
    operation = _operation(url.path)
    model = body.get("model")
    span = _tracer.start_span(f"{operation} {model}" if model else operation, kind=SpanKind.CLIENT)
    span.set_attribute("gen_ai.operation.name", operation)
    span.set_attribute("gen_ai.system", provider)
    if model:
        span.set_attribute("gen_ai.request.model", model)
    for name, attribute in REQUEST_ATTRIBUTES.items():
        value = body.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            span.set_attribute(attribute, value)
    if url.hostname:
        span.set_attribute("server.address", url.hostname)
    if url.port:
        span.set_attribute("server.port", url.port)
    key = id(request)
    _spans[key] = span
    # A stream dropped before its end reports nothing more: end its span with the request.
    weakref.finalize(request, _end, key)


@hookimpl
def on_response(request: Any, response: Any, elapsed: float, attempt: int) -> None:
    span = _spans.get(id(request))
    if span is not None:
        span.set_attribute("http.response.status_code", response.status)
        if attempt > 1:
            span.add_event("retry", {"attempt": attempt})


@hookimpl
def on_error(request: Any, error: BaseException, elapsed: float, attempt: int, final: bool) -> None:
    span = _spans.get(id(request))
    if span is None:
        return
    if final:
        _end(id(request), error)
    else:
        span.add_event("attempt failed", {"attempt": attempt, "error.type": type(error).__name__})


@hookimpl
def on_complete(request: Any, body: Any, elapsed: float) -> None:
    span = _spans.get(id(request))
    if span is None:
        return
    if isinstance(body, dict):
        if body.get("model"):
            span.set_attribute("gen_ai.response.model", body["model"])
        if body.get("id"):
            span.set_attribute("gen_ai.response.id", str(body["id"]))
        usage = body.get("usage") or {}
        if isinstance(usage, dict):
            for ours, theirs in (("input_tokens", "prompt_tokens"), ("output_tokens", "completion_tokens")):
                value = usage.get(ours, usage.get(theirs))
                if isinstance(value, int):
                    span.set_attribute(f"gen_ai.usage.{ours}", value)
        reasons = [c.get("finish_reason") for c in body.get("choices") or () if isinstance(c, dict)]
        if body.get("object") == "response" and body.get("status"):
            reasons = [body["status"]]
        reasons = [r for r in reasons if r]
        if reasons:
            span.set_attribute("gen_ai.response.finish_reasons", reasons)
    _end(id(request))
