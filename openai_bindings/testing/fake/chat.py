"""Chat completions: create (plain and streamed, tool calls, ``n``), and stored completions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List

from ..server import Action, Reply
from .common import Call, Refused, error, find, listing, now, remove, sse
from .script import Text, Tools, count_tokens, last_user_text, structured_fallback, words

if TYPE_CHECKING:
    from .common import FakeServer as FakeOpenAIServer


def prompt_tokens(messages: Any) -> int:
    return count_tokens([m.get("content") for m in messages if isinstance(m, dict)])


def create(fake: FakeOpenAIServer, call: Call) -> Action:
    body = call.body
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise Refused(
            error(
                400,
                "Missing required parameter: 'messages'.",
                param="messages",
                code="missing_required_parameter",
            )
        )
    answer = fake.script.next_answer(body, structured_fallback(body, last_user_text(messages)))
    if not isinstance(answer, (Text, Tools)):
        return answer
    completion = _completion(fake, body, answer)
    if body.get("store"):
        fake.chat_completions[completion["id"]] = completion
        fake.chat_messages[completion["id"]] = _stored_messages(completion["id"], messages)
    if not call.stream:
        return Reply(body=completion)
    return Reply(
        chunks=_chunks(completion, body), headers={"Content-Type": "text/event-stream; charset=utf-8"}
    )


def _completion(fake: FakeOpenAIServer, body: Dict[str, Any], answer: Any) -> Dict[str, Any]:
    ident = fake.new_id("chatcmpl", "-")
    text = answer.text
    calls = answer.calls if isinstance(answer, Tools) else []
    legacy = bool(calls) and bool(body.get("functions")) and not body.get("tools")
    tool_calls: List[Dict[str, Any]] = [
        {
            "id": c.call_id if c.call_id is not None else f"call_{ident[-4:]}_{n}",
            "type": "function",
            "function": {"name": c.name, "arguments": c.raw},
        }
        for n, c in enumerate(calls)
    ]
    message: Dict[str, Any] = {"role": "assistant", "content": text, "refusal": None, "annotations": []}
    if legacy:
        message["function_call"] = tool_calls[0]["function"]
    elif tool_calls:
        message["tool_calls"] = tool_calls
    finish = "function_call" if legacy else ("tool_calls" if calls else "stop")
    count = max(1, int(body.get("n") or 1))
    prompt = prompt_tokens(body["messages"])
    output = (count_tokens(text) if text else 0) + sum(count_tokens(c.raw) for c in calls)
    return {
        "id": ident,
        "object": "chat.completion",
        "created": now(),
        "model": fake.model_for(body),
        "choices": [
            {"index": index, "message": dict(message), "logprobs": None, "finish_reason": finish}
            for index in range(count)
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": output * count,
            "total_tokens": prompt + output * count,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_fake",
        "metadata": body.get("metadata") or {},
    }


def _chunks(completion: Dict[str, Any], body: Dict[str, Any]) -> List[bytes]:
    """The completion as the API streams it: role first, text by words, tool-call arguments in halves."""
    base = {
        "id": completion["id"],
        "object": "chat.completion.chunk",
        "created": completion["created"],
        "model": completion["model"],
        "service_tier": "default",
        "system_fingerprint": "fp_fake",
    }
    with_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    if with_usage:
        base["usage"] = None

    def chunk(index: int, delta: Dict[str, Any], finish: Any = None) -> Dict[str, Any]:
        return {
            **base,
            "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    events: List[Dict[str, Any]] = []
    for choice in completion["choices"]:
        index, message = choice["index"], choice["message"]
        text = message["content"]
        calls = message.get("tool_calls") or []
        first: Dict[str, Any] = {
            "role": "assistant",
            "content": "" if text is not None or not calls else None,
        }
        events.append(chunk(index, {**first, "refusal": None}))
        if text:
            events += [chunk(index, {"content": piece}) for piece in words(text)]
        legacy = message.get("function_call")
        if legacy:
            arguments = legacy["arguments"]
            half = len(arguments) // 2
            events.append(
                chunk(index, {"function_call": {"name": legacy["name"], "arguments": arguments[:half]}})
            )
            events.append(chunk(index, {"function_call": {"arguments": arguments[half:]}}))
        for n, tool_call in enumerate(calls):
            arguments = tool_call["function"]["arguments"]
            half = len(arguments) // 2
            opening = {
                "index": n,
                "id": tool_call["id"],
                "type": "function",
                "function": {"name": tool_call["function"]["name"], "arguments": ""},
            }
            events.append(chunk(index, {"tool_calls": [opening]}))
            for piece in (arguments[:half], arguments[half:]):
                events.append(chunk(index, {"tool_calls": [{"index": n, "function": {"arguments": piece}}]}))
        events.append(chunk(index, {}, choice["finish_reason"]))
    if with_usage:
        events.append({**base, "choices": [], "usage": completion["usage"]})
    return [sse(event, done=False) for event in events] + [b"data: [DONE]\n\n"]


# -- stored chat completions ------------------------------------------------------------------


def _stored_messages(ident: str, messages: List[Any]) -> List[Dict[str, Any]]:
    stored = []
    for n, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        item = {**message, "id": f"{ident}-{n}"}
        content = message.get("content")
        if isinstance(content, list):
            item["content"] = " ".join(p.get("text", "") for p in content if isinstance(p, dict)) or None
            item["content_parts"] = content
        item.setdefault("content", None)
        if item.get("role") == "assistant":
            item.setdefault("refusal", None)
        stored.append(item)
    return stored


def _stored(fake: FakeOpenAIServer, call: Call) -> Dict[str, Any]:
    return find(
        fake.chat_completions, call.args["completion_id"], "Chat completion with id '{id}' not found."
    )


def list_completions(fake: FakeOpenAIServer, call: Call) -> Action:
    wanted = call.query.get("metadata") or {}
    model = call.query.get("model")
    items = [
        c
        for c in fake.chat_completions.values()
        if (not model or c["model"] == model) and all(c["metadata"].get(k) == v for k, v in wanted.items())
    ]
    return listing(call, items, order="asc")


def retrieve(fake: FakeOpenAIServer, call: Call) -> Action:
    return Reply(body=_stored(fake, call))


def update(fake: FakeOpenAIServer, call: Call) -> Action:
    completion = _stored(fake, call)
    metadata = call.body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise Refused(error(400, "Invalid type for 'metadata': expected an object.", param="metadata"))
    completion["metadata"] = metadata or {}
    return Reply(body=completion)


def delete(fake: FakeOpenAIServer, call: Call) -> Action:
    ident = _stored(fake, call)["id"]
    return remove("chat.completion.deleted", ident, fake.chat_completions, fake.chat_messages)


def messages(fake: FakeOpenAIServer, call: Call) -> Action:
    ident = _stored(fake, call)["id"]
    return listing(call, fake.chat_messages.get(ident, []), order="asc")


ROUTES = {
    "POST /chat/completions": create,
    "GET /chat/completions": list_completions,
    "GET /chat/completions/{completion_id}": retrieve,
    "POST /chat/completions/{completion_id}": update,
    "DELETE /chat/completions/{completion_id}": delete,
    "GET /chat/completions/{completion_id}/messages": messages,
}
