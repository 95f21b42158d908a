"""The Assistants API (beta, header ``OpenAI-Beta: assistants=v2``): assistants, threads, messages.

Kept for the original's ``assistants()``, ``threads()``, ``thread_messages()``
and ``delete_thread()``; the header check is the server's, before any handler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List

from ..server import Action, Reply
from .common import Call, Refused, error, find, listing, now, remove

if TYPE_CHECKING:
    from .common import FakeServer as FakeOpenAIServer


def create_assistant(fake: FakeOpenAIServer, call: Call) -> Action:
    body = call.body
    ident = fake.new_id("asst")
    fake.assistants[ident] = {
        "id": ident,
        "object": "assistant",
        "created_at": now(),
        "name": body.get("name"),
        "description": body.get("description"),
        "model": call.require("model"),
        "instructions": body.get("instructions"),
        "tools": body.get("tools") or [],
        "tool_resources": body.get("tool_resources") or {},
        "metadata": body.get("metadata") or {},
        "temperature": body.get("temperature", 1.0),
        "top_p": body.get("top_p", 1.0),
        "response_format": body.get("response_format", "auto"),
    }
    return Reply(body=fake.assistants[ident])


def _assistant(fake: FakeOpenAIServer, call: Call) -> Dict[str, Any]:
    return find(fake.assistants, call.args["assistant_id"], "No assistant found with id '{id}'.")


def list_assistants(fake: FakeOpenAIServer, call: Call) -> Action:
    return listing(call, list(fake.assistants.values()))


def retrieve_assistant(fake: FakeOpenAIServer, call: Call) -> Action:
    return Reply(body=_assistant(fake, call))


def delete_assistant(fake: FakeOpenAIServer, call: Call) -> Action:
    return remove("assistant.deleted", _assistant(fake, call)["id"], fake.assistants)


# -- threads and messages ------------------------------------------------------------------------


def _thread(fake: FakeOpenAIServer, call: Call) -> Dict[str, Any]:
    return find(fake.threads, call.args["thread_id"], "No thread found with id '{id}'.")


def _message(fake: FakeOpenAIServer, thread_id: str, given: Any) -> Dict[str, Any]:
    if not isinstance(given, dict) or given.get("role") not in ("user", "assistant"):
        raise Refused(error(400, "Invalid 'role': expected one of 'user' or 'assistant'.", param="role"))
    content = given.get("content")
    if isinstance(content, str):
        parts: List[Any] = [{"type": "text", "text": {"value": content, "annotations": []}}]
    elif isinstance(content, list):
        parts = [
            {"type": "text", "text": {"value": p.get("text", ""), "annotations": []}}
            if isinstance(p, dict) and p.get("type") == "text"
            else p
            for p in content
        ]
    else:
        raise Refused(
            error(
                400,
                "Missing required parameter: 'content'.",
                param="content",
                code="missing_required_parameter",
            )
        )
    created = now()
    return {
        "id": fake.new_id("msg"),
        "object": "thread.message",
        "created_at": created,
        "thread_id": thread_id,
        "status": "completed",
        "completed_at": created,
        "incomplete_at": None,
        "incomplete_details": None,
        "role": given["role"],
        "content": parts,
        "assistant_id": None,
        "run_id": None,
        "attachments": given.get("attachments") or [],
        "metadata": given.get("metadata") or {},
    }


def create_thread(fake: FakeOpenAIServer, call: Call) -> Action:
    ident = fake.new_id("thread")
    messages = [_message(fake, ident, m) for m in call.body.get("messages") or ()]
    fake.threads[ident] = {
        "id": ident,
        "object": "thread",
        "created_at": now(),
        "metadata": call.body.get("metadata") or {},
        "tool_resources": call.body.get("tool_resources") or {},
    }
    fake.thread_messages[ident] = messages
    return Reply(body=fake.threads[ident])


def list_threads(fake: FakeOpenAIServer, call: Call) -> Action:
    return listing(call, list(fake.threads.values()))


def retrieve_thread(fake: FakeOpenAIServer, call: Call) -> Action:
    return Reply(body=_thread(fake, call))


def delete_thread(fake: FakeOpenAIServer, call: Call) -> Action:
    return remove("thread.deleted", _thread(fake, call)["id"], fake.threads, fake.thread_messages)


def create_message(fake: FakeOpenAIServer, call: Call) -> Action:
    ident = _thread(fake, call)["id"]
    message = _message(fake, ident, call.body)
    fake.thread_messages.setdefault(ident, []).append(message)
    return Reply(body=message)


def list_messages(fake: FakeOpenAIServer, call: Call) -> Action:
    ident = _thread(fake, call)["id"]
    run_id = call.query.get("run_id")
    messages = [m for m in fake.thread_messages.get(ident, []) if not run_id or m["run_id"] == run_id]
    return listing(call, messages)


def retrieve_message(fake: FakeOpenAIServer, call: Call) -> Action:
    messages = {m["id"]: m for m in fake.thread_messages.get(_thread(fake, call)["id"], [])}
    return Reply(body=find(messages, call.args["message_id"], "No message found with id '{id}'."))


ROUTES = {
    "GET /assistants": list_assistants,
    "POST /assistants": create_assistant,
    "GET /assistants/{assistant_id}": retrieve_assistant,
    "DELETE /assistants/{assistant_id}": delete_assistant,
    "GET /threads": list_threads,
    "POST /threads": create_thread,
    "GET /threads/{thread_id}": retrieve_thread,
    "DELETE /threads/{thread_id}": delete_thread,
    "GET /threads/{thread_id}/messages": list_messages,
    "POST /threads/{thread_id}/messages": create_message,
    "GET /threads/{thread_id}/messages/{message_id}": retrieve_message,
}
