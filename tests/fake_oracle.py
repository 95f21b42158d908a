"""The fake's oracles: openai-python's own models, and the API reference's answer schemas.

openai-python's models are lenient about fields the reference marks required
but nullable (they default to None), so each answer is also validated against
the reference's schema (tests/openapi_responses.json, made by
tools/gen_response_schemas.py): a required field the fake forgets fails there.
"""

from __future__ import annotations

import functools
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import jsonschema

from openai_bindings.testing.fake import routes

SCHEMAS = Path(__file__).resolve().parent / "openapi_responses.json"


def _nullable(node: Any) -> Any:
    """The reference as the API answers: optional fields may be null (the API sends ``null`` for an
    unset ``expires_at`` or ``user``), and OpenAPI 3.0's ``nullable: true`` means JSON Schema's null."""
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable(value) for key, value in node.items()}
    if isinstance(node.get("properties"), dict):
        required = set(node.get("required") or ())
        node["properties"] = {
            name: sub if name in required else {"anyOf": [sub, {"type": "null"}]}
            for name, sub in node["properties"].items()
        }
    if node.pop("nullable", False):
        node = {"anyOf": [node, {"type": "null"}]}
    return node


@functools.cache
def _document() -> Any:
    return _nullable(json.loads(SCHEMAS.read_text(encoding="utf-8")))


@functools.cache
def _validator(key: str, content_type: str) -> Any:
    document = _document()
    schema = document["answers"][key][content_type]
    return jsonschema.Draft202012Validator({**schema, "components": document["components"]})


def _explain(error: Any, depth: int = 0) -> List[str]:
    where = "/".join(str(p) for p in error.absolute_path) or "(top)"
    lines = [f"{'  ' * depth}{where}: {error.message[:300]}"]
    if error.context and depth < 3:
        relevant = [e for e in error.context if not (e.validator == "type" and e.validator_value == "null")]
        best = jsonschema.exceptions.best_match(relevant or error.context)
        lines += _explain(best, depth + 1)
    return lines


def spec_check(key: str, value: Any, content_type: str = "application/json") -> None:
    """Fail with every place ``value`` breaks the reference's schema for ``key``'s answer."""
    errors = sorted(_validator(key, content_type).iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        report = [line for error in errors[:10] for line in _explain(error)]
        raise AssertionError(f"{key} answer breaks the API reference:\n" + "\n".join(report))


def key_of(method: str, url: str) -> str:
    path = url.split("://", 1)[-1].split("/", 1)[1].split("?", 1)[0]
    found = routes.match(method, "/" + path[len("v1/") :])
    assert found is not None, f"no route for {method} {url}"
    return found[0]


#: Where the reference (and openai-python's model) is stricter than the API itself, and why.
EXEMPT = {
    "GET /chat/completions/{completion_id}/messages": (
        "the reference types stored messages as assistant messages; the API lists the request's "
        "messages with their own roles (its own example shows a user message)"
    ),
}


def check(raw: Any, model: Optional[type] = None) -> Any:
    """An openai-python raw response: parsed by openai-python, valid for ``model`` and the reference."""
    parsed = raw.parse()
    body = raw.http_response.json()
    if model is not None:
        model.model_validate(body)
    key = key_of(raw.http_request.method, str(raw.http_request.url))
    if key not in EXEMPT:
        spec_check(key, body)
    assert raw.http_response.headers.get("x-request-id", "").startswith("req_")
    return parsed


def check_events(key: str, events: List[Any], adapter: Any) -> None:
    """Each streamed event: valid for openai-python's event type and the reference's stream schema."""
    assert events, "the stream sent no events"
    for event in events:
        adapter.validate_python(event)
        spec_check(key, event, "text/event-stream")


def send(
    url: str, method: str = "GET", body: Any = None, headers: Optional[Dict[str, str]] = None
) -> Tuple[int, Dict[str, str], Any]:
    """A plain urllib request, whatever its status: (status, lower-cased headers, JSON body or bytes)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            status, head, raw = answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as failure:
        status, head, raw = failure.code, failure.headers, failure.read()
    lowered = {key.lower(): value for key, value in head.items()}
    is_json = lowered.get("content-type", "").startswith("application/json")
    return status, lowered, json.loads(raw) if is_json and raw else raw
