"""FakeOpenAIServer: an OpenAI-compatible server on 127.0.0.1 with scripted answers.

Standard library only. Answers are built from what the request asked
(streamed when ``stream`` is true), so one scripted reply serves plain and
streamed calls, chat completions and the Responses API alike:

    with FakeOpenAIServer() as server:
        server.reply_with("Hello!")                                   # the next model answer
        server.reply_with_tool_call("get_weather", {"city": "Paris"}) # or a tool call
        server.fail_with(429, "slow down", headers={"Retry-After": "1"})
        client = openai_bindings.OpenAI(base_url=server.base_url)

Without a scripted answer, the model echoes the last user text (``echo: ...``).
Faults: ``delay_next(seconds)``, ``drop_next()``, and any ``Stall`` / ``Drop`` /
``Reset`` / raw ``Reply`` queued with ``queue()`` from ``LocalServer``.
Every request is recorded in ``server.requests``.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import json
import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Deque, Dict, List, Optional, Sequence, Union

from .server import Action, Drop, LocalServer, RecordedRequest, Reply

__all__ = ["FakeOpenAIServer", "ScriptedToolCall", "sse"]

#: A 1x1 PNG, what image generation returns.
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def sse(*events: Any, done: bool = True) -> bytes:
    """Encode events as a Server-Sent Events body; ``(name, payload)`` tuples get an ``event:`` line."""
    out = []
    for event in events:
        if isinstance(event, tuple):
            name, payload = event
            out.append(f"event: {name}\ndata: {json.dumps(payload)}\n\n")
        else:
            out.append(f"data: {json.dumps(event)}\n\n")
    if done:
        out.append("data: [DONE]\n\n")
    return "".join(out).encode()


@dataclass
class ScriptedToolCall:
    name: str
    arguments: Union[Dict[str, Any], str]  # a str is sent as it is (e.g. malformed JSON)
    call_id: Optional[str] = None

    @property
    def raw(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


@dataclass
class _Text:
    text: str


@dataclass
class _Tools:
    calls: List[ScriptedToolCall] = field(default_factory=list)
    text: Optional[str] = None


_Scripted = Union[_Text, _Tools, Action]


def _last_user_text(messages: Any) -> str:
    """The text of the last user message / input, for the echo answer."""
    if isinstance(messages, str):
        return messages
    for message in reversed(messages or []):
        if not isinstance(message, dict):
            continue
        if message.get("type") == "function_call_output":
            return f"tool said {message.get('output')}"
        if message.get("role") == "tool":
            return f"tool said {message.get('content')}"
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            texts = [p.get("text", "") for p in content or () if isinstance(p, dict) and "text" in p]
            return " ".join(texts)
    return ""


def _words(text: str) -> List[str]:
    pieces = re.findall(r"\S+\s*|\s+", text)
    return pieces or [""]


class FakeOpenAIServer(LocalServer):
    """Chat completions, Responses (stored, chained), embeddings, moderations, models, files, images."""

    model = "fake-model"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._script: Deque[_Scripted] = deque()
        self._counter = 0
        self._delay = 0.0
        self._ids = threading.Lock()
        self.responses: Dict[str, Dict[str, Any]] = {}
        self.files: Dict[str, Dict[str, Any]] = {}
        self.file_contents: Dict[str, bytes] = {}
        routes = {
            ("POST", "/v1/chat/completions"): self._chat,
            ("POST", "/v1/completions"): self._completion,
            ("POST", "/v1/responses"): self._create_response,
            ("POST", "/v1/embeddings"): self._embeddings,
            ("POST", "/v1/moderations"): self._moderations,
            ("GET", "/v1/models"): self._models,
            ("GET", "/v1/files"): self._list_files,
            ("POST", "/v1/files"): self._upload,
            ("POST", "/v1/images/generations"): self._images,
        }
        for (method, path), handler in routes.items():
            self.route(method, path, handler)

    @property
    def base_url(self) -> str:
        return self.url("/v1")

    # -- scripting ---------------------------------------------------------------------

    def reply_with(self, *texts: str) -> None:
        """The next model answers (chat or responses) are these texts, in order."""
        self._script.extend(_Text(text) for text in texts)

    def reply_with_tool_call(
        self,
        name: str,
        arguments: Union[Dict[str, Any], str],
        call_id: Optional[str] = None,
    ) -> None:
        """The next model answer asks for one tool call."""
        self._script.append(_Tools([ScriptedToolCall(name, arguments, call_id)]))

    def reply_with_tool_calls(
        self, *calls: Union[ScriptedToolCall, tuple], text: Optional[str] = None
    ) -> None:
        """The next model answer asks for several tool calls at once (parallel calls)."""
        made = [c if isinstance(c, ScriptedToolCall) else ScriptedToolCall(*c) for c in calls]
        self._script.append(_Tools(made, text))

    def fail_with(
        self,
        status: int,
        message: str = "scripted failure",
        code: Optional[str] = None,
        headers: Optional[Dict[str, str]] = None,
    ) -> None:
        """The next model request gets this error status and an OpenAI-shaped error body."""
        kind = "server_error" if status >= 500 else "invalid_request_error"
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
        self._script.append(Reply(status=status, body=body, headers=dict(headers or {})))

    def delay_next(self, seconds: float) -> None:
        """The next answer (of any endpoint) waits this long before its status line."""
        self._delay = seconds

    def drop_next(self, after: bytes = b"") -> None:
        """The next request's connection is dropped mid-answer, after sending ``after``."""
        self.queue(Drop(sent=after))

    def _action_for(self, request: RecordedRequest) -> Action:
        action = super()._action_for(request)
        if self._delay and isinstance(action, Reply):
            action.delay, self._delay = self._delay, 0.0
        return action

    def _next_id(self, prefix: str) -> str:
        with self._ids:
            self._counter += 1
            return f"{prefix}_{self._counter:04d}"

    def _next_answer(self, request: RecordedRequest, fallback: str) -> _Scripted:
        if self._script:
            return self._script.popleft()
        return _Text(f"echo: {fallback}")

    @staticmethod
    def _error(status: int, message: str, code: Optional[str] = None, param: Optional[str] = None) -> Reply:
        kind = "invalid_request_error" if status < 500 else "server_error"
        return Reply(
            status=status, body={"error": {"message": message, "type": kind, "param": param, "code": code}}
        )

    def _headers(self, ident: str, stream: bool = False) -> Dict[str, str]:
        headers = {"x-request-id": f"req_{ident}"}
        if stream:
            headers["Content-Type"] = "text/event-stream; charset=utf-8"
        return headers

    def default(self, request: RecordedRequest) -> Action:
        """Routes with ids in the path, then the echo of LocalServer for anything else."""
        parts = request.path.split("/")
        if request.path.startswith("/v1/responses/"):
            return self._response_by_id(request, parts[3], parts[4] if len(parts) > 4 else None)
        if request.path.startswith("/v1/models/"):
            name = "/".join(parts[3:])
            return Reply(body={"id": name, "object": "model", "created": 0, "owned_by": "openai-bindings"})
        if request.path.startswith("/v1/files/"):
            return self._file_by_id(request, parts[3], parts[4] if len(parts) > 4 else None)
        if request.path.startswith("/v1/"):
            return self._error(404, f"Unknown request URL: {request.method} {request.path}.", "unknown_url")
        return super().default(request)

    # -- chat completions ----------------------------------------------------------------

    def _chat(self, request: RecordedRequest) -> Action:
        body: Dict[str, Any] = request.json or {}
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return self._error(400, "'messages' is a required property", param="messages")
        answer = self._next_answer(request, _last_user_text(body["messages"]))
        if not isinstance(answer, (_Text, _Tools)):
            return answer
        ident = self._next_id("chatcmpl")
        model = body.get("model") or self.model
        created = int(time.time())
        text = answer.text
        calls = answer.calls if isinstance(answer, _Tools) else []
        legacy = bool(calls) and bool(body.get("functions")) and not body.get("tools")
        completion_tokens = len((text or "").split()) + len(calls)
        usage = {
            "prompt_tokens": 5,
            "completion_tokens": completion_tokens,
            "total_tokens": 5 + completion_tokens,
        }
        tool_calls: List[Dict[str, Any]] = [
            {
                "id": c.call_id if c.call_id is not None else f"call_{ident[-4:]}_{n}",
                "type": "function",
                "function": {"name": c.name, "arguments": c.raw},
            }
            for n, c in enumerate(calls)
        ]
        finish = "function_call" if legacy else ("tool_calls" if calls else "stop")
        if not body.get("stream"):
            message: Dict[str, Any] = {
                "role": "assistant",
                "content": text,
                "refusal": None,
                "annotations": [],
            }
            if legacy:
                message["function_call"] = tool_calls[0]["function"]
            elif tool_calls:
                message["tool_calls"] = tool_calls
            return Reply(
                body={
                    "id": ident,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
                    "usage": usage,
                },
                headers=self._headers(ident),
            )
        base = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model}

        def chunk(delta: Dict[str, Any], finish_reason: Optional[str] = None) -> Dict[str, Any]:
            return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}

        events = [chunk({"role": "assistant", "content": "" if text is not None or not calls else None})]
        if text:
            events += [chunk({"content": piece}) for piece in _words(text)]
        for n, call in enumerate(tool_calls):
            arguments = call["function"]["arguments"]
            half = len(arguments) // 2
            if legacy:
                events.append(
                    chunk(
                        {"function_call": {"name": call["function"]["name"], "arguments": arguments[:half]}}
                    )
                )
                events.append(chunk({"function_call": {"arguments": arguments[half:]}}))
                continue
            first = {
                "index": n,
                "id": call["id"],
                "type": "function",
                "function": {"name": call["function"]["name"], "arguments": ""},
            }
            events.append(chunk({"tool_calls": [first]}))
            for piece in (arguments[:half], arguments[half:]):
                events.append(chunk({"tool_calls": [{"index": n, "function": {"arguments": piece}}]}))
        events.append(chunk({}, finish))
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append({**base, "choices": [], "usage": usage})
        chunks = [sse(event, done=False) for event in events] + [b"data: [DONE]\n\n"]
        return Reply(chunks=chunks, headers=self._headers(ident, stream=True))

    def _completion(self, request: RecordedRequest) -> Action:
        body = request.json or {}
        prompt = body.get("prompt")
        answer = self._next_answer(request, prompt if isinstance(prompt, str) else json.dumps(prompt))
        if not isinstance(answer, _Text):
            return answer if not isinstance(answer, _Tools) else self._error(400, "no tools on /completions")
        ident = self._next_id("cmpl")
        base = {
            "id": ident,
            "object": "text_completion",
            "created": int(time.time()),
            "model": body.get("model") or self.model,
        }
        if not body.get("stream"):
            return Reply(
                body={
                    **base,
                    "choices": [{"text": answer.text, "index": 0, "logprobs": None, "finish_reason": "stop"}],
                },
                headers=self._headers(ident),
            )
        events = [
            {**base, "choices": [{"text": p, "index": 0, "logprobs": None, "finish_reason": None}]}
            for p in _words(answer.text)
        ]
        return Reply(chunks=[sse(*events)], headers=self._headers(ident, stream=True))

    # -- the Responses API -----------------------------------------------------------------

    def _create_response(self, request: RecordedRequest) -> Action:
        body: Dict[str, Any] = request.json or {}
        if "input" not in body:
            return self._error(
                400, "Missing required parameter: 'input'.", "missing_required_parameter", "input"
            )
        previous = body.get("previous_response_id")
        if previous and previous not in self.responses:
            return self._error(
                400,
                f"Previous response with id '{previous}' not found.",
                "previous_response_not_found",
                "previous_response_id",
            )
        answer = self._next_answer(request, _last_user_text(body["input"]))
        if not isinstance(answer, (_Text, _Tools)):
            return answer
        ident = self._next_id("resp")
        output: List[Dict[str, Any]] = []
        for n, call in enumerate(answer.calls if isinstance(answer, _Tools) else []):
            output.append(
                {
                    "type": "function_call",
                    "id": f"fc_{ident}_{n}",
                    "status": "completed",
                    "call_id": call.call_id if call.call_id is not None else f"call_{ident[-4:]}_{n}",
                    "name": call.name,
                    "arguments": call.raw,
                }
            )
        text = answer.text
        if text is not None:
            output.append(
                {
                    "type": "message",
                    "id": f"msg_{ident}",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": text, "annotations": []}],
                }
            )
        if any(t.get("type") == "image_generation" for t in body.get("tools") or () if isinstance(t, dict)):
            output.append(
                {
                    "type": "image_generation_call",
                    "id": f"ig_{ident}",
                    "status": "completed",
                    "result": base64.b64encode(PNG_1X1).decode(),
                }
            )
        response = {
            "id": ident,
            "object": "response",
            "created_at": int(time.time()),
            "status": "completed",
            "model": body.get("model") or self.model,
            "instructions": body.get("instructions"),
            "previous_response_id": previous,
            "output": output,
            "tools": body.get("tools") or [],
            "usage": {
                "input_tokens": 5,
                "output_tokens": len((text or "").split()),
                "total_tokens": 5 + len((text or "").split()),
            },
            "store": body.get("store", True),
        }
        if response["store"]:
            self.responses[ident] = response
        if not body.get("stream"):
            return Reply(body=response, headers=self._headers(ident))
        sequence = iter(range(10_000))

        def event(kind: str, **fields: Any) -> tuple:
            return (kind, {"type": kind, "sequence_number": next(sequence), **fields})

        events = [event("response.created", response={**response, "status": "in_progress", "output": []})]
        for index, item in enumerate(output):
            events.append(
                event(
                    "response.output_item.added",
                    output_index=index,
                    item={
                        **item,
                        "status": "in_progress",
                        **({"content": []} if item["type"] == "message" else {}),
                    },
                )
            )
            if item["type"] == "message":
                for piece in _words(text or ""):
                    events.append(
                        event(
                            "response.output_text.delta",
                            item_id=item["id"],
                            output_index=index,
                            content_index=0,
                            delta=piece,
                        )
                    )
                events.append(
                    event(
                        "response.output_text.done",
                        item_id=item["id"],
                        output_index=index,
                        content_index=0,
                        text=text,
                    )
                )
            elif item["type"] == "function_call":
                events.append(
                    event(
                        "response.function_call_arguments.done",
                        item_id=item["id"],
                        output_index=index,
                        arguments=item["arguments"],
                    )
                )
            events.append(event("response.output_item.done", output_index=index, item=item))
        events.append(event("response.completed", response=response))
        chunks = [sse(e, done=False) for e in events]
        return Reply(chunks=chunks, headers=self._headers(ident, stream=True))

    def _response_by_id(self, request: RecordedRequest, ident: str, action: Optional[str]) -> Action:
        response = self.responses.get(ident)
        if response is None:
            return self._error(404, f"Response with id '{ident}' not found.")
        if request.method == "GET" and action is None:
            return Reply(body=response)
        if request.method == "DELETE" and action is None:
            del self.responses[ident]
            return Reply(body={"id": ident, "object": "response", "deleted": True})
        if request.method == "POST" and action == "cancel":
            response["status"] = "cancelled"
            return Reply(body=response)
        return self._error(405, f"{request.method} is not allowed on {request.path}")

    # -- embeddings, moderations, models, images ---------------------------------------------

    def _embeddings(self, request: RecordedRequest) -> Action:
        body = request.json or {}
        inputs = body.get("input")
        if inputs in (None, "", []):
            return self._error(400, "'input' is a required property", param="input")
        texts: Sequence[Any] = inputs if isinstance(inputs, list) else [inputs]
        dims = int(body.get("dimensions") or 8)
        data = []
        for index, text in enumerate(texts):
            digest = hashlib.sha256(json.dumps(text).encode()).digest()
            vector = [(digest[i % len(digest)] - 128) / 128 for i in range(dims)]
            norm = math.sqrt(sum(v * v for v in vector)) or 1.0
            embedding: Any = [round(v / norm, 6) for v in vector]
            if body.get("encoding_format") == "base64":
                import struct

                embedding = base64.b64encode(struct.pack(f"<{dims}f", *embedding)).decode()
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = sum(len(str(t).split()) for t in texts)
        return Reply(
            body={
                "object": "list",
                "data": data,
                "model": body.get("model") or "fake-embedding",
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    def _moderations(self, request: RecordedRequest) -> Action:
        body = request.json or {}
        inputs = body.get("input")
        texts = inputs if isinstance(inputs, list) else [inputs]
        results = []
        for text in texts:
            flagged = any(word in str(text).lower() for word in ("kill", "hurt"))
            results.append(
                {
                    "flagged": flagged,
                    "categories": {"violence": flagged},
                    "category_scores": {"violence": 0.9 if flagged else 0.001},
                }
            )
        return Reply(
            body={
                "id": self._next_id("modr"),
                "model": body.get("model") or "omni-moderation-latest",
                "results": results,
            }
        )

    def _models(self, request: RecordedRequest) -> Action:
        names = [self.model, "fake-embedding"]
        return Reply(
            body={
                "object": "list",
                "data": [
                    {"id": name, "object": "model", "created": 0, "owned_by": "openai-bindings"}
                    for name in names
                ],
            }
        )

    def _images(self, request: RecordedRequest) -> Action:
        body = request.json or {}
        if not body.get("prompt"):
            return self._error(400, "'prompt' is a required property", param="prompt")
        count = int(body.get("n") or 1)
        if body.get("response_format") == "url":
            item: Dict[str, Any] = {"url": self.url("/images/fake.png")}
        else:
            item = {"b64_json": base64.b64encode(PNG_1X1).decode()}
        return Reply(
            body={
                "created": int(time.time()),
                "data": [dict(item, revised_prompt=body["prompt"]) for _ in range(count)],
            }
        )

    # -- files -----------------------------------------------------------------------------

    def _upload(self, request: RecordedRequest) -> Action:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            return self._error(400, "Expected multipart/form-data")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.body
        )
        fields: Dict[str, Any] = {}
        upload: Optional[tuple] = None
        for part in message.iter_parts():
            name = str(part.get_param("name", header="content-disposition"))
            if part.get_filename():
                upload = (part.get_filename(), part.get_payload(decode=True) or b"")
            else:
                fields[name] = part.get_content().strip()
        if upload is None or not fields.get("purpose"):
            return self._error(400, "'file' and 'purpose' are required")
        ident = self._next_id("file")
        self.files[ident] = {
            "id": ident,
            "object": "file",
            "bytes": len(upload[1]),
            "created_at": int(time.time()),
            "filename": upload[0],
            "purpose": fields["purpose"],
        }
        self.file_contents[ident] = upload[1]
        return Reply(body=self.files[ident])

    def _list_files(self, request: RecordedRequest) -> Action:
        query = {k: v[-1] for k, v in request.query.items()}
        items = [
            f for f in self.files.values() if not query.get("purpose") or f["purpose"] == query["purpose"]
        ]
        if query.get("after"):
            ids = [f["id"] for f in items]
            items = items[ids.index(query["after"]) + 1 :] if query["after"] in ids else []
        limit = int(query.get("limit") or 10000)
        page = items[:limit]
        return Reply(
            body={
                "object": "list",
                "data": page,
                "has_more": len(items) > limit,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
            }
        )

    def _file_by_id(self, request: RecordedRequest, ident: str, action: Optional[str]) -> Action:
        if ident not in self.files:
            return self._error(404, f"No such File object: {ident}")
        if request.method == "GET" and action is None:
            return Reply(body=self.files[ident])
        if request.method == "GET" and action == "content":
            return Reply(body=self.file_contents[ident], headers={"Content-Type": "application/octet-stream"})
        if request.method == "DELETE" and action is None:
            del self.files[ident]
            self.file_contents.pop(ident, None)
            return Reply(body={"id": ident, "object": "file", "deleted": True})
        return self._error(405, f"{request.method} is not allowed on {request.path}")
