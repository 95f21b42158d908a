"""What a stream adds up to, kept in time linear in its size, and knowing no I/O.

``StreamState`` turns bytes into decoded events (through the SSE decoder) and
folds each event into what it adds up to: the text, the merged chat message of
each choice (content and tool calls merged by index), the usage, the final
Responses object. Strings arrive in pieces and are kept as lists of pieces,
joined only when asked for: ``message[key] += piece`` on a dict value copies the
whole string every time, and a 32 MB stream would take hours.

Errors keep their place in the stream: a stream queues what each chunk completed
(``queue``) and decodes one event as it hands it out (``decode``), so the events
before an ``error`` event or a malformed one are delivered, then it raises;
``feed`` does both at once, returning the events before the failure and setting
``failed``. Whatever the network's chunking, the
user sees the same events and the same error. Any event of an unexpected shape
is a ``StreamError``, never an ``AttributeError`` or ``TypeError``.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from .errors import StreamError
from .result import _scan
from .sse import ServerSentEvent, SSEDecoder

__all__ = ["DONE", "ENDED", "LegacyChunk", "StreamState", "stream_error"]

DONE = "[DONE]"
#: What ``StreamState.decode`` gives for [DONE] and anything after it: no event to hand out.
ENDED: Any = type("Ended", (), {"__repr__": lambda self: "ENDED", "__slots__": ()})()
#: Event types that report a failure of the whole stream.
_FAILURES = ("error", "response.failed")
_SPACE = (" ", "\t", "\n", "\r")
#: Exceptions that mean "this event does not have the shape we expected".
_SHAPE_ERRORS = (AttributeError, TypeError, KeyError, ValueError, IndexError)


class LegacyChunk:
    """A piece of streamed text: ``str()`` is the text, ``index`` the choice, ``event`` the raw event.

    What the original's ``chat`` stream callback got (``{content, index}``), and what session
    stream callbacks get (as ``openai_bindings.sessions.SessionChunk``).
    """

    __slots__ = ("content", "event", "index")

    def __init__(self, content: str, index: int, event: Any = None) -> None:
        self.content = content
        self.index = index
        self.event = event

    def __str__(self) -> str:
        return self.content

    def __repr__(self) -> str:
        return f"LegacyChunk(content={self.content!r}, index={self.index})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LegacyChunk):
            return (self.content, self.index) == (other.content, other.index)
        if isinstance(other, dict):
            return other == {"content": self.content, "index": self.index}
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


class _Call:
    """One tool call (or the legacy function_call) being assembled from its deltas."""

    __slots__ = ("arguments", "extra", "id", "name", "type")

    def __init__(self) -> None:
        self.id: Optional[str] = None
        self.type: Optional[str] = None
        self.name: Optional[str] = None
        self.arguments: List[str] = []
        self.extra: Dict[str, Any] = {}

    def merge_function(self, function: Dict[str, Any]) -> None:
        for key, value in function.items():
            if value is None:
                continue
            if key == "arguments":
                if not isinstance(value, str):
                    raise TypeError(f"arguments must be a string, got {type(value).__name__}")
                self.arguments.append(value)
            elif key == "name":
                self.name = value  # some servers repeat the name in every delta: same value
            else:
                self.extra[key] = value

    def merge(self, part: Dict[str, Any]) -> None:
        for key, value in part.items():
            if value is None or key == "index":
                continue
            if key == "function":
                self.merge_function(value)
            elif key == "id":
                if value or not self.id:  # Gemini sends id "" in later deltas
                    self.id = value
            elif key == "type":
                self.type = value
            else:
                self.extra[key] = value

    def tool_call(self) -> Dict[str, Any]:
        function: Dict[str, Any] = {"name": self.name, "arguments": "".join(self.arguments)}
        call: Dict[str, Any] = {"id": self.id, "type": self.type or "function", "function": function}
        call.update(self.extra)
        return call

    def function_call(self) -> Dict[str, Any]:
        return {"name": self.name, "arguments": "".join(self.arguments), **self.extra}


class _Message:
    """One choice's assistant message being assembled: strings as lists of pieces, calls by index."""

    __slots__ = ("calls", "fields", "function", "strings")

    def __init__(self) -> None:
        self.fields: Dict[str, Any] = {"role": "assistant", "content": None}
        self.strings: Dict[str, List[str]] = {}
        self.calls: Dict[int, _Call] = {}
        self.function: Optional[_Call] = None

    def merge(self, delta: Dict[str, Any]) -> Optional[str]:
        """Fold one delta in; returns its content text (for the stream's text)."""
        content = None
        for key, value in delta.items():
            if value is None:
                continue
            if isinstance(value, str):
                if key == "role":
                    self.fields["role"] = value  # Gemini repeats the role in every delta: keep one
                    continue
                if key == "content":
                    content = value
                pieces = self.strings.get(key)
                if pieces is None:
                    self.strings[key] = pieces = []
                    self.fields[key] = None  # keeps the key's place in the message
                pieces.append(value)
            elif key == "tool_calls":
                for position, part in enumerate(value):
                    index = part.get("index", position)
                    call = self.calls.get(index)
                    if call is None:
                        self.calls[index] = call = _Call()
                        self.fields.setdefault("tool_calls", None)
                    call.merge(part)
            elif key == "function_call":
                if self.function is None:
                    self.function = _Call()
                    self.fields.setdefault("function_call", None)
                self.function.merge_function(value)
            elif key == "audio" and isinstance(value, dict):
                audio = self.fields.get("audio") or {}
                for name, piece in value.items():
                    if name in ("data", "transcript") and isinstance(piece, str):
                        audio[name] = audio.get(name, "") + piece  # small, and rare
                    else:
                        audio[name] = piece
                self.fields["audio"] = audio
            elif isinstance(value, list) and isinstance(self.fields.get(key), list):
                self.fields[key].extend(value)
            else:
                self.fields[key] = value
        return content

    def message(self) -> Dict[str, Any]:
        message: Dict[str, Any] = {}
        for key, value in self.fields.items():
            if key in self.strings:
                message[key] = "".join(self.strings[key])
            elif key == "tool_calls":
                message[key] = [self.calls[i].tool_call() for i in sorted(self.calls)]
            elif key == "function_call" and self.function is not None:
                message[key] = self.function.function_call()
            else:
                import copy  # here, not at import: a cold start that streams nothing need not load it

                message[key] = copy.deepcopy(value)
        return message


Accumulator = Callable[["StreamState", Any], Any]


class StreamState:
    """Bytes in, decoded events out, and what they add up to. Knows no I/O.

    ``kind``: "chat", "completion", "responses", "transcription", "events" (no
    accumulation: each event decoded, JSON when it parses, else its text), or "bytes"
    (not SSE at all: each chunk of the body as it arrives, for audio).
    """

    def __init__(
        self,
        kind: str,
        *,
        legacy: bool = False,
        adjust: Optional[Callable[[Any], Any]] = None,
    ) -> None:
        if kind not in _ACCUMULATORS:
            raise ValueError(f"unknown stream kind {kind!r}")
        self.kind = kind
        self.legacy = legacy
        self.adjust = adjust
        self._fold: Accumulator = _ACCUMULATORS[kind]
        self.decoder = SSEDecoder(strings=True)  # the usual event as its data str: see queue()
        self._lines: List[int] = []  # the line of each event queued, for error messages
        self._next = 0  # the position in the queue of the next event to decode
        self.done = False  # [DONE] was seen: nothing after it counts
        self.failed: Optional[StreamError] = None  # an error event or a malformed one
        self.choices: Dict[int, _Message] = {}
        self.finish_reasons: Dict[int, Optional[str]] = {}
        self.texts: Dict[int, List[str]] = {}
        self.usage: Optional[Dict[str, Any]] = None
        self.response: Optional[Dict[str, Any]] = None
        self.last: Any = None  # the last decoded payload (id, model, created live there)
        self.count = 0  # events delivered

    def feed(self, chunk: bytes) -> List[Any]:
        """The events completed by this chunk, decoded (those before any error; then ``failed`` is set)."""
        items = self.queue(chunk)
        return items if self.legacy else self._decoded(items)

    def end(self) -> List[Any]:
        """The events still held at the end of the body (a last event without its blank line)."""
        items = self.queue_end()
        return items if self.legacy else self._decoded(items)

    def queue(self, chunk: bytes) -> List[Any]:
        """What this chunk completed, for ``decode`` to make into events one at a time.

        A stream decodes each event as it hands it out, so a chunk of hundreds of events never
        holds hundreds of decoded payloads at once: each is four containers for the garbage
        collector, whose young generation they would fill and be promoted out of (at 100
        concurrent streams, collections took a quarter of the client's CPU). Byte streams and
        legacy chunks (several per payload) are made whole here.
        """
        if self.done or self.failed is not None:
            return []
        if self.kind == "bytes":
            self.count += 1
            return [chunk]
        return self._queued(self.decoder.feed(chunk))

    def queue_end(self) -> List[Any]:
        """``queue`` for the end of the body: the decoder's last event, if it lacked its blank line."""
        if self.done or self.failed is not None or self.kind == "bytes":
            return []
        return self._queued(self.decoder.end())

    def _queued(self, raw: List[Any]) -> List[Any]:
        """A fresh batch from the decoder: its events' lines kept for ``decode``; legacy chunks made."""
        self._lines = self.decoder.lines
        self._next = 0
        return self._decoded(raw) if raw and self.legacy else raw

    def decode(self, item: Any) -> Any:
        """One queued item as the event to hand out, decoded, checked and folded into the totals.

        ``ENDED`` for ``[DONE]`` and anything queued after it. An error event, or one that is
        not what its kind must be, raises ``StreamError`` (and sets ``failed``): the events
        before it were handed out, nothing after it counts.
        """
        kind = item.__class__
        if kind is str:  # the usual event: its data (see queue)
            data: str = item
        elif kind is ServerSentEvent:
            data = item.data
        else:
            return item  # bytes, or a legacy chunk: made whole by queue(), up to [DONE] or a failure
        position = self._next
        self._next = position + 1
        if self.done or self.failed is not None:
            return ENDED
        if data == DONE or (data[:1] in (" ", "[") and data.strip() == DONE):
            self.done = True
            return ENDED
        try:
            payload: Any = None
            if data[:1] == "{" and (kind is str or item.event != "error"):  # _decode's path, inline
                try:
                    payload, end = _scan(data, 0)
                except (StopIteration, ValueError):
                    payload = None  # _decode says what is wrong
                else:
                    if end != len(data) or "error" in payload or payload.get("type") in _FAILURES:
                        payload = None  # trailing text, or a reported failure: _decode decides
            if payload is None:
                payload = self._decode(item if kind is ServerSentEvent else self._event(data, position))
            if self.adjust is not None:
                payload = self.adjust(payload)
            self._fold(self, payload)
        except StreamError as error:
            self.failed = error
            raise
        except _SHAPE_ERRORS as error:
            self.failed = StreamError(
                f"the stream sent an event of an unexpected shape at line {self._line(position)} "
                f"({type(error).__name__}: {error}): {_shown(data)}",
                body=data,
            )
            raise self.failed from None
        if self.kind != "events":
            self.last = payload
        self.count += 1
        return payload

    def _line(self, position: int) -> int:
        lines = self._lines
        return lines[position] if position < len(lines) else 0

    def _event(self, data: str, position: int) -> ServerSentEvent:
        """The queued data string at ``position`` as the event it was, for the uncommon paths."""
        return ServerSentEvent(data, line=self._line(position))  # its id is not needed here

    def _decoded(self, items: List[Any]) -> List[Any]:
        """Every queued item decoded, up to [DONE] or a failure (which ``failed`` then holds);
        in legacy mode each payload as its legacy chunks."""
        out: List[Any] = []
        for item in items:
            try:
                event = self.decode(item)
            except StreamError:
                break
            if event is ENDED:
                break
            if self.legacy:
                chunks = _legacy_chunks(event)
                self.count += len(chunks) - 1  # decode() counted the payload once
                out.extend(chunks)
            else:
                out.append(event)
        return out

    def _decode(self, sse: ServerSentEvent) -> Any:
        data = sse.data
        try:
            start = 0 if data[:1] not in _SPACE else len(data) - len(data.lstrip())
            payload, end = _scan(data, start)  # json.loads without its two Python layers
            if end != len(data) and data[end:].strip():
                raise ValueError(f"extra data after the JSON value at column {end + 1}")
        except (StopIteration, ValueError) as error:
            if self.kind == "events":
                return data  # a generic stream may carry plain text
            reason = (
                f"nothing that parses at column {error.value + 1}"
                if isinstance(error, StopIteration)
                else error
            )
            raise StreamError(
                f"the stream sent invalid JSON at line {sse.line} ({reason}): data: {_shown(data)}",
                body=data,
            ) from None
        if payload.__class__ is dict:
            if "error" in payload or sse.event == "error" or payload.get("type") in _FAILURES:
                _raise_reported(sse, payload)
        elif sse.event == "error":
            raise stream_error(payload, payload)
        return payload

    # -- what the stream adds up to ----------------------------------------------------

    def text_of(self, index: int = 0) -> str:
        return "".join(self.texts.get(index, ()))

    def message_of(self, index: int = 0) -> Optional[Dict[str, Any]]:
        message = self.choices.get(index)
        return None if message is None else message.message()

    def append_text(self, index: int, piece: str) -> None:
        pieces = self.texts.get(index)
        if pieces is None:
            self.texts[index] = [piece]
        else:
            pieces.append(piece)


def _fold_chat(state: StreamState, payload: Any) -> None:
    if payload.__class__ is not dict:
        raise TypeError(f"a chat chunk must be a JSON object, got {type(payload).__name__}")
    usage = payload.get("usage")
    if usage:
        state.usage = usage  # Gemini repeats usage in every chunk: keep the last
    choices = payload.get("choices")
    if not choices:
        return
    for position, choice in enumerate(choices):
        index = choice.get("index", position)
        delta = choice.get("delta")
        if delta is not None:
            message = state.choices.get(index)
            if message is None:
                state.choices[index] = message = _Message()
            if delta:
                # The usual delta, more text of a content already begun: two appends, inline.
                content: Any = delta.get("content") if len(delta) == 1 else None
                pieces = message.strings.get("content") if content.__class__ is str else None
                texts = state.texts.get(index) if pieces is not None else None
                if pieces is not None and texts is not None:
                    pieces.append(content)
                    texts.append(content)
                else:
                    content = message.merge(delta)
                    if content is not None:
                        state.append_text(index, content)
        elif "text" in choice:  # a completion-shaped chunk on the chat endpoint
            _fold_text(state, index, choice)
        reason = choice.get("finish_reason")
        if reason is not None:
            state.finish_reasons[index] = reason


def _fold_text(state: StreamState, index: int, choice: Dict[str, Any]) -> None:
    piece = choice.get("text")
    if isinstance(piece, str):
        state.append_text(index, piece)


def _fold_completion(state: StreamState, payload: Any) -> None:
    if payload.__class__ is not dict:
        raise TypeError(f"a completion chunk must be a JSON object, got {type(payload).__name__}")
    if payload.get("usage"):
        state.usage = payload["usage"]
    for position, choice in enumerate(payload.get("choices") or ()):
        index = choice.get("index", position)
        _fold_text(state, index, choice)
        if choice.get("finish_reason") is not None:
            state.finish_reasons[index] = choice["finish_reason"]


def _fold_responses(state: StreamState, payload: Any) -> None:
    if payload.__class__ is not dict:
        raise TypeError(f"a Responses event must be a JSON object, got {type(payload).__name__}")
    kind = payload.get("type")
    if kind == "response.output_text.delta":
        delta = payload.get("delta", "")
        if not isinstance(delta, str):
            raise TypeError("response.output_text.delta needs a string delta")
        state.append_text(0, delta)
    elif kind in ("response.completed", "response.incomplete"):
        response = payload.get("response")
        if not isinstance(response, dict):
            raise TypeError(f"{kind} needs a response object")
        state.response = response
        state.usage = response.get("usage") or state.usage


def _fold_transcription(state: StreamState, payload: Any) -> None:
    if payload.__class__ is not dict:
        raise TypeError(f"a transcription event must be a JSON object, got {type(payload).__name__}")
    kind = payload.get("type")
    if kind == "transcript.text.delta":
        delta = payload.get("delta", "")
        if not isinstance(delta, str):
            raise TypeError("transcript.text.delta needs a string delta")
        state.append_text(0, delta)
    elif kind == "transcript.text.done":
        state.response = payload
        state.usage = payload.get("usage") or state.usage


def _fold_nothing(state: StreamState, payload: Any) -> None:
    pass


_ACCUMULATORS: Dict[str, Accumulator] = {
    "chat": _fold_chat,
    "completion": _fold_completion,
    "responses": _fold_responses,
    "transcription": _fold_transcription,
    "events": _fold_nothing,
    "bytes": _fold_nothing,
}


def _raise_reported(sse: ServerSentEvent, payload: Dict[str, Any]) -> None:
    """Raise the StreamError for an event that reports a failure (most events do not get here)."""
    kind = payload.get("type")
    if sse.event == "error" or kind == "error":
        raise stream_error(payload.get("error", payload), payload)
    problem = payload.get("error")
    if problem:
        raise stream_error(problem, payload)
    if kind == "response.failed":
        response = payload.get("response")
        reported = response.get("error") if isinstance(response, dict) else None
        raise stream_error(reported or {"message": "the response failed"}, payload)


def _legacy_chunks(payload: Any) -> List[LegacyChunk]:
    chunks = []
    for position, choice in enumerate(payload.get("choices") or ()):
        content = (choice.get("delta") or {}).get("content")
        if content:
            chunks.append(LegacyChunk(content, choice.get("index", position), payload))
    return chunks


def _shown(data: str) -> str:
    return repr(data if len(data) <= 200 else data[:197] + "...")


def stream_error(error: Any, payload: Any) -> StreamError:
    """The StreamError for an error the server reported inside a stream."""
    if not isinstance(error, dict):
        return StreamError(f"the server reported an error mid-stream: {error}", body=payload)
    message = error.get("message") or "the server reported an error mid-stream"
    code = error.get("code")
    kind = error.get("type")
    param = error.get("param")
    return StreamError(
        f"{message}" + (f" ({code})" if code else ""),
        body=payload,
        code=None if code is None else str(code),
        type=None if kind is None else str(kind),
        param=None if param is None else str(param),
    )
