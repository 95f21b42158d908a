"""Real recorded traffic replayed through the public API on every transport.

Each recorded request is made again through the client with the recorded
parameters; vcrpy matches method, URI and the JSON body, so the client must
send exactly what was recorded. What the client gives back (decoded bodies,
streamed events, accumulated text and tool calls, error classes and messages)
is checked against the recording, decoded here independently of the library.
The corpus is ../shared/conformance beside the project, or $OPENAI_BINDINGS_CONFORMANCE.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from support import CONFORMANCE, CONFORMANCE_MISSING, Caller, replayer

from openai_bindings import APIStatusError, errors

CASSETTES = sorted(CONFORMANCE.glob("*.yaml")) if CONFORMANCE.is_dir() else []

vcr = pytest.importorskip("vcr")
yaml = pytest.importorskip("yaml")

pytestmark = pytest.mark.skipif(not CASSETTES, reason=CONFORMANCE_MISSING)


ENDPOINTS = {
    "/chat/completions": ("create_chat_completion", "messages"),
    "/completions": ("completion", "prompt"),
    "/embeddings": ("embedding", "input"),
    "/responses": ("create_response", "input"),
    "/images/generations": ("image_generation", None),
}


def _call_for(uri: str, method: str, body: Any) -> tuple[str, str, str, tuple, dict]:
    """(provider, base_url, method name, args, kwargs) that reproduce a recorded request."""
    parts = urllib.parse.urlsplit(uri)
    provider = "gemini" if "generativelanguage" in parts.netloc else "openai"
    for suffix, (name, first) in ENDPOINTS.items():
        if parts.path.endswith(suffix) and method == "POST":
            base = f"{parts.scheme}://{parts.netloc}{parts.path[: -len(suffix)]}"
            params = dict(body or {})
            args = (params.pop(first),) if first and first in params else ()
            return provider, base, name, args, params
    if "/models" in parts.path and method == "GET":
        base, _, rest = parts.path.partition("/models")
        base_url = f"{parts.scheme}://{parts.netloc}{base}"
        if rest.strip("/"):
            return provider, base_url, "model", (rest.strip("/"),), {}
        return provider, base_url, "models", (), {}
    raise AssertionError(f"no endpoint mapping for {method} {uri}")


def _sse_payloads(text: str) -> list[Any]:
    """The data payloads of a recorded SSE body, decoded without the library's decoder."""
    payloads = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        data = [line[5:].lstrip(" ") if line.startswith("data:") else None for line in block.split("\n")]
        data = [d for d in data if d is not None]
        if not data:
            continue
        joined = "\n".join(data)
        if joined.strip() == "[DONE]":
            break
        payloads.append(json.loads(joined))
    return payloads


def _expected_text(payloads: list[Any], responses: bool) -> str:
    if responses:
        return "".join(p.get("delta", "") for p in payloads if p.get("type") == "response.output_text.delta")
    out = []
    for payload in payloads:
        for choice in payload.get("choices") or ():
            if choice.get("index", 0) == 0:
                content = (choice.get("delta") or {}).get("content")
                if isinstance(content, str):
                    out.append(content)
                elif isinstance(choice.get("text"), str):
                    out.append(choice["text"])
    return "".join(out)


def _expected_tool_calls(payloads: list[Any]) -> dict[int, tuple[str, str]]:
    calls: dict[int, list[str]] = {}
    for payload in payloads:
        for choice in payload.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            for position, call in enumerate((choice.get("delta") or {}).get("tool_calls") or ()):
                entry = calls.setdefault(call.get("index", position), ["", ""])
                function = call.get("function") or {}
                if function.get("name") and not entry[0]:
                    entry[0] = function["name"]
                entry[1] += function.get("arguments") or ""
    return {index: (name, args) for index, (name, args) in calls.items()}


def _check_interaction(call: Caller, interaction: dict[str, Any]) -> None:
    request, response = interaction["request"], interaction["response"]
    body = json.loads(request["body"]) if request.get("body") else None
    provider, base_url, name, args, kwargs = _call_for(request["uri"], request["method"], body)
    assert call.client.provider.name == provider
    status = response["status"]["code"]
    text = response["body"]["string"]
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    headers = {k.lower(): v[0] for k, v in response["headers"].items()}
    if status >= 400:
        with pytest.raises(APIStatusError) as info:
            call(name, *args, **kwargs)
        error = info.value
        expected_class = errors.status_error(status, json.loads(text)).__class__
        assert type(error) is expected_class
        assert error.status == status
        recorded_error = json.loads(text)
        recorded_error = recorded_error[0] if isinstance(recorded_error, list) else recorded_error
        message = " ".join(recorded_error["error"]["message"].split())
        assert error.message == (message if len(message) <= 500 else message[:497] + "...")
        assert error.request_id == headers.get("x-request-id")
        assert f"Error code: {status} - " in str(error)
        return
    result = call(name, *args, **kwargs)
    if body and body.get("stream"):
        events = call.events(result)
        expected = _sse_payloads(text)
        responses = name == "create_response"
        assert events == expected
        assert result.text == _expected_text(expected, responses)
        if responses:
            completed = [p["response"] for p in expected if p.get("type") == "response.completed"]
            assert result.final_response == (completed[-1] if completed else None)
        else:
            merged = result.message
            want_calls = _expected_tool_calls(expected)
            got_calls = (merged or {}).get("tool_calls") or []
            assert [(c["function"]["name"], c["function"]["arguments"]) for c in got_calls] == [
                want_calls[i] for i in sorted(want_calls)
            ]
            for got in got_calls:
                json.loads(got["function"]["arguments"] or "{}")
            usage = [p["usage"] for p in expected if p.get("usage")]
            assert result.usage == (usage[-1] if usage else None)
        assert result.closed
        return
    assert result.status == status
    assert result.body == json.loads(text)
    assert result.request_id == headers.get("x-request-id")


@pytest.mark.parametrize("cassette", CASSETTES, ids=[p.stem for p in CASSETTES])
def test_cassette(cassette: Path, make_caller: Any) -> None:
    recorded = yaml.safe_load(cassette.read_text())
    interactions = recorded["interactions"]
    first = interactions[0]["request"]
    body = json.loads(first["body"]) if first.get("body") else None
    provider, base_url, *_ = _call_for(first["uri"], first["method"], body)
    call = make_caller(provider=provider, base_url=base_url, api_key="sk-test-not-a-key", max_retries=0)
    with replayer().use_cassette(str(cassette), allow_playback_repeats=False) as played:
        for interaction in interactions:
            _check_interaction(call, interaction)
        assert played.all_played
