"""Choosing a transport, as lua-openai picks its HTTP module, and adapting sync ones to async.

Order: an explicit ``transport=`` (name, class or instance), then the
``OPENAI_BINDINGS_TRANSPORT`` environment variable, then ``choose_transport``
hooks (the built-in one runs last: aiohttp / urllib3 when importable, else the
standard library).
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any, Dict, List, Mapping, Optional

from ._drive import HAS_THREADS
from .errors import PluginError
from .http import Request, Response, ThisProcess, WholeBody
from .plugins import Registered, get_registry

__all__ = [
    "NETWORK_OPTIONS",
    "TRANSPORT_ENV",
    "ThreadedAsyncTransport",
    "is_async_transport",
    "resolve_transport",
]

TRANSPORT_ENV = "OPENAI_BINDINGS_TRANSPORT"
_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE
#: The client options a transport built from a name or a class receives as keyword arguments.
NETWORK_OPTIONS = ("proxy", "verify", "trust_env")


def is_async_transport(transport: Any) -> bool:
    send = getattr(transport, "send", None)
    code = getattr(getattr(send, "__func__", send), "__code__", None)
    if code is not None:
        return bool(code.co_flags & _CO_COROUTINE)  # what inspect checks, without importing it
    import inspect

    return inspect.iscoroutinefunction(send)


def _describe_available(table: dict[str, Registered]) -> str:
    parts = []
    for entry in sorted(table.values(), key=lambda e: e.name):
        note = "" if entry.usable else f" (needs {entry.install_hint})" if entry.missing else " (not here)"
        parts.append(f"{entry.name}{note}")
    return ", ".join(parts) or "none"


def resolve_transport(
    spec: Any,
    *,
    is_async: bool,
    provider: str = "openai",
    options: Optional[Mapping[str, Any]] = None,
) -> Any:
    """Turn what the caller gave (or nothing) into a transport instance fit for the client.

    ``options`` holds only the network options the user set explicitly on the client
    (``proxy``, ``verify``, ``trust_env``). A transport built here from a name or a class
    gets them as keyword arguments; one that cannot take one of them is refused with a
    ``PluginError`` rather than silently ignoring it. An instance is used as it is, so
    options given together with one are a ``TypeError``: they belong to the instance.
    """
    options = dict(options or {})
    unknown = sorted(set(options) - set(NETWORK_OPTIONS))
    if unknown:
        raise TypeError(f"unknown transport option(s) {unknown}; the options are {list(NETWORK_OPTIONS)}")
    if spec is None:
        source = f"{TRANSPORT_ENV}={os.environ.get(TRANSPORT_ENV)!r}"
        spec = os.environ.get(TRANSPORT_ENV) or None
        if spec is None:
            spec = get_registry().choose_transport(is_async, provider)
            source = "the choose_transport hook"
            if spec is None:
                spec = "stdlib"
    else:
        source = "transport="
    if isinstance(spec, str):
        instance = _build(spec.strip(), source, options)
    elif isinstance(spec, type):
        instance = _construct(spec, getattr(spec, "name", spec.__name__), options)
    elif callable(getattr(spec, "send", None)):
        if options:
            given = ", ".join(f"{name}=" for name in options)
            raise TypeError(
                f"{given} cannot apply to a transport instance ({type(spec).__name__}): give the "
                f"option(s) to the instance when you make it (e.g. {type(spec).__name__}({given}...)), "
                "or pass transport= as a name or a class so the client builds it with them"
            )
        instance = spec
    else:
        raise TypeError(
            "transport must be a registered name (see `openai-bindings plugins`), a transport "
            f"class, or an instance with a send(request) method; got {type(spec).__name__}"
        )
    if is_async_transport(instance):
        if not is_async:
            raise PluginError(
                f"transport {getattr(instance, 'name', instance)!r} is async-only: use "
                "openai_bindings.AsyncOpenAI, or a sync transport such as 'urllib3' or 'stdlib'"
            )
        return instance
    if not is_async:
        return instance
    return ThreadedAsyncTransport(instance) if HAS_THREADS else InlineAsyncTransport(instance)


def _build(name: str, source: str, options: Dict[str, Any]) -> Any:
    table = get_registry().transports
    entry = table.get(name)
    if entry is None:
        raise PluginError(
            f"unknown transport {name!r} (from {source}); available transports: {_describe_available(table)}"
        )
    if not entry.usable:
        raise PluginError(
            f"transport {name!r} is not usable here: it {entry.unusable_reason}; usable here: "
            + ", ".join(sorted(e.name for e in table.values() if e.usable))
        )
    return _construct(entry.cls, name, options)


def _construct(cls: type, name: str, options: Dict[str, Any]) -> Any:
    """``cls(**options)``, refusing clearly when the class cannot take an option the user set."""
    if not options:
        return cls()
    refused = [option for option in options if not accepts_keyword(cls, option)]
    if refused:
        option = refused[0]
        raise PluginError(
            f"transport {name!r} ({cls.__module__}.{cls.__qualname__}) does not accept the "
            f"{option}= option given to the client, so it cannot honour it. Use a transport that "
            "does (stdlib, urllib3 and aiohttp all do), configure this one yourself and pass the "
            f"instance as transport=, or leave {option}= out"
        )
    return cls(**options)


def accepts_keyword(callable_: Any, name: str) -> bool:
    """True when ``callable_(name=...)`` is accepted (a named parameter, or ``**kwargs``)."""
    import inspect  # only when the client has network options to pass

    try:
        parameters = inspect.signature(callable_).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(
        (p.name == name and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)) or p.kind == p.VAR_KEYWORD
        for p in parameters
    )


class ThreadedAsyncTransport:
    """Runs a sync transport in a thread per exchange, so any sync transport serves AsyncOpenAI.

    This is how the standard-library transport works under asyncio with nothing
    else installed. One thread sends the request and reads the body as it
    arrives; the event loop is woken (``call_soon_threadsafe``) only when it is
    waiting for more, and whatever arrived meanwhile is handed over as one chunk,
    so a stream costs one wake-up per burst, not an executor round trip per chunk.
    The reader stops reading ahead once ``READ_AHEAD`` bytes wait unclaimed.
    """

    READ_AHEAD = 1 << 20

    def __init__(self, sync: Any) -> None:
        self.sync = sync
        self.name = getattr(sync, "name", type(sync).__name__)

    async def send(self, request: Request) -> Response:
        import asyncio

        loop = asyncio.get_running_loop()
        exchange = _Exchange(loop, self.READ_AHEAD)
        exchange.head = loop.create_future()
        _READERS.run(exchange.run, self.sync, request)
        try:
            response: Response = await exchange.head
        except asyncio.CancelledError:
            exchange.close()  # the thread closes the response as soon as it has one
            raise
        finally:
            exchange.head = None  # a failure's traceback holds this frame: leave no cycle through it
        whole = exchange.whole()
        if whole is not None:  # a small answer: read and released while the loop woke up
            return Response(status=response.status, headers=response.headers, stream=whole)
        body = _Body(exchange)
        weakref.finalize(body, exchange.close)  # dropped without a close: the reader stops anyway
        return Response(status=response.status, headers=response.headers, stream=body, close=exchange.close)

    async def close(self) -> None:
        import asyncio

        close = getattr(self.sync, "close", None)
        if close is not None:
            await asyncio.to_thread(close)

    def __repr__(self) -> str:
        return f"<ThreadedAsyncTransport {self.sync!r}>"


class _Readers:
    """The reader threads: one per exchange while it lasts, kept a while when idle for the next.

    Starting a thread costs ~70 µs of CPU and more of latency; handing a job to a parked one,
    a few. An idle reader leaves after ``IDLE`` seconds. After ``os.fork()`` the child has none
    of the parent's threads, so it forgets the parked ones and starts its own.
    """

    IDLE = 30.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parked: List[Any] = []  # each parked reader's job queue
        self._pid = ThisProcess.pid

    def run(self, fn: Any, *args: Any) -> None:
        job = (fn, args)
        with self._lock:
            if self._pid != ThisProcess.pid:
                self._parked, self._pid = [], ThisProcess.pid
            inbox = self._parked.pop() if self._parked else None
        if inbox is not None:
            inbox.put(job)
            return
        threading.Thread(target=self._serve, args=(job,), name="openai-bindings-reader", daemon=True).start()

    def _serve(self, job: Any) -> None:
        import queue

        inbox: Any = queue.SimpleQueue()
        while True:
            fn, args = job
            job = None
            fn(*args)
            del fn, args  # hold nothing of a finished exchange while parked
            with self._lock:
                self._parked.append(inbox)
            try:
                job = inbox.get(timeout=self.IDLE)
            except queue.Empty:
                with self._lock:
                    if inbox in self._parked:
                        self._parked.remove(inbox)
                        return
                job = inbox.get()  # taken just as the wait ended: its job is on the way


_READERS = _Readers()


class _Exchange:
    """What the reader thread and the event loop share for one response (no async-side object)."""

    __slots__ = (
        "chunks",
        "closed",
        "error",
        "finished",
        "head",
        "limit",
        "lock",
        "loop",
        "response",
        "room",
        "size",
        "waiter",
    )

    def __init__(self, loop: Any, limit: int) -> None:
        self.loop = loop
        self.limit = limit
        self.lock = threading.Lock()
        self.room = threading.Event()  # set while the reader may read ahead
        self.room.set()
        self.head: Any = None
        self.chunks: List[bytes] = []
        self.size = 0
        self.finished = False
        self.error: Optional[BaseException] = None
        self.closed = False
        self.response: Optional[Response] = None
        self.waiter: Any = None  # the loop's future while the consumer waits for data

    # -- the reader thread ------------------------------------------------------------------

    def run(self, sync: Any, request: Request) -> None:
        try:
            response = sync.send(request)
        except BaseException as error:
            self._post(self._resolve_head, None, error)
            return
        with self.lock:
            self.response = response
            closed = self.closed
        if closed or not self._post(self._resolve_head, response, None):
            response.close()
            return
        room = self.room
        lock = self.lock
        # The transport's own iterator, not iter_bytes(): one generator less per chunk.
        chunks = iter(response.stream)
        try:
            for chunk in chunks:
                if not chunk:
                    continue
                with lock:
                    if self.closed:
                        break
                    self.chunks.append(chunk)
                    self.size += len(chunk)
                    waiter, self.waiter = self.waiter, None
                    if self.size >= self.limit:
                        room.clear()
                if waiter is not None:
                    self._post(_wake, waiter)
                if not room.is_set():  # the consumer is READ_AHEAD behind: wait for it
                    while not room.wait(1.0):
                        if self.closed:
                            break
        except BaseException as error:
            if not self.closed:  # after a close, a failing read is the close itself
                self.error = error
        finally:
            try:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()  # a generator stopped early: its cleanup now, not when collected
            finally:
                response.close()  # released when read to the end, else its connection closed
            with self.lock:
                self.finished = True
                waiter, self.waiter = self.waiter, None
            if waiter is not None:
                self._post(_wake, waiter)

    def _post(self, callback: Any, *args: Any) -> bool:
        try:
            self.loop.call_soon_threadsafe(callback, *args)
            return True
        except RuntimeError:  # the loop is closed: nobody will read this response
            self.close()
            return False

    def _resolve_head(self, response: Optional[Response], error: Optional[BaseException]) -> None:
        head = self.head
        if head is None or head.done():  # the send was cancelled meanwhile
            self.close()
        elif error is not None:
            head.set_exception(error)
        else:
            head.set_result(response)

    # -- the event loop's side ----------------------------------------------------------------

    def take(self) -> Any:
        """The bytes waiting (joined), or a future to await, or None at the end."""
        with self.lock:
            chunks = self.chunks
            if chunks:
                self.chunks = []
                self.size = 0
                room = self.room
                if not room.is_set():  # the reader waits for room: let it read on. (Event.set()
                    room.set()  # takes a Condition and notifies: not for every chunk taken)
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
            if self.finished:
                error, self.error = self.error, None
                if error is not None:
                    try:
                        raise error
                    finally:
                        del error  # this frame is in the traceback: it must not hold the error
                return None
            self.waiter = waiter = self.loop.create_future()
            return waiter

    def whole(self) -> Optional[WholeBody]:
        """The whole body, when the reader has read it all without a failure (and released the
        response): then the loop side needs no body iterator and no wake-up at all."""
        with self.lock:
            if not self.finished or self.error is not None:
                return None
            chunks, self.chunks = self.chunks, []
        return WholeBody(chunks)

    def close(self) -> None:
        """Stop reading and release the response: sync, idempotent, callable from any thread."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
            response = self.response
        self.room.set()
        if response is not None:
            response.close()  # wakes a read blocked in the reader thread (the built-ins shut down)


class _Body:
    """The async side of the body: takes what the reader thread has, waits only when there is none."""

    __slots__ = ("__weakref__", "exchange")

    def __init__(self, exchange: _Exchange) -> None:
        self.exchange = exchange

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        exchange = self.exchange
        while True:
            taken = exchange.take()
            if taken is None:
                raise StopAsyncIteration
            if isinstance(taken, bytes):
                return taken
            await taken


def _wake(waiter: Any) -> None:
    if not waiter.done():
        waiter.set_result(None)


class InlineAsyncTransport:
    """A sync transport under AsyncOpenAI where no thread can start (Pyodide, WASI).

    Each blocking step runs on the event loop itself, which waits meanwhile: the
    only way a sync transport (synchronous XHR in a web worker) can serve there.
    The body stays a sync iterator, which the async client reads as it is.
    """

    def __init__(self, sync: Any) -> None:
        self.sync = sync
        self.name = getattr(sync, "name", type(sync).__name__)

    async def send(self, request: Request) -> Response:
        response: Response = self.sync.send(request)
        return response

    async def close(self) -> None:
        close = getattr(self.sync, "close", None)
        if close is not None:
            close()

    def __repr__(self) -> str:
        return f"<InlineAsyncTransport {self.sync!r}>"
