"""Legacy text completions (``POST /completions``), plain and streamed."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict

from ..server import Action, Reply
from .common import Call, Refused, error, now, sse
from .script import Text, count_tokens, words

if TYPE_CHECKING:
    from .common import FakeServer as FakeOpenAIServer


def create(fake: FakeOpenAIServer, call: Call) -> Action:
    body = call.body
    prompt = body.get("prompt")
    if prompt is None:
        raise Refused(
            error(
                400,
                "Missing required parameter: 'prompt'.",
                param="prompt",
                code="missing_required_parameter",
            )
        )
    answer = fake.script.next_text(f"echo: {prompt if isinstance(prompt, str) else json.dumps(prompt)}")
    if not isinstance(answer, Text):
        return answer
    ident = fake.new_id("cmpl", "-")
    base: Dict[str, Any] = {
        "id": ident,
        "object": "text_completion",
        "created": now(),
        "model": fake.model_for(body),
        "system_fingerprint": "fp_fake",
    }
    prompt_count = count_tokens(prompt)
    output = count_tokens(answer.text)
    usage = {
        "prompt_tokens": prompt_count,
        "completion_tokens": output,
        "total_tokens": prompt_count + output,
    }
    if not call.stream:
        choice = {"text": answer.text, "index": 0, "logprobs": None, "finish_reason": "stop"}
        return Reply(body={**base, "choices": [choice], "usage": usage})
    events = [
        {**base, "choices": [{"text": piece, "index": 0, "logprobs": None, "finish_reason": None}]}
        for piece in words(answer.text)
    ]
    events.append({**base, "choices": [{"text": "", "index": 0, "logprobs": None, "finish_reason": "stop"}]})
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append({**base, "choices": [], "usage": usage})
    return Reply(chunks=[sse(*events)], headers={"Content-Type": "text/event-stream; charset=utf-8"})


ROUTES = {"POST /completions": create}
