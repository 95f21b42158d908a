"""Streams of decoded events, sync and async, with what they add up to.

The decoding and the accumulation (text, merged chat messages, usage, the final
Responses object) are written once in ``StreamState``; ``Stream`` and
``AsyncStream`` differ only in how they pull bytes from the transport.
"""

from __future__ import annotations

import copy
import json
from typing import Any, AsyncGenerator, Callable, Dict, Generator, List, Optional

from .errors import StreamError
from .http import Headers, Response
from .sse import ServerSentEvent, SSEDecoder

__all__ = ["AsyncStream", "LegacyChunk", "Stream", "StreamState", "merge_chat_delta"]

DONE = "[DONE]"
#: After [DONE], read at most this much more to reach the end of the body (and reuse the connection).
DRAIN_LIMIT = 65536
Callback = Callable[[Any], Any]


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


def merge_chat_delta(message: Dict[str, Any], delta: Dict[str, Any]) -> None:
    """Merge one chat-completion delta into a message: strings concatenate, tool calls merge by index."""
    for key, value in delta.items():
        if value is None:
            continue
        if key == "tool_calls":
            calls: List[Dict[str, Any]] = message.setdefault("tool_calls", [])
            for position, part in enumerate(value):
                index = part.get("index", position)
                while len(calls) <= index:
                    calls.append({})
                _merge_call(calls[index], part)
        elif key == "role":
            message["role"] = value  # Gemini repeats the role in every delta: keep one
        elif key == "function_call":
            _merge_call(message.setdefault("function_call", {}), {"function": value}, legacy=True)
        elif isinstance(value, str) and isinstance(message.get(key), str):
            message[key] += value
        elif isinstance(value, list) and isinstance(message.get(key), list):
            message[key].extend(value)
        else:
            message[key] = copy.deepcopy(value)


def _merge_call(call: Dict[str, Any], part: Dict[str, Any], legacy: bool = False) -> None:
    for key, value in part.items():
        if key == "index" or value is None:
            continue
        if key == "function":
            target = call if legacy else call.setdefault("function", {})
            for fkey, fvalue in value.items():
                if fvalue is None:
                    continue
                if fkey == "arguments":
                    target["arguments"] = target.get("arguments", "") + fvalue
                elif fkey == "name" and target.get("name") and fvalue == target["name"]:
                    continue  # some servers repeat the name in every delta
                else:
                    target[fkey] = fvalue
        elif key == "id" and not value and call.get("id"):
            continue  # Gemini sends id "" in later deltas
        else:
            call[key] = value


class StreamState:
    """Turns bytes into events and keeps what they add up to. Knows no I/O."""

    def __init__(self, kind: str, *, legacy: bool = False, adjust: Optional[Callback] = None) -> None:
        self.kind = kind  # "chat", "completion", "responses" or "events"
        self.legacy = legacy
        self.adjust = adjust
        self.decoder = SSEDecoder()
        self.done = False
        self.choices: Dict[int, Dict[str, Any]] = {}
        self.finish_reasons: Dict[int, Optional[str]] = {}
        self.texts: Dict[int, List[str]] = {}
        self.usage: Optional[Dict[str, Any]] = None
        self.response: Optional[Dict[str, Any]] = None
        self.last: Any = None  # the last decoded payload (id, model, created live there)

    def feed(self, chunk: bytes) -> List[Any]:
        return self._events(self.decoder.feed(chunk))

    def end(self) -> List[Any]:
        return self._events(self.decoder.end())

    def _events(self, raw: List[ServerSentEvent]) -> List[Any]:
        out: List[Any] = []
        for sse in raw:
            if self.done:
                break
            if sse.data.strip() == DONE:
                self.done = True
                break
            payload = self._decode(sse)
            if self.adjust is not None:
                payload = self.adjust(payload)
            self._accumulate(payload)
            if self.legacy:
                out.extend(self._legacy_chunks(payload))
            else:
                out.append(payload)
        return out

    def _decode(self, sse: ServerSentEvent) -> Any:
        try:
            payload = json.loads(sse.data)
        except json.JSONDecodeError as error:
            shown = sse.data if len(sse.data) <= 200 else sse.data[:197] + "..."
            raise StreamError(
                f"the stream sent invalid JSON at line {sse.line} ({error.msg}): data: {shown!r}",
                body=sse.data,
            ) from None
        if isinstance(payload, dict):
            problem = None
            if sse.event == "error" or payload.get("type") == "error":
                problem = payload.get("error", payload)
            elif payload.get("error"):
                problem = payload["error"]
            elif payload.get("type") == "response.failed":
                problem = (payload.get("response") or {}).get("error") or {"message": "the response failed"}
            if problem is not None:
                raise _stream_error(problem, payload)
        return payload

    def _accumulate(self, payload: Any) -> None:
        if not isinstance(payload, dict):
            return
        self.last = payload
        if payload.get("usage"):
            self.usage = payload["usage"]  # Gemini repeats usage in every chunk: keep the last
        if self.kind == "responses":
            kind = payload.get("type", "")
            if kind == "response.output_text.delta":
                self.texts.setdefault(0, []).append(payload.get("delta", ""))
            elif kind in ("response.completed", "response.incomplete") and isinstance(
                payload.get("response"), dict
            ):
                self.response = payload["response"]
                self.usage = self.response.get("usage") or self.usage
            return
        for position, choice in enumerate(payload.get("choices") or ()):
            index = choice.get("index", position)
            if self.kind == "completion" or "text" in choice:
                piece = choice.get("text")
                if isinstance(piece, str):
                    self.texts.setdefault(index, []).append(piece)
            delta = choice.get("delta")
            if isinstance(delta, dict):
                message = self.choices.setdefault(index, {"role": "assistant", "content": None})
                merge_chat_delta(message, delta)
                if isinstance(delta.get("content"), str):
                    self.texts.setdefault(index, []).append(delta["content"])
            if choice.get("finish_reason") is not None:
                self.finish_reasons[index] = choice["finish_reason"]

    def _legacy_chunks(self, payload: Any) -> List[LegacyChunk]:
        chunks = []
        for position, choice in enumerate((payload or {}).get("choices") or ()):
            content = (choice.get("delta") or {}).get("content")
            if content:
                chunks.append(LegacyChunk(content, choice.get("index", position), payload))
        return chunks

    # -- what the stream adds up to ----------------------------------------------------

    def text_of(self, index: int = 0) -> str:
        return "".join(self.texts.get(index, ()))

    def message_of(self, index: int = 0) -> Optional[Dict[str, Any]]:
        message = self.choices.get(index)
        if message is None:
            return None
        message = copy.deepcopy(message)
        if message.get("tool_calls"):
            message["tool_calls"] = [call for call in message["tool_calls"] if call]
        return message


def _stream_error(error: Any, payload: Any) -> StreamError:
    if not isinstance(error, dict):
        return StreamError(f"the server reported an error mid-stream: {error}", body=payload)
    message = error.get("message") or "the server reported an error mid-stream"
    code = error.get("code")
    return StreamError(
        f"{message}" + (f" ({code})" if code else ""),
        body=payload,
        code=None if code is None else str(code),
        type=error.get("type"),
        param=error.get("param"),
    )


class _StreamBase:
    """What Stream and AsyncStream share: the state, metadata and the accumulated results."""

    def __init__(
        self,
        response: Response,
        state: StreamState,
        callback: Optional[Callback] = None,
    ) -> None:
        self.response = response
        self.state = state
        self.callback = callback
        self.status = response.status
        self.headers: Headers = response.headers
        self.request_id: Optional[str] = response.headers.get("x-request-id")

    def _deliver(self, events: List[Any]) -> List[Any]:
        if self.callback is not None:
            for event in events:
                self.callback(event)
        return events

    @property
    def closed(self) -> bool:
        return self.response.closed

    @property
    def text(self) -> str:
        """The text received so far (choice 0; for the Responses API, the output text)."""
        return self.state.text_of(0)

    @property
    def message(self) -> Optional[Dict[str, Any]]:
        """Chat: the merged assistant message of choice 0 (content, tool_calls, refusal...)."""
        return self.state.message_of(0)

    @property
    def messages(self) -> List[Dict[str, Any]]:
        """Chat: the merged message of every choice, in index order."""
        return [m for m in (self.state.message_of(i) for i in sorted(self.state.choices)) if m]

    @property
    def choices(self) -> List[Dict[str, Any]]:
        """Chat: every choice as a non-streamed response has it: index, message, finish_reason."""
        return [
            {
                "index": i,
                "message": self.state.message_of(i),
                "finish_reason": self.state.finish_reasons.get(i),
            }
            for i in sorted(self.state.choices)
        ]

    @property
    def completion(self) -> Optional[Dict[str, Any]]:
        """Chat: the whole stream folded into the ``chat.completion`` object a plain call returns."""
        last = self.state.last
        if not isinstance(last, dict) or self.state.kind != "chat":
            return None
        return {
            "id": last.get("id"),
            "object": "chat.completion",
            "created": last.get("created"),
            "model": last.get("model"),
            "choices": self.choices,
            "usage": self.state.usage,
        }

    @property
    def finish_reason(self) -> Optional[str]:
        return self.state.finish_reasons.get(0)

    @property
    def finish_reasons(self) -> Dict[int, Optional[str]]:
        return dict(self.state.finish_reasons)

    @property
    def usage(self) -> Optional[Dict[str, Any]]:
        return self.state.usage

    @property
    def final_response(self) -> Optional[Dict[str, Any]]:
        """Responses API: the response object from ``response.completed``."""
        return self.state.response

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.state.kind} status={self.status} closed={self.closed}>"


class Stream(_StreamBase):
    """A sync iterator of decoded events; closes its connection when done, on break or on error."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._iterator = self._iterate()

    def _iterate(self) -> Generator[Any, None, None]:
        drained = 0
        try:
            for chunk in self.response.iter_bytes():
                if self.state.done:  # read past [DONE] to the end, so the connection is reused
                    drained += len(chunk)
                    if drained > DRAIN_LIMIT:
                        return
                    continue
                yield from self._deliver(self.state.feed(chunk))
            yield from self._deliver(self.state.end())
        finally:
            self.response.close()

    def __iter__(self) -> Stream:
        return self

    def __next__(self) -> Any:
        return next(self._iterator)

    def until_done(self) -> Stream:
        """Consume the rest (calling the callback for each event); returns self."""
        for _ in self:
            pass
        return self

    def close(self) -> None:
        self._iterator.close()
        self.response.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncStream(_StreamBase):
    """The async twin of Stream: ``async for``, ``async with``, ``await stream.aclose()``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._iterator = self._iterate()

    async def _iterate(self) -> AsyncGenerator[Any, None]:
        drained = 0
        try:
            async for chunk in self.response.aiter_bytes():
                if self.state.done:
                    drained += len(chunk)
                    if drained > DRAIN_LIMIT:
                        return
                    continue
                for event in self._deliver(self.state.feed(chunk)):
                    yield event
            for event in self._deliver(self.state.end()):
                yield event
        finally:
            await self.response.aclose()

    def __aiter__(self) -> AsyncStream:
        return self

    async def __anext__(self) -> Any:
        return await self._iterator.__anext__()

    async def until_done(self) -> AsyncStream:
        async for _ in self:
            pass
        return self

    async def aclose(self) -> None:
        await self._iterator.aclose()
        await self.response.aclose()

    close = aclose

    async def __aenter__(self) -> AsyncStream:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
