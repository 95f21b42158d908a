"""The model's side of the fake: scripted answers, ``tool_choice``, and answers built from schemas.

One queue of answers serves every model endpoint (chat, completions, Responses,
audio transcripts). ``tool_choice`` is honoured as the API promises: "required"
or a named function makes the answer a tool call, "none" makes it text. An
answer the request's ``tool_choice`` rules out stays queued for the next request.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Deque, Dict, List, Mapping, Optional, Tuple, Union

from ..server import Action

__all__ = [
    "Script",
    "ScriptedToolCall",
    "Text",
    "Tools",
    "count_tokens",
    "example_for",
    "last_user_text",
    "words",
]


@dataclass
class ScriptedToolCall:
    name: str
    arguments: Union[Dict[str, Any], str]  # a str is sent as it is (e.g. malformed JSON)
    call_id: Optional[str] = None

    @property
    def raw(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


@dataclass
class Text:
    text: str


@dataclass
class Tools:
    calls: List[ScriptedToolCall] = field(default_factory=list)
    text: Optional[str] = None


Answer = Union[Text, Tools]
Scripted = Union[Text, Tools, Action]


# -- text helpers -----------------------------------------------------------------------------


def last_user_text(messages: Any) -> str:
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


def words(text: str) -> List[str]:
    """The pieces a streamed text is cut into: each word with the space after it."""
    pieces = re.findall(r"\S+\s*|\s+", text)
    return pieces or [""]


def count_tokens(value: Any) -> int:
    """A stable stand-in for a tokenizer: the words of every string in ``value`` (at least 1)."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item.split())
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return max(total, 1)


# -- values from JSON schemas -----------------------------------------------------------------

_STRING_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def example_for(schema: Any, root: Optional[Mapping[str, Any]] = None, depth: int = 0) -> Any:
    """A value that satisfies ``schema`` (what a model asked for structured output would send)."""
    if not isinstance(schema, dict) or depth > 16:
        return None
    root = root if root is not None else schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        return example_for(target, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            usable = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            return example_for((usable or options)[0], root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties") or {}
        required = schema.get("required", list(properties))
        return {
            name: example_for(sub, root, depth + 1) for name, sub in properties.items() if name in required
        }
    if kind == "array":
        item = example_for(schema.get("items") or {}, root, depth + 1)
        return [item] * max(1, int(schema.get("minItems") or 1))
    if kind == "string":
        text = _STRING_FORMATS.get(str(schema.get("format")), "example")
        return text.ljust(int(schema.get("minLength") or 0), "x")
    if kind in ("integer", "number"):
        low: Any = schema.get("minimum", schema.get("exclusiveMinimum", 0)) or 0
        value = low + (1 if "exclusiveMinimum" in schema and "minimum" not in schema else 0)
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    return None


# -- tools and tool_choice ----------------------------------------------------------------------


def function_tools(body: Mapping[str, Any]) -> List[Tuple[str, Dict[str, Any]]]:
    """(name, parameters schema) of each function the request offers (chat, Responses, legacy)."""
    found: List[Tuple[str, Dict[str, Any]]] = []
    for tool in body.get("tools") or ():
        if not isinstance(tool, dict) or tool.get("type") != "function":
            continue
        spec: Dict[str, Any] = tool["function"] if isinstance(tool.get("function"), dict) else tool
        if isinstance(spec.get("name"), str):
            found.append((spec["name"], spec.get("parameters") or {}))
    for function in body.get("functions") or ():
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            found.append((function["name"], function.get("parameters") or {}))
    return found


def _choice(body: Mapping[str, Any]) -> Tuple[str, Optional[str]]:
    """The request's tool choice as (mode, function name): mode is auto, none or required."""
    choice = body.get("tool_choice", body.get("function_call"))
    if choice in ("none", "auto", "required"):
        return str(choice), None
    if isinstance(choice, dict):
        if choice.get("type") == "allowed_tools":
            allowed: Dict[str, Any] = (
                choice["allowed_tools"] if isinstance(choice.get("allowed_tools"), dict) else choice
            )
            names = [
                (t.get("function") or {}).get("name") or t.get("name")
                for t in allowed.get("tools") or ()
                if isinstance(t, dict) and t.get("type") == "function"
            ]
            mode = "required" if allowed.get("mode") == "required" else "auto"
            return mode, (names[0] if mode == "required" and names else None)
        function: Dict[str, Any] = choice["function"] if isinstance(choice.get("function"), dict) else choice
        if isinstance(function.get("name"), str):
            return "required", function["name"]
    return "auto", None


class Script:
    """The queue of scripted answers, thread-safe, and the rule that picks the next one."""

    def __init__(self) -> None:
        self._queue: Deque[Scripted] = deque()
        self._lock = threading.Lock()

    def push(self, *answers: Scripted) -> None:
        with self._lock:
            self._queue.extend(answers)

    def __len__(self) -> int:
        return len(self._queue)

    def next_text(self, fallback: str) -> Union[Text, Action]:
        """For endpoints without tools (completions, transcripts): the next text or scripted fault."""
        with self._lock:
            head = self._queue[0] if self._queue else None
            if head is not None and not isinstance(head, Tools):
                return self._queue.popleft()  # type: ignore[return-value]
        return Text(fallback)

    def next_answer(self, body: Mapping[str, Any], fallback: str) -> Union[Answer, Action]:
        """The answer to a chat or Responses request, with its ``tool_choice`` honoured."""
        mode, name = _choice(body)
        offered = function_tools(body)
        if name is not None and name not in [n for n, _ in offered]:
            offered = []
        with self._lock:
            head = self._queue[0] if self._queue else None
            if head is not None and not isinstance(head, (Text, Tools)):
                return self._queue.popleft()  # a scripted fault applies whatever the request asked
            if isinstance(head, Text) and (mode != "required" or not offered):
                return self._queue.popleft()
            if isinstance(head, Tools) and mode != "none" and all(name in (None, c.name) for c in head.calls):
                return self._queue.popleft()
        if mode == "required" and offered:
            chosen, parameters = next(((n, p) for n, p in offered if name in (None, n)), offered[0])
            return Tools([ScriptedToolCall(chosen, example_for(parameters) or {})])
        return Text(fallback)


def structured_fallback(body: Mapping[str, Any], echo: str) -> str:
    """The unscripted answer: the echo, or a value of the asked JSON schema / a JSON object."""
    fmt: Any = body.get("response_format")
    text = body.get("text")
    if isinstance(text, dict) and isinstance(text.get("format"), dict):
        fmt = text["format"]
    if isinstance(fmt, dict):
        if fmt.get("type") == "json_schema":
            spec: Dict[str, Any] = fmt["json_schema"] if isinstance(fmt.get("json_schema"), dict) else fmt
            return json.dumps(example_for(spec.get("schema") or {}))
        if fmt.get("type") == "json_object":
            return json.dumps({"echo": echo})
    return f"echo: {echo}"
