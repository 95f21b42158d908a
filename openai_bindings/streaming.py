"""Streams of decoded events, sync and async, with what they add up to.

The per-event path is as short as it can be: the transport's chunks go to the
decoder and accumulator (``StreamState``), and the events come out of
``__next__`` from a list, with no generator in between.

A stream always lets go of its connection: when it is exhausted, on an error,
on ``close()`` / ``with``, when its client closes, and when it is no longer
referenced: a stream holds no reference back to itself (no generator over
``self``), so dropping it (``for e in stream: break``) closes the connection at
once, without waiting for the cyclic garbage collector.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Generic, List, NoReturn, Optional, TypeVar, Union

from ._boundary import Guard
from ._logging import logger
from ._observe import Observers
from .accumulate import DONE, ENDED, LegacyChunk, StreamState
from .errors import APIConnectionError, ClientClosedError, StreamError
from .http import Request, Response, in_memory, is_awaitable
from .result import expected_length, find_request_id

if TYPE_CHECKING:
    import asyncio
    import os

__all__ = ["DONE", "AsyncStream", "LegacyChunk", "Stream", "StreamState"]

#: After [DONE], read at most this much more to reach the end of the body (and reuse the connection).
DRAIN_LIMIT = 65536
Callback = Callable[[Any], Any]
#: What iterating a stream gives: a TypedDict of openai_bindings.types, bytes (speech), or Any.
EventT = TypeVar("EventT")
#: Closing coroutines scheduled by finalizers, kept alive until they ran.
_pending_closes: set = set()


class Watch:
    """What a stream needs to report its end to the observation hooks."""

    __slots__ = ("attempt", "observers", "sent", "started")

    def __init__(self, observers: Observers, started: float, sent: float, attempt: int) -> None:
        self.observers = observers
        self.started = started  # when the call's first attempt was sent
        self.sent = sent  # when this attempt was sent
        self.attempt = attempt


class _StreamBase(Generic[EventT]):
    """What Stream and AsyncStream share: the state machine, metadata and the accumulated results.

    Generic in the event type only for type checkers (``Stream[ChatCompletionChunk]``); since
    Python 3.9, ``Generic`` adds no work to building a stream or to any event.
    """

    def __init__(
        self,
        response: Response,
        state: StreamState,
        callback: Optional[Callback] = None,
        *,
        request: Optional[Request] = None,
        guard: Optional[Guard] = None,
        watch: Optional[Watch] = None,
        output_type: Any = None,
    ) -> None:
        self.response = response
        self.output_type = output_type
        self.state = state
        self.callback = callback
        self.request = request
        self.status = response.status
        self.headers = response.headers
        self.request_id: Optional[str] = find_request_id(response.headers)
        self._guard = guard or Guard((), "transport")
        self._watch = watch
        self._events: List[Any] = []
        self._index = 0
        self._finished = False
        self._received = 0
        self._drained = 0
        self._ended = False  # the body was read to its end (the last events may still be queued)
        self._aborted: Optional[BaseException] = None
        self._owner: Any = None  # the client, kept alive while the stream is

    # -- the state machine, shared by both flavours ------------------------------------------

    def _take(self) -> Any:
        """The next queued event, decoded as it is handed out (see ``StreamState.queue``), its
        callback called; ``ENDED`` when the queue holds no more. Raises the StreamError of an
        error event or a malformed one (the caller fails the stream with it)."""
        events = self._events
        state = self.state
        index = self._index
        while index < len(events):
            index += 1
            self._index = index
            event = state.decode(events[index - 1])
            if event is not ENDED:
                if self.callback is not None:
                    self.callback(event)
                return event
        return ENDED

    def _queue(self, chunk: bytes) -> bool:
        """Feed one chunk; queue what it completed (decoded as each is handed out). Whether it
        completed anything. Past [DONE], the chunk is drained."""
        self._received += len(chunk)
        state = self.state
        if state.done:
            self._drained += len(chunk)
            return False
        self._events = events = state.queue(chunk)
        self._index = 0
        return bool(events)

    def _at_end(self) -> bool:
        """The body ended: check its length, then queue what the decoder still held."""
        self._ended = True
        expected = expected_length(self.response.headers, self.request)
        if expected is not None and self._received < expected and not self.state.done:
            raise APIConnectionError(
                f"{self._where()}: the stream was cut off: {self._received} of {expected} bytes arrived"
            )
        self._events = events = self.state.queue_end()
        self._index = 0
        return bool(events)

    def _where(self) -> str:
        request = self.request
        return "the stream" if request is None else f"{request.method} {request.url.split('?', 1)[0]}"

    def _report_complete(self) -> None:
        watch = self._watch
        if watch is not None and watch.observers.complete is not None:
            Observers.call(
                watch.observers.complete,
                request=self.request,
                body=self.accumulated,
                elapsed=time.monotonic() - watch.started,
            )

    def _report_error(self, error: BaseException) -> None:
        if logger.isEnabledFor(10):
            logger.debug("%s: the stream failed after %d events: %s", self._where(), self.state.count, error)
        watch = self._watch
        if watch is not None and watch.observers.error is not None:
            Observers.call(
                watch.observers.error,
                request=self.request,
                error=error,
                elapsed=time.monotonic() - watch.sent,
                attempt=watch.attempt,
                final=True,
            )

    def _cut_off(self, error: BaseException) -> None:
        """Stopped from outside (its client closed, or the process forked): the next read raises
        ``error``, also when a chunk had brought several events and some were not handed out yet
        (they go with the rest of the body). The caller releases the response."""
        self._aborted = error
        self._events = []
        self._index = 0

    def __del__(self) -> None:
        # No reference cycle holds a stream, so this runs as soon as the last reference goes.
        if not self._finished:
            with contextlib.suppress(BaseException):
                _release(self.response, getattr(self, "_loop", None))

    # -- what the stream adds up to ----------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self.response.closed

    @property
    def text(self) -> str:
        """The text of the events handed out so far (choice 0; for the Responses API, the output text)."""
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
    def accumulated(self) -> Any:
        """What the stream adds up to: the chat.completion, the final response, or the text."""
        kind = self.state.kind
        if kind == "chat":
            return self.completion
        if kind in ("responses", "transcription"):
            return self.state.response
        if kind == "completion":
            last = self.state.last if isinstance(self.state.last, dict) else {}
            return {
                "id": last.get("id"),
                "object": "text_completion",
                "created": last.get("created"),
                "model": last.get("model"),
                "choices": [
                    {
                        "index": i,
                        "text": self.state.text_of(i),
                        "finish_reason": self.state.finish_reasons.get(i),
                    }
                    for i in sorted(self.state.texts)
                ],
                "usage": self.state.usage,
            }
        return None

    @property
    def finish_reason(self) -> Optional[str]:
        return self.state.finish_reasons.get(0)

    @property
    def finish_reasons(self) -> Dict[int, Optional[str]]:
        return dict(self.state.finish_reasons)

    @property
    def usage(self) -> Optional[Dict[str, Any]]:
        return self.state.usage

    def _structured(self) -> tuple[Any, Optional[str]]:
        if self.output_type is None:
            return None, None
        from .structured import parse_message, parse_response

        if self.state.kind == "responses":
            return parse_response(self.output_type, self.state.response)
        return parse_message(self.output_type, self.message, self.finish_reason)

    @property
    def parsed(self) -> Any:
        """A finished stream's answer parsed into the requested type (None without one, or on refusal)."""
        return self._structured()[0]

    @property
    def refusal(self) -> Optional[str]:
        """The refusal the model streamed, if it declined to answer in the requested format."""
        if self.output_type is None and self.state.kind == "chat":
            message = self.message
            return message.get("refusal") if message else None
        return self._structured()[1]

    @property
    def final_response(self) -> Optional[Dict[str, Any]]:
        """Responses API: the response object from ``response.completed``."""
        return self.state.response

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.state.kind} status={self.status} closed={self.closed}>"


class Stream(_StreamBase[EventT]):
    """A sync iterator of decoded events; closes its connection when done, on break or on error."""

    def __init__(
        self, response: Response, state: StreamState, callback: Optional[Callback] = None, **kw: Any
    ):
        super().__init__(response, state, callback, **kw)
        self._chunks = iter(response.stream)  # type: ignore[arg-type]

    def __iter__(self) -> Stream[EventT]:
        return self

    def __next__(self) -> EventT:
        while True:
            try:
                event = self._take()
            except StreamError as error:
                self._fail(error)
            if event is not ENDED:
                return event
            self._pull()

    def _pull(self) -> None:
        """Read until a chunk completes events (queued), or the end, or a failure (raised)."""
        state = self.state
        while True:
            if self._finished:
                raise StopIteration
            if self._aborted is not None:
                self._fail(self._aborted)
            if state.failed is not None:
                self._fail(state.failed)
            if self._ended or self._drained > DRAIN_LIMIT:  # past the end, or junk after [DONE]
                self._finish()
                raise StopIteration
            failure: Optional[BaseException] = None
            try:
                chunk = next(self._chunks)
            except StopIteration:
                try:
                    if self._at_end():
                        return
                except APIConnectionError as error:
                    failure = error
                else:
                    continue
            except Exception as error:
                failure = self._guard.error(error, self.request, "body")
            if failure is not None:
                if state.done and self._aborted is None:  # past [DONE] the answer is whole
                    self._finish()
                    raise StopIteration
                self._fail(self._aborted or failure)
            if self._queue(chunk):
                return

    def _finish(self) -> None:
        """The body ended well: release the connection, report the whole."""
        self._finished = True
        try:
            self.response.close()
        except Exception as error:  # the answer is whole: a failed release does not fail the call
            failure = self._guard.error(error, self.request, "close")
            logger.warning("%s: closing the finished stream failed: %s", self._where(), failure)
        self._report_complete()

    def _fail(self, error: BaseException) -> NoReturn:
        self._finished = True
        self._events = []  # nothing queued counts after a failure
        with contextlib.suppress(Exception):  # already failing: the first error is the one to report
            self.response.close()
        self._report_error(error)
        raise error

    def until_done(self) -> Stream[EventT]:
        """Consume the rest (calling the callback for each event); returns self."""
        for _ in self:
            pass
        return self

    def write_to_file(self, path: Union[str, os.PathLike[str]]) -> int:
        """A byte stream (``speech(..., stream=True)``) written to ``path`` as it arrives; its size."""
        written = 0
        with open(path, "wb") as target:
            for chunk in self:
                written += target.write(_as_bytes(chunk))
        return written

    def close(self) -> None:
        """Stop reading and let go of the connection (safe to call twice)."""
        if not self._finished:
            self._finished = True
            self._events = []
            try:
                self.response.close()
            except Exception as error:
                raise self._guard.error(error, self.request, "close") from None

    def __enter__(self) -> Stream[EventT]:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncStream(_StreamBase[EventT]):
    """The async twin of Stream: ``async for``, ``async with``, ``await stream.aclose()``."""

    def __init__(
        self, response: Response, state: StreamState, callback: Optional[Callback] = None, **kw: Any
    ):
        super().__init__(response, state, callback, **kw)
        source: Any = response.stream
        self._achunks: Any = None if in_memory(source) else source.__aiter__()
        self._chunks: Any = None if self._achunks is not None else iter(source)
        import asyncio  # already loaded: an async stream only exists under a running loop

        try:
            self._loop: Optional[asyncio.AbstractEventLoop] = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None

    def __aiter__(self) -> AsyncStream[EventT]:
        return self

    async def __anext__(self) -> EventT:
        while True:
            try:
                event = self._take()
            except StreamError as error:
                await self._fail(error)
            if event is not ENDED:
                return event
            await self._pull()

    async def _pull(self) -> None:
        """Read until a chunk completes events (queued), or the end, or a failure (raised)."""
        state = self.state
        while True:
            if self._finished:
                raise StopAsyncIteration
            if self._aborted is not None:
                await self._fail(self._aborted)
            if state.failed is not None:
                await self._fail(state.failed)
            if self._ended or self._drained > DRAIN_LIMIT:
                await self._finish()
                raise StopAsyncIteration
            failure: Optional[BaseException] = None
            try:  # the next chunk, read here rather than in a coroutine of its own (one per chunk)
                achunks = self._achunks
                chunk = await achunks.__anext__() if achunks is not None else next(self._chunks)
            except (StopAsyncIteration, StopIteration):
                try:
                    if self._at_end():
                        return
                except APIConnectionError as error:
                    failure = error
                else:
                    continue
            except Exception as error:
                failure = self._guard.error(error, self.request, "body")
            if failure is not None:
                if state.done and self._aborted is None:  # past [DONE] the answer is whole
                    await self._finish()
                    raise StopAsyncIteration
                await self._fail(self._aborted or failure)
            if self._queue(chunk):
                return

    async def _close_response(self) -> None:
        await self.response.aclose()

    async def _finish(self) -> None:
        self._finished = True
        try:
            await self._close_response()
        except Exception as error:
            failure = self._guard.error(error, self.request, "close")
            logger.warning("%s: closing the finished stream failed: %s", self._where(), failure)
        self._report_complete()

    async def _fail(self, error: BaseException) -> NoReturn:
        self._finished = True
        self._events = []  # nothing queued counts after a failure
        with contextlib.suppress(Exception):
            await self._close_response()
        self._report_error(error)
        raise error

    async def until_done(self) -> AsyncStream[EventT]:
        async for _ in self:
            pass
        return self

    async def write_to_file(self, path: Union[str, os.PathLike[str]]) -> int:
        """A byte stream written to ``path`` as it arrives (writes are small and local)."""
        written = 0
        with open(path, "wb") as target:  # chunks are small: no thread hop per chunk
            async for chunk in self:
                written += target.write(_as_bytes(chunk))
        return written

    async def aclose(self) -> None:
        """Stop reading and let go of the connection (safe to call twice)."""
        if not self._finished:
            self._finished = True
            self._events = []
            try:
                await self._close_response()
            except Exception as error:
                raise self._guard.error(error, self.request, "close") from None

    close = aclose

    async def __aenter__(self) -> AsyncStream[EventT]:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


def _release(response: Response, loop: Optional[asyncio.AbstractEventLoop]) -> None:
    """Close a response from a finalizer or another thread: at once when its transport's close is
    a plain function (every built-in's is), else scheduled on the loop it belongs to."""
    if response.closed:
        return
    response.closed = True
    close = response._close
    if close is None:
        return
    result = close()
    if not is_awaitable(result):
        return
    if loop is not None and not loop.is_closed():
        import asyncio

        def schedule() -> None:
            task = asyncio.ensure_future(result)
            _pending_closes.add(task)
            task.add_done_callback(_pending_closes.discard)

        try:
            loop.call_soon_threadsafe(schedule)
            return
        except RuntimeError:
            pass
    closer = getattr(result, "close", None)
    if closer is not None:
        closer()  # no loop left to run it: silence "never awaited"


def _as_bytes(chunk: Any) -> bytes:
    if not isinstance(chunk, (bytes, bytearray)):
        raise TypeError("write_to_file is for byte streams (speech); this stream carries decoded events")
    return bytes(chunk)


def aborted_error() -> ClientClosedError:
    return ClientClosedError("the client was closed while this stream was open; the stream is over")
