"""FakeOpenAIServer: an OpenAI-compatible server on 127.0.0.1 with scripted answers.

Replies are made from what the request asked (streamed when ``stream`` is
true), so the same scripted text serves plain and streamed calls alike.
"""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any, Deque, Dict, List, Optional

from .server import Action, LocalServer, RecordedRequest, Reply

__all__ = ["FakeOpenAIServer", "sse"]


def sse(*events: Any, done: bool = True) -> bytes:
    """Encode events as a Server-Sent Events body (dicts as JSON ``data:`` lines)."""
    out = []
    for event in events:
        if isinstance(event, tuple):  # (event name, payload) for typed events
            name, payload = event
            out.append(f"event: {name}\ndata: {json.dumps(payload)}\n\n")
        else:
            out.append(f"data: {json.dumps(event)}\n\n")
    if done:
        out.append("data: [DONE]\n\n")
    return "".join(out).encode()


class FakeOpenAIServer(LocalServer):
    """Serves /v1/chat/completions and /v1/models; queue texts with ``reply_with``."""

    model = "fake-model"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._texts: Deque[str] = deque()
        self._counter = 0
        self.route("POST", "/v1/chat/completions", self._chat)
        self.route("GET", "/v1/models", self._models)

    @property
    def base_url(self) -> str:
        return self.url("/v1")

    def reply_with(self, *texts: str) -> None:
        """The next chat completions answer with these texts, in order."""
        self._texts.extend(texts)

    def _next_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}_{self._counter:04d}"

    def _text_for(self, request: RecordedRequest) -> str:
        if self._texts:
            return self._texts.popleft()
        messages = (request.json or {}).get("messages") or []
        last = messages[-1].get("content") if messages else ""
        return f"echo: {last}"

    def _chat(self, request: RecordedRequest) -> Action:
        body: Dict[str, Any] = request.json or {}
        text = self._text_for(request)
        model = body.get("model") or self.model
        ident = self._next_id("chatcmpl")
        created = int(time.time())
        usage = {
            "prompt_tokens": 5,
            "completion_tokens": len(text.split()),
            "total_tokens": 5 + len(text.split()),
        }
        if not body.get("stream"):
            return Reply(
                body={
                    "id": ident,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                },
                headers={"x-request-id": f"req_{ident}"},
            )
        base = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model}
        pieces: List[Optional[str]] = [word + " " for word in text.split(" ")]
        if pieces:
            pieces[-1] = pieces[-1][:-1]
        events = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
        events += [{**base, "choices": [{"index": 0, "delta": {"content": p}}]} for p in pieces]
        events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append({**base, "choices": [], "usage": usage})
        chunks = [sse(event, done=False) for event in events] + [b"data: [DONE]\n\n"]
        return Reply(
            chunks=chunks, headers={"Content-Type": "text/event-stream", "x-request-id": f"req_{ident}"}
        )

    def _models(self, request: RecordedRequest) -> Action:
        return Reply(
            body={
                "object": "list",
                "data": [
                    {"id": self.model, "object": "model", "created": 0, "owned_by": "openai-bindings"},
                ],
            }
        )
