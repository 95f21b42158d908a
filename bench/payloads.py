"""What the bench server answers and what every client asks: one definition, shared.

The answers are shaped like the real API's (every field a chat.completion or a
chat.completion.chunk carries), so each client decodes as much as it would in production.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

MODEL = "gpt-4o-mini-2024-07-18"
#: The request every client sends (run.py checks that their answers agree).
MESSAGES = [{"role": "user", "content": "Say hello"}]


def chat_completion() -> Dict[str, Any]:
    """A non-streamed answer as the API sends it (every field, ~600 bytes)."""
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Hello! How can I help you today?",
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 9,
            "completion_tokens": 9,
            "total_tokens": 18,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_bench",
    }


def _chunk(delta: Dict[str, Any], finish: Optional[str] = None) -> Dict[str, Any]:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": MODEL,
        "service_tier": "default",
        "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def stream_events(count: int) -> List[Dict[str, Any]]:
    """``count`` chat.completion.chunk events: the role, short contents, the finish."""
    words = (" Hello", " there", ",", " how", " can", " I", " help", " you", " today", "?")
    events = [_chunk({"role": "assistant", "content": "", "refusal": None})]
    events += [_chunk({"content": words[i % len(words)]}) for i in range(max(count - 2, 0))]
    events.append(_chunk({}, "stop"))
    return events


def accumulation_events(kib: int) -> List[Dict[str, Any]]:
    """Deltas of 1 KiB, content and tool-call arguments in turn, adding up to ``kib`` KiB."""
    piece = ("lorem ipsum dolor sit amet " * 40)[:1024]
    call = {"index": 0, "id": "call_bench", "type": "function", "function": {"name": "f", "arguments": ""}}
    events = [_chunk({"role": "assistant", "content": "", "tool_calls": [call]})]
    for i in range(kib):
        if i % 2:
            events.append(_chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
        else:
            events.append(_chunk({"content": piece}))
    events.append(_chunk({}, "tool_calls"))
    return events
