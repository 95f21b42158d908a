"""The Responses API: create (plain, streamed event by event as the API sends them, in the background),
retrieve, delete, cancel, input items, input token counts, and compaction.

Stored responses chain through ``previous_response_id``; a ``conversation``
gets the request's input items and the response's output appended.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Tuple

from ..server import Action, Reply
from .common import Call, Refused, error, find, listing, now, remove
from .images import PNG_1X1
from .script import Text, Tools, count_tokens, last_user_text, structured_fallback, words

if TYPE_CHECKING:
    from .common import FakeServer as FakeOpenAIServer


# -- items ---------------------------------------------------------------------------------


def input_items(fake: FakeOpenAIServer, given: Any) -> List[Dict[str, Any]]:
    """The request's input as stored items: each with an id, message content as typed parts."""
    if given is None:
        return []
    raw = [{"role": "user", "content": given}] if isinstance(given, str) else list(given)
    items = []
    for entry in raw:
        if not isinstance(entry, dict):
            continue
        item = dict(entry)
        if "role" in item and item.get("type", "message") == "message":
            item["type"] = "message"
            content = item.get("content")
            kind = "output_text" if item["role"] == "assistant" else "input_text"
            if isinstance(content, str):
                part: Dict[str, Any] = {"type": kind, "text": content}
                if kind == "output_text":
                    part.update(annotations=[], logprobs=[])
                item["content"] = [part]
            item.setdefault("id", fake.new_id("msg"))
        else:
            prefix = {"function_call_output": "fco", "function_call": "fc", "reasoning": "rs"}.get(
                str(item.get("type")), "item"
            )
            item.setdefault("id", fake.new_id(prefix))
        item.setdefault("status", "completed")
        items.append(item)
    return items


def _context(fake: FakeOpenAIServer, body: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Everything the model reads: the chain of previous responses' inputs and outputs, then the input."""
    chain: List[Dict[str, Any]] = []
    previous = body.get("previous_response_id")
    seen = set()
    while previous and previous in fake.responses and previous not in seen:
        seen.add(previous)
        stored = fake.responses[previous]
        chain[:0] = fake.response_inputs.get(previous, []) + stored["output"]
        previous = stored.get("previous_response_id")
    conversation = _conversation_id(body)
    if conversation:
        chain = list(fake.conversation_items.get(conversation, [])) + chain
    given = body.get("input")
    return chain + (
        [{"role": "user", "content": given}]
        if isinstance(given, str)
        else [i for i in given or () if isinstance(i, dict)]
    )


def _text_tokens(items: List[Dict[str, Any]], instructions: Any) -> int:
    parts: List[Any] = [instructions] if isinstance(instructions, str) else []
    for item in items:
        parts.append(item.get("content") if "content" in item else item.get("output", item.get("arguments")))
    return count_tokens(parts)


def _conversation_id(body: Dict[str, Any]) -> Optional[str]:
    conversation = body.get("conversation")
    if isinstance(conversation, dict):
        conversation = conversation.get("id")
    return conversation if isinstance(conversation, str) and conversation else None


def usage(input_tokens: int, output_tokens: int) -> Dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def _tools(tools: Any) -> List[Any]:
    """Tools as the API echoes them: functions with ``strict`` and ``description`` filled in."""
    echoed = []
    for tool in tools or ():
        if isinstance(tool, dict) and tool.get("type") == "function":
            tool = {"description": None, "parameters": None, "strict": True, **tool}
        echoed.append(tool)
    return echoed


def _checks(fake: FakeOpenAIServer, body: Dict[str, Any]) -> None:
    previous = body.get("previous_response_id")
    if previous and previous not in fake.responses:
        raise Refused(
            error(
                400,
                f"Previous response with id '{previous}' not found.",
                code="previous_response_not_found",
                param="previous_response_id",
            )
        )
    conversation = _conversation_id(body)
    if conversation and previous:
        raise Refused(
            error(
                400,
                "Mutually exclusive parameters: Ensure you are only providing one of: "
                "'previous_response_id' or 'conversation'.",
                code="mutually_exclusive_parameters",
                param="conversation",
            )
        )
    if conversation:
        find(fake.conversations, conversation, "Conversation with id '{id}' not found.")


# -- create ----------------------------------------------------------------------------------


def create(fake: FakeOpenAIServer, call: Call) -> Action:
    body = call.body
    if "input" not in body and not body.get("prompt") and not _conversation_id(body):
        raise Refused(
            error(
                400, "Missing required parameter: 'input'.", code="missing_required_parameter", param="input"
            )
        )
    _checks(fake, body)
    background = bool(body.get("background"))
    if background and body.get("store") is False:
        raise Refused(error(400, "Background mode requires 'store' to be true.", param="background"))
    context = _context(fake, body)
    answer = fake.script.next_answer(body, structured_fallback(body, last_user_text(context)))
    if not isinstance(answer, (Text, Tools)):
        return answer
    response, inputs = _build(fake, body, answer, context)
    if response["store"]:
        fake.responses[response["id"]] = response
        fake.response_inputs[response["id"]] = inputs
    conversation = _conversation_id(body)
    if conversation:
        fake.conversation_items.setdefault(conversation, []).extend(inputs + response["output"])
    if background:
        fake.response_pending[response["id"]] = dict(response)
        queued = {**response, "status": "queued", "output": [], "usage": None, "completed_at": None}
        fake.responses[response["id"]] = queued
        response = queued
    if not call.stream:
        return Reply(body=response)
    chunks = [_event_bytes(kind, payload) for kind, payload in stream_events(response)]
    return Reply(chunks=chunks, headers={"Content-Type": "text/event-stream; charset=utf-8"})


def _build(
    fake: FakeOpenAIServer, body: Dict[str, Any], answer: Any, context: List[Dict[str, Any]]
) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    ident = fake.new_id("resp")
    output: List[Dict[str, Any]] = []
    for n, call in enumerate(answer.calls if isinstance(answer, Tools) else []):
        output.append(
            {
                "type": "function_call",
                "id": f"fc_{ident[5:]}_{n}",
                "call_id": call.call_id if call.call_id is not None else f"call_{ident[-4:]}_{n}",
                "name": call.name,
                "arguments": call.raw,
                "status": "completed",
            }
        )
    text = answer.text
    if text is not None:
        output.append(
            {
                "type": "message",
                "id": f"msg_{ident[5:]}",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
            }
        )
    if any(isinstance(t, dict) and t.get("type") == "image_generation" for t in body.get("tools") or ()):
        output.append(
            {
                "type": "image_generation_call",
                "id": f"ig_{ident[5:]}",
                "status": "completed",
                "result": base64.b64encode(PNG_1X1).decode(),
            }
        )
    inputs = input_items(fake, body.get("input"))
    created = now()
    text_config: Dict[str, Any] = body["text"] if isinstance(body.get("text"), dict) else {}
    response: Dict[str, Any] = {
        "id": ident,
        "object": "response",
        "created_at": created,
        "status": "completed",
        "background": bool(body.get("background")),
        "completed_at": created,
        "conversation": {"id": _conversation_id(body)} if _conversation_id(body) else None,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "metadata": body.get("metadata") or {},
        "model": fake.model_for(body),
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "prompt": body.get("prompt"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "reasoning": {"effort": None, "summary": None, **(body.get("reasoning") or {})},
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": "default",
        "store": body.get("store", True) is not False,
        "temperature": body.get("temperature", 1.0),
        "text": {"format": {"type": "text"}, "verbosity": "medium", **text_config},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": _tools(body.get("tools")),
        "top_logprobs": body.get("top_logprobs", 0),
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation") or "disabled",
        "usage": usage(
            _text_tokens(context, body.get("instructions")),
            (count_tokens(text) if text else 0) + sum(count_tokens(i.get("arguments")) for i in output),
        ),
        "user": body.get("user"),
    }
    return response, inputs


# -- streaming -------------------------------------------------------------------------------


def _event_bytes(kind: str, payload: Dict[str, Any]) -> bytes:
    import json

    return f"event: {kind}\ndata: {json.dumps(payload)}\n\n".encode()


def stream_events(response: Dict[str, Any]) -> Iterator[Tuple[str, Dict[str, Any]]]:
    """The events the API streams for ``response``, numbered from 0, in the API's order."""
    number = iter(range(1_000_000))

    def event(kind: str, **fields: Any) -> Tuple[str, Dict[str, Any]]:
        return kind, {"type": kind, "sequence_number": next(number), **fields}

    if response["status"] == "queued":
        yield event("response.created", response=response)
        yield event("response.queued", response=response)
        return
    opening = {**response, "status": "in_progress", "output": [], "usage": None, "completed_at": None}
    yield event("response.created", response=opening)
    yield event("response.in_progress", response=opening)
    for index, item in enumerate(response["output"]):
        ident = item["id"]
        if item["type"] == "message":
            yield event(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "content": []},
            )
            for position, part in enumerate(item["content"]):
                text = part.get("text", "")
                where = {"item_id": ident, "output_index": index, "content_index": position}
                yield event("response.content_part.added", **where, part={**part, "text": ""})
                for piece in words(text) if text else ():
                    yield event("response.output_text.delta", **where, delta=piece, logprobs=[])
                yield event("response.output_text.done", **where, text=text, logprobs=[])
                yield event("response.content_part.done", **where, part=part)
        elif item["type"] == "function_call":
            yield event(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "arguments": ""},
            )
            arguments = item["arguments"]
            half = len(arguments) // 2
            for piece in (arguments[:half], arguments[half:]):
                yield event(
                    "response.function_call_arguments.delta", item_id=ident, output_index=index, delta=piece
                )
            yield event(
                "response.function_call_arguments.done",
                item_id=ident,
                output_index=index,
                name=item["name"],
                arguments=arguments,
            )
        else:
            yield event(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "result": None},
            )
            for stage in ("in_progress", "generating", "completed"):
                yield event(f"response.image_generation_call.{stage}", item_id=ident, output_index=index)
        yield event("response.output_item.done", output_index=index, item=item)
    yield event("response.completed", response=response)


# -- stored responses ------------------------------------------------------------------------


def _stored(fake: FakeOpenAIServer, call: Call) -> Dict[str, Any]:
    return find(fake.responses, call.args["response_id"], "Response with id '{id}' not found.")


def retrieve(fake: FakeOpenAIServer, call: Call) -> Action:
    response = _stored(fake, call)
    finished = fake.response_pending.pop(response["id"], None)
    if finished is not None and response["status"] == "queued":
        fake.responses[response["id"]] = response = finished  # a background response is done when asked again
    if str(call.query.get("stream")).lower() == "true":
        after = int(call.query.get("starting_after", -1))
        events = [(k, p) for k, p in stream_events(response) if p["sequence_number"] > after]
        return Reply(
            chunks=[_event_bytes(k, p) for k, p in events],
            headers={"Content-Type": "text/event-stream; charset=utf-8"},
        )
    return Reply(body=response)


def delete(fake: FakeOpenAIServer, call: Call) -> Action:
    ident = _stored(fake, call)["id"]
    return remove("response", ident, fake.responses, fake.response_inputs, fake.response_pending)


def cancel(fake: FakeOpenAIServer, call: Call) -> Action:
    response = _stored(fake, call)
    if not response.get("background"):
        raise Refused(
            error(400, "Only responses created with background=true can be cancelled.", param="response_id")
        )
    if response["status"] in ("queued", "in_progress"):
        fake.response_pending.pop(response["id"], None)
        response["status"] = "cancelled"
    return Reply(body=response)


def list_input_items(fake: FakeOpenAIServer, call: Call) -> Action:
    ident = _stored(fake, call)["id"]
    return listing(call, fake.response_inputs.get(ident, []), order="desc")


def input_tokens(fake: FakeOpenAIServer, call: Call) -> Action:
    body = call.body
    _checks(fake, body)
    tokens = _text_tokens(_context(fake, body), body.get("instructions"))
    return Reply(body={"object": "response.input_tokens", "input_tokens": tokens})


def compact(fake: FakeOpenAIServer, call: Call) -> Action:
    """The window kept: the user's messages, then one opaque compaction item for the rest."""
    body = call.body
    call.require("model")
    _checks(fake, body)
    context = _context(fake, body)
    kept = [
        {**item, "id": item.get("id") or fake.new_id("msg")}
        for item in input_items(fake, [i for i in context if i.get("role") == "user"])
    ]
    digest = hashlib.sha256(repr(context).encode()).digest()
    compaction = {
        "type": "compaction",
        "id": fake.new_id("cmp"),
        "encrypted_content": base64.b64encode(b"fake-compaction:" + digest).decode(),
    }
    tokens = _text_tokens(context, body.get("instructions"))
    return Reply(
        body={
            "id": fake.new_id("resp"),
            "object": "response.compaction",
            "created_at": now(),
            "output": [*kept, compaction],
            "usage": usage(tokens, max(1, tokens // 4)),
        }
    )


ROUTES = {
    "POST /responses": create,
    "GET /responses/{response_id}": retrieve,
    "DELETE /responses/{response_id}": delete,
    "POST /responses/{response_id}/cancel": cancel,
    "GET /responses/{response_id}/input_items": list_input_items,
    "POST /responses/input_tokens": input_tokens,
    "POST /responses/compact": compact,
}
