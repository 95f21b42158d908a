"""ChatSession (history kept here) and ResponsesChatSession (state kept by the server).

Every operation is a plan (see ``_drive``): written once, run blocking on
``OpenAI`` and awaited on ``AsyncOpenAI``, where ``session.send(...)`` returns
a coroutine.
"""

from __future__ import annotations

import base64
import binascii
import copy
import inspect
import json
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from ._drive import Call, Gather, Thread, run_async, run_sync
from .errors import OpenAIError, StreamError
from .schema import convert_arguments, function_schema, validate
from .streaming import LegacyChunk as SessionChunk
from .structured import StructuredOutputError
from .validation import ValidatedMessages, validate_message, validate_messages

__all__ = [
    "ChatSession",
    "ResponseObject",
    "ResponsesChatSession",
    "SessionChunk",
    "StructuredReply",
    "ToolCall",
    "ToolLoopError",
    "Usage",
    "validate_response_input",
]

#: Assistant-message fields a follow-up request accepts back (annotations are not among them).
FOLLOWUP_FIELDS = ("role", "content", "refusal", "name", "tool_calls", "function_call", "audio")


class ToolLoopError(OpenAIError):
    """The model kept asking for tools past ``max_turns``."""


#: The token counts a session totals, from either API's usage shape.
USAGE_KEYS = ("input_tokens", "output_tokens", "total_tokens", "cached_tokens", "reasoning_tokens")


class Usage(dict):
    """A session's token totals over every request it made (tool loops included).

    A dict (``usage["input_tokens"]``, JSON as it is) that also reads as attributes
    (``usage.input_tokens``); ``requests`` counts the requests that reported usage.
    """

    def __init__(self, values: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__({key: 0 for key in (*USAGE_KEYS, "requests")})
        for key, value in (values or {}).items():
            if key in self and isinstance(value, int) and not isinstance(value, bool):
                self[key] = value

    def __getattr__(self, name: str) -> int:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def add(self, usage: Any) -> None:
        """Add one request's usage (chat's prompt/completion names or the Responses API's)."""
        if not isinstance(usage, Mapping):
            return
        input_tokens = usage.get("input_tokens", usage.get("prompt_tokens"))
        output_tokens = usage.get("output_tokens", usage.get("completion_tokens"))
        input_details = usage.get("input_tokens_details") or usage.get("prompt_tokens_details") or {}
        output_details = usage.get("output_tokens_details") or usage.get("completion_tokens_details") or {}
        counts = {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": usage.get("total_tokens"),
            "cached_tokens": input_details.get("cached_tokens")
            if isinstance(input_details, Mapping)
            else None,
            "reasoning_tokens": (
                output_details.get("reasoning_tokens") if isinstance(output_details, Mapping) else None
            ),
        }
        if (
            counts["total_tokens"] is None
            and isinstance(input_tokens, int)
            and isinstance(output_tokens, int)
        ):
            counts["total_tokens"] = input_tokens + output_tokens
        for key, value in counts.items():
            if isinstance(value, int) and not isinstance(value, bool):
                self[key] += value
        self["requests"] += 1


class StructuredReply(str):
    """A reply's text that also carries it parsed into the session's ``response_format`` type.

    ``parsed`` is the instance (None when the model refused); ``refusal`` says why it refused.
    """

    parsed: Any
    refusal: Optional[str]

    def __new__(cls, text: Optional[str], parsed: Any, refusal: Optional[str]) -> StructuredReply:
        reply = super().__new__(cls, text or "")
        reply.parsed = parsed
        reply.refusal = refusal
        return reply


class ResponseObject(dict):
    """A Responses API response: the decoded JSON (every output item kept) plus helpers.

    With a Python type as the session's ``text_format``, ``parsed`` is the answer as an instance
    of it (None when the model refused; ``refusal`` says why).
    """

    output_type: Any = None

    @property
    def parsed(self) -> Any:
        return self._structured()[0]

    @property
    def refusal(self) -> Optional[str]:
        return self._structured()[1]

    def _structured(self) -> tuple[Any, Optional[str]]:
        if self.output_type is None:
            return None, None
        from .structured import parse_body

        return parse_body(self.output_type, self)

    @property
    def output_text(self) -> str:
        return self.get_output_text()

    def get_output_text(self) -> str:
        """All output_text parts of all message items, joined."""
        parts = []
        for item in self.get("output") or ():
            if isinstance(item, dict) and item.get("type") == "message":
                for part in item.get("content") or ():
                    if isinstance(part, dict) and part.get("type") == "output_text":
                        parts.append(part.get("text") or "")
        return "".join(parts)

    def get_images(self, decode: bool = True) -> List[Union[bytes, str]]:
        """Images from ``image_generation_call`` items: bytes, or the base64 strings with decode=False."""
        images: List[Union[bytes, str]] = []
        for item in self.get("output") or ():
            if isinstance(item, dict) and item.get("type") == "image_generation_call" and item.get("result"):
                data = item["result"]
                if decode:
                    try:
                        images.append(base64.b64decode(data, validate=True))
                        continue
                    except (binascii.Error, ValueError):
                        pass
                images.append(data)
        return images

    @property
    def function_calls(self) -> List[Dict[str, Any]]:
        """Each ``function_call`` item as name, call_id, arguments (parsed; None when not JSON), raw."""
        calls = []
        for item in self.get("output") or ():
            if isinstance(item, dict) and item.get("type") == "function_call":
                raw = item.get("arguments") or ""
                try:
                    parsed = json.loads(raw) if raw else {}
                except ValueError:
                    parsed = None
                calls.append(
                    {
                        "name": item.get("name"),
                        "call_id": item.get("call_id"),
                        "arguments": parsed,
                        "raw_arguments": raw,
                    }
                )
        return calls

    def __str__(self) -> str:
        return self.get_output_text()


@dataclass
class ToolCall:
    """One tool call the loop handled: what was asked, and what was sent back."""

    name: str
    call_id: str
    arguments: Any  # parsed JSON, or None when it did not parse
    raw_arguments: str
    result: Optional[str] = None  # the content sent back to the model
    error: Optional[str] = None  # set when the call failed (and the model was told so)


RESPONSE_ITEM_TYPES = ("input_text", "input_image", "input_file", "output_text", "refusal", "input_audio")


def validate_response_input(value: Any) -> None:
    """Check Responses API input: a string, or a list of messages and items."""
    if isinstance(value, str):
        if not value:
            raise ValueError("input must not be empty")
        return
    if not isinstance(value, Sequence) or not value:
        raise TypeError("input must be a string or a non-empty list of messages / items")
    for index, item in enumerate(value):
        where = f"input[{index}]"
        if not isinstance(item, Mapping):
            raise TypeError(f"{where} must be a dict, got {type(item).__name__}")
        kind = item.get("type", "message" if "role" in item else None)
        if kind is None:
            raise ValueError(f"{where} needs a 'type' (e.g. 'function_call_output') or a 'role'")
        if kind == "message":
            if item.get("role") not in ("user", "assistant", "system", "developer"):
                raise ValueError(
                    f"{where} has role {item.get('role')!r}; use user, assistant, system or developer"
                )
            content = item.get("content")
            if isinstance(content, str):
                continue
            if not isinstance(content, Sequence) or isinstance(content, (bytes, bytearray)):
                raise TypeError(f"{where}['content'] must be a string or a list of parts")
            for number, part in enumerate(content):
                if not isinstance(part, Mapping) or part.get("type") not in RESPONSE_ITEM_TYPES:
                    raise ValueError(
                        f"{where}['content'][{number}] must have a 'type' among "
                        + ", ".join(RESPONSE_ITEM_TYPES)
                    )
        elif kind == "function_call_output":
            if not item.get("call_id") or "output" not in item:
                raise ValueError(f"{where} (function_call_output) needs 'call_id' and 'output'")
        elif kind == "function_call" and not (item.get("call_id") and item.get("name")):
            raise ValueError(f"{where} (function_call) needs 'call_id', 'name' and 'arguments'")


def _takes_two(callback: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(callback).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


def _text_pieces(event: Any) -> Iterable[tuple[str, int]]:
    if not isinstance(event, dict):
        return
    if event.get("type") == "response.output_text.delta":
        yield event.get("delta") or "", 0
        return
    for position, choice in enumerate(event.get("choices") or ()):
        content = (choice.get("delta") or {}).get("content")
        if content:
            yield content, choice.get("index", position)


def _chunk_callback(callback: Optional[Callable[..., Any]]) -> Optional[Callable[[Any], None]]:
    """Adapt a session callback (chunk) or (chunk, raw_event) to the client's per-event callback."""
    if callback is None:
        return None
    two = _takes_two(callback)

    def on_event(event: Any) -> None:
        for text, index in _text_pieces(event):
            chunk = SessionChunk(text, index, event)
            if two:
                callback(chunk, event)
            else:
                callback(chunk)

    return on_event


class _Tools:
    """The tools a loop may call: the callables, their schemas, their definitions for the API."""

    def __init__(self, tools: Mapping[str, Callable[..., Any]], declared: Any) -> None:
        if not isinstance(tools, Mapping) or not tools:
            raise TypeError("run() needs tools={'name': callable, ...}")
        for name, fn in tools.items():
            if not callable(fn):
                raise TypeError(f"tool {name!r} must be callable, got {type(fn).__name__}")
        self.functions = dict(tools)
        self.schemas: Dict[str, Any] = {}
        self.declared = set()
        for definition in declared or ():
            function = definition.get("function", definition) if isinstance(definition, Mapping) else {}
            if function.get("name") in self.functions:
                self.schemas[function["name"]] = function.get("parameters")
                self.declared.add(function["name"])
        self.derived = {
            name: function_schema(fn, name)
            for name, fn in self.functions.items()
            if name not in self.declared
        }
        for name, definition in self.derived.items():
            self.schemas[name] = definition["function"]["parameters"]

    def definitions(self, declared: Any, flat: bool) -> Optional[List[Dict[str, Any]]]:
        """The tools parameter to send: what the session declared plus what was derived."""
        if not self.derived:
            return None
        extra = [{"type": "function", **d["function"]} if flat else d for d in self.derived.values()]
        return [*(declared or ()), *extra]

    def prepare(self, name: str, call_id: str, raw: str) -> tuple[ToolCall, Optional[Thread]]:
        """Parse and check one call: the record, and the step that runs it (None when it cannot run)."""
        record = ToolCall(name, call_id, None, raw)
        if name not in self.functions:
            record.error = f"unknown tool {name!r}; available tools: {', '.join(sorted(self.functions))}"
            return record, None
        try:
            record.arguments = json.loads(raw) if raw and raw.strip() else {}
        except json.JSONDecodeError as error:
            record.error = (
                f"the arguments are not valid JSON ({error.msg} at position {error.pos}): {raw[:200]!r}"
            )
            return record, None
        if not isinstance(record.arguments, dict):
            record.error = "the arguments must be a JSON object"
            return record, None
        problems = validate(record.arguments, self.schemas.get(name))
        if problems:
            record.error = "the arguments do not match the tool's schema: " + "; ".join(problems[:5])
            return record, None
        function = self.functions[name]
        try:  # a dataclass parameter receives a dataclass, an Enum one its member...
            arguments = convert_arguments(function, record.arguments)
        except (StructuredOutputError, TypeError, ValueError) as error:
            record.error = f"the arguments do not fit the tool: {error}"
            return record, None
        return record, Thread(function, **arguments)

    @staticmethod
    def finish(record: ToolCall, value: Any, error: Optional[BaseException]) -> str:
        if error is not None:
            record.error = f"the tool raised {type(error).__name__}: {error}"
        if record.error is not None:
            record.result = json.dumps({"error": record.error})
        else:
            record.result = value if isinstance(value, str) else json.dumps(value, default=str)
        return record.result


class _Session:
    """What both sessions share: the client, the driver choice, option merging, the tool loop."""

    def __init__(self, client: Any, options: Dict[str, Any]) -> None:
        self.client = client
        # A key given as None never overrides anything (as in the original).
        self.options = {key: value for key, value in options.items() if value is not None}
        self.usage = Usage()

    #: What ``to_dict`` writes as "kind", so ``from_dict`` can tell the two sessions apart.
    _kind: str = ""

    def _options_dict(self) -> Dict[str, Any]:
        """The options as JSON: a Python type for the output becomes the schema it stands for."""
        from .structured import is_type_spec, response_format_for, text_format_for

        out: Dict[str, Any] = {}
        for key, value in self.options.items():
            if key == "response_format" and is_type_spec(value):
                value = response_format_for(value)
            elif key == "text_format" and is_type_spec(value):
                out["text"] = {
                    **out.get("text", {}),
                    **(self.options.get("text") or {}),
                    **text_format_for(value),
                }
                continue
            out[key] = value
        try:
            json.dumps(out)
        except (TypeError, ValueError) as error:
            raise TypeError(
                f"the session's options cannot be saved as JSON ({error}); keep Python objects out of "
                "the options, or pass them again to from_dict(..., **options)"
            ) from None
        return out

    def _base_dict(self) -> Dict[str, Any]:
        return {"kind": self._kind, "version": 1, "options": self._options_dict(), "usage": dict(self.usage)}

    @classmethod
    def _check_dict(cls, data: Any) -> Dict[str, Any]:
        if not isinstance(data, Mapping) or data.get("kind") != cls._kind:
            kind = data.get("kind") if isinstance(data, Mapping) else None
            raise ValueError(
                f"{cls.__name__}.from_dict takes what {cls.__name__}.to_dict() made (kind {cls._kind!r}); "
                f"got {type(data).__name__} of kind {kind!r}"
            )
        if data.get("version") != 1:
            raise ValueError(
                f"unknown session format version {data.get('version')!r} (this library writes 1)"
            )
        return dict(data)

    def _drive(self, plan: Any) -> Any:
        return run_async(plan) if self.client.is_async else run_sync(plan)

    def _params(self, overrides: Dict[str, Any], callback: Any) -> Dict[str, Any]:
        params = {**self.options, **{k: v for k, v in overrides.items() if v is not None}}
        if callback is not None:
            params["stream"] = True
            params["stream_callback"] = _chunk_callback(callback)
        return params

    @staticmethod
    def _output_type(params: Dict[str, Any], name: str) -> Any:
        from .structured import is_type_spec

        value = params.get(name)
        return value if value is not None and is_type_spec(value) else None

    #: How tool definitions are written: chat nests them under "function", Responses does not.
    _flat_tools = False
    #: Where the caller can look after ToolLoopError; and the loop's API-specific parts,
    #: defined by each session: the first reply, its tool calls, answering them, the result.
    _history_name: str
    _first_reply: Callable[..., Any]
    _tool_calls: Callable[[Any], List[tuple[str, str, str]]]
    _answer_tools: Callable[..., Any]
    _final: Callable[[Any, Dict[str, Any]], Any]

    def _check_prompt(self, prompt: Any) -> None:
        """Refuse a bad prompt before anything is sent (chat messages are checked when appended)."""

    def run(
        self,
        prompt: Any,
        tools: Mapping[str, Callable[..., Any]],
        max_turns: int = 8,
        on_tool_call: Optional[Callable[[ToolCall], Any]] = None,
        stream_callback: Any = None,
        **overrides: Any,
    ) -> Any:
        """Send, run the tools the model asks for, send their results back, until it answers in text.

        ``tools`` maps names to callables (``async def`` ones too); their schemas come from the
        session's ``tools`` option, else from their signatures. Past ``max_turns`` model requests,
        ToolLoopError. Each handled call is shown to ``on_tool_call`` as a ToolCall.
        """
        if not isinstance(max_turns, int) or isinstance(max_turns, bool) or max_turns < 1:
            raise ValueError("max_turns must be a whole number >= 1")
        self._check_prompt(prompt)
        toolset = _Tools(tools, self.options.get("tools"))
        defined = toolset.definitions(self.options.get("tools"), flat=self._flat_tools)
        if defined is not None:
            overrides = {**overrides, "tools": defined}
        return self._drive(self._loop(prompt, toolset, max_turns, on_tool_call, stream_callback, overrides))

    def _loop(
        self,
        prompt: Any,
        tools: _Tools,
        max_turns: int,
        on_tool_call: Any,
        callback: Any,
        overrides: Dict[str, Any],
    ) -> Any:
        """Plan: reply, run the tools it asks for, answer them, until a reply asks for none."""
        reply = yield from self._first_reply(prompt, callback, overrides)
        for turn in range(max_turns):
            calls = self._tool_calls(reply)
            if not calls:
                return self._final(reply, overrides)
            if turn == max_turns - 1:
                break
            records = yield from self._run_tools(tools, calls, on_tool_call)
            reply = yield from self._answer_tools(reply, records, callback, overrides)
        raise ToolLoopError(
            f"the model still asked for tools after {max_turns} turns; raise max_turns, or look at the "
            f"tools' results in {self._history_name}"
        )

    def _run_tools(self, tools: _Tools, calls: List[tuple[str, str, str]], on_tool_call: Any) -> Any:
        """Plan: run the calls (concurrently on the async client), results in the calls' order."""
        prepared = [tools.prepare(name, call_id, raw) for name, call_id, raw in calls]
        runnable = [step for _, step in prepared if step is not None]
        outcomes = iter((yield Gather(runnable)) if runnable else [])
        records = []
        for record, step in prepared:
            value, error = next(outcomes) if step is not None else (None, None)
            tools.finish(record, value, error)
            if on_tool_call is not None:
                on_tool_call(record)
            records.append(record)
        return records


def _split_legacy(stream_callback: Any, overrides: Dict[str, Any]) -> Any:
    """The original's send(msg, opts_or_callback): a dict in the callback's place is options."""
    if isinstance(stream_callback, Mapping):
        overrides.update(stream_callback)
        return None
    if stream_callback is not None and not callable(stream_callback):
        raise TypeError("stream_callback must be callable: it is called with each piece of text")
    return stream_callback


class ChatSession(_Session):
    """A chat whose history is kept here, in ``messages`` (a plain list of dicts)."""

    def __init__(
        self, client: Any, messages: Optional[Sequence[Dict[str, Any]]] = None, **options: Any
    ) -> None:
        super().__init__(client, options)
        self.messages: List[Dict[str, Any]] = []
        if messages:
            self.append_message(*messages)

    def append_message(self, *messages: Any) -> None:
        """Validate, then append: a rejected message leaves the history untouched."""
        converted = [{"role": "user", "content": m} if isinstance(m, str) else m for m in messages]
        validate_messages(converted, start=len(self.messages))
        self.messages.extend(copy.deepcopy(converted))

    def last_message(self) -> Optional[Dict[str, Any]]:
        return self.messages[-1] if self.messages else None

    def send(self, message: Any, stream_callback: Any = None, **overrides: Any) -> Any:
        """Append a message (a string is a user message), get the reply, append it.

        Returns the reply's text, or the whole assistant message when it asks for tools.
        On an error the history is exactly what it was, so the same send can be retried.
        """
        return self._drive(self._send(message, _split_legacy(stream_callback, overrides), overrides))

    def generate_response(
        self, append_response: bool = True, stream_callback: Any = None, **overrides: Any
    ) -> Any:
        """Ask for a reply to the history as it stands (appending it unless told not to)."""
        callback = _split_legacy(stream_callback, overrides)
        return self._drive(self._reply(self._generate(append_response, callback, overrides), overrides))

    # -- persistence ---------------------------------------------------------------------------

    _kind = "chat"

    def to_dict(self) -> Dict[str, Any]:
        """The session as JSON-ready data: messages, options, usage (``from_dict`` restores it)."""
        return {**self._base_dict(), "messages": copy.deepcopy(self.messages)}

    @classmethod
    def from_dict(cls, client: Any, data: Mapping[str, Any], **options: Any) -> ChatSession:
        """A session restored from ``to_dict()``'s data, on ``client``; ``options`` override the saved
        ones (pass ``response_format=MyType`` again to get parsed replies)."""
        saved = cls._check_dict(data)
        session = cls(client, saved.get("messages") or None, **{**(saved.get("options") or {}), **options})
        session.usage = Usage(saved.get("usage"))
        return session

    # -- plans -------------------------------------------------------------------------------

    def _generate(self, append: bool, callback: Any, overrides: Dict[str, Any]) -> Any:
        params = self._params(overrides, callback)
        if params.get("stream") and "stream_options" not in params:
            params["stream_options"] = {"include_usage": True}  # so the session can count the tokens
        # Each message was checked when appended: do not check the whole history again per send.
        history = ValidatedMessages(self.messages)
        result = yield Call(self.client.create_chat_completion, history, **params)
        if params.get("stream"):
            if callback is None:  # stream=True given as an option: read it to the end here
                result = yield Call(result.until_done)
            message = result.message
            self.usage.add(result.usage)
        else:
            message = ((result.body or {}).get("choices") or [{}])[0].get("message")
            self.usage.add((result.body or {}).get("usage"))
        if not isinstance(message, dict):
            raise OpenAIError(f"the reply held no message: {str(result.body)[:200]!r}")
        message = _followup(message)
        if append:
            self.messages.append(message)
        return message

    def _reply(self, plan: Any, overrides: Dict[str, Any]) -> Any:
        message = yield from plan
        if message.get("tool_calls") or message.get("function_call"):
            return message
        return self._text(message, overrides)

    def _text(self, message: Dict[str, Any], overrides: Dict[str, Any]) -> Any:
        """The reply's text; with a Python type as response_format, parsed too (StructuredReply)."""
        output_type = self._output_type({**self.options, **overrides}, "response_format")
        if output_type is None:
            return message.get("content")
        from .structured import parse_message

        parsed, refusal = parse_message(output_type, message)
        return StructuredReply(message.get("content"), parsed, refusal)

    def _send(self, message: Any, callback: Any, overrides: Dict[str, Any]) -> Any:
        before = len(self.messages)
        self.append_message(message)
        try:
            return (yield from self._reply(self._generate(True, callback, overrides), overrides))
        except BaseException:
            del self.messages[before:]  # exactly as it was: the caller may simply retry
            raise

    # -- the tool loop's parts (the loop itself is _Session._loop) ---------------------------

    _history_name = "session.messages"

    def _first_reply(self, prompt: Any, callback: Any, overrides: Dict[str, Any]) -> Any:
        yield from self._send(prompt, callback, overrides)
        return self.messages[-1]

    @staticmethod
    def _tool_calls(message: Dict[str, Any]) -> List[tuple[str, str, str]]:
        if message.get("tool_calls"):
            return [
                (c["function"]["name"], c["id"], c["function"].get("arguments") or "")
                for c in message["tool_calls"]
            ]
        call = message.get("function_call")
        return [(call.get("name"), "", call.get("arguments") or "")] if call else []

    def _answer_tools(
        self, message: Dict[str, Any], records: List[ToolCall], callback: Any, overrides: Dict[str, Any]
    ) -> Any:
        if message.get("tool_calls"):
            self.append_message(
                *({"role": "tool", "tool_call_id": r.call_id, "content": r.result} for r in records)
            )
        else:  # legacy function calling: one call, answered by a "function" message
            self.append_message({"role": "function", "name": records[0].name, "content": records[0].result})
        return (yield from self._generate(True, callback, overrides))

    def _final(self, message: Dict[str, Any], overrides: Dict[str, Any]) -> Any:
        return self._text(message, overrides)


def _followup(message: Dict[str, Any]) -> Dict[str, Any]:
    """The reply as it belongs in the history: what a follow-up request accepts, normalised so a
    streamed and a plain reply give the same history."""
    kept = {key: copy.deepcopy(message[key]) for key in FOLLOWUP_FIELDS if message.get(key) is not None}
    kept.setdefault("role", "assistant")
    kept.setdefault("content", None)
    if "audio" in kept:
        kept["audio"] = {"id": kept["audio"].get("id")}
    if kept.get("tool_calls"):
        if kept["content"] == "":
            kept["content"] = None
        for number, call in enumerate(kept["tool_calls"]):
            call.setdefault("type", "function")
            if not call.get("id"):  # Gemini sends "": give the call an id its answer can name
                call["id"] = f"call_{number}"
    validate_message(kept)
    return kept


def _echoable(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    # Reasoning can only be sent back with its encrypted content when nothing is stored.
    return item.get("type") != "reasoning" or bool(item.get("encrypted_content"))


def _echo(item: Dict[str, Any]) -> Dict[str, Any]:
    """An output item as it goes back as input: unstored item ids would be looked up and fail."""
    dropped = ("status",) if item.get("type") == "reasoning" else ("status", "id")
    return {key: value for key, value in item.items() if key not in dropped}


class ResponsesChatSession(_Session):
    """A conversation whose state the server keeps, chained through ``previous_response_id``.

    With ``store=False`` (nothing kept by the server: zero data retention, or a stateless
    compatible server) or ``local_history=True``, the session keeps the items itself in
    ``items`` and sends them all each time instead of chaining: the inputs, and the output
    items echoed back (reasoning with its encrypted content, function calls, messages).
    """

    def __init__(
        self,
        client: Any,
        *,
        previous_response_id: Optional[str] = None,
        local_history: Optional[bool] = None,
        **options: Any,
    ) -> None:
        super().__init__(client, options)
        self.current_response_id: Optional[str] = previous_response_id
        self.response_history: List[ResponseObject] = []
        self.local_history = options.get("store") is False if local_history is None else bool(local_history)
        self.items: List[Dict[str, Any]] = []

    _flat_tools = True

    def _check_prompt(self, prompt: Any) -> None:
        validate_response_input(prompt)

    def send(self, input: Any, stream_callback: Any = None, **overrides: Any) -> Any:
        """Send input, chained to the last response; returns the response (``str()`` is its text)."""
        return self.create_response(input, stream_callback, **overrides)

    def create_response(self, input: Any, stream_callback: Any = None, **opts: Any) -> Any:
        """The lower-level call: any Responses parameter in ``opts`` overrides the session's."""
        callback = _split_legacy(stream_callback, opts)
        validate_response_input(input)
        return self._drive(self._create(input, callback, opts))

    def _create(self, input: Any, callback: Any, opts: Dict[str, Any]) -> Any:
        params = self._params(opts, callback)
        sent: List[Dict[str, Any]] = []
        if self.local_history:
            sent = (
                [{"role": "user", "content": input}] if isinstance(input, str) else [dict(i) for i in input]
            )
            input = self.items + sent
        elif "previous_response_id" not in opts and self.current_response_id:
            params["previous_response_id"] = self.current_response_id
        result = yield Call(self.client.create_response, input, **params)
        if params.get("stream"):
            if callback is None:
                result = yield Call(result.until_done)
            body = result.final_response
            if body is None:
                raise StreamError(
                    "the response stream ended without a response.completed event, so the session "
                    "cannot know the response; send again"
                )
        else:
            body = result.body
        if not isinstance(body, dict):
            raise OpenAIError(f"the reply was not a response object: {str(body)[:200]!r}")
        response = ResponseObject(body)
        response.output_type = self._output_type(params, "text_format")
        self.usage.add(body.get("usage"))
        if self.local_history:
            self.items = (
                self.items + sent + [_echo(item) for item in response.get("output") or () if _echoable(item)]
            )
        self.response_history.append(response)
        self.current_response_id = response.get("id") or self.current_response_id
        return response

    # -- the tool loop's parts (the loop itself is _Session._loop) ---------------------------

    _history_name = "session.response_history"

    def _first_reply(self, prompt: Any, callback: Any, overrides: Dict[str, Any]) -> Any:
        return (yield from self._create(prompt, callback, overrides))

    @staticmethod
    def _tool_calls(response: ResponseObject) -> List[tuple[str, str, str]]:
        return [(c["name"], c["call_id"], c["raw_arguments"]) for c in response.function_calls]

    def _answer_tools(
        self, response: ResponseObject, records: List[ToolCall], callback: Any, overrides: Dict[str, Any]
    ) -> Any:
        outputs = [
            {"type": "function_call_output", "call_id": r.call_id, "output": r.result} for r in records
        ]
        return (yield from self._create(outputs, callback, overrides))

    @staticmethod
    def _final(response: ResponseObject, overrides: Dict[str, Any]) -> Any:
        return response

    # -- persistence ---------------------------------------------------------------------------

    _kind = "responses"

    def to_dict(self) -> Dict[str, Any]:
        """The session as JSON-ready data: the chain (or the local items), options, usage, responses."""
        return {
            **self._base_dict(),
            "current_response_id": self.current_response_id,
            "local_history": self.local_history,
            "items": copy.deepcopy(self.items),
            "response_history": [dict(response) for response in self.response_history],
        }

    @classmethod
    def from_dict(cls, client: Any, data: Mapping[str, Any], **options: Any) -> ResponsesChatSession:
        """A session restored from ``to_dict()``'s data, on ``client``: the next send continues the chain
        (or the local history). ``options`` override the saved ones (``text_format=MyType``...)."""
        saved = cls._check_dict(data)
        session = cls(
            client,
            previous_response_id=saved.get("current_response_id"),
            local_history=bool(saved.get("local_history")),
            **{**(saved.get("options") or {}), **options},
        )
        session.items = copy.deepcopy(list(saved.get("items") or ()))
        session.response_history = [ResponseObject(r) for r in saved.get("response_history") or ()]
        session.usage = Usage(saved.get("usage"))
        return session
