"""The request interface: what the client hands a transport and what it gets back.

This is the Python counterpart of LuaSocket's ``http.request{url, method,
headers, source, sink}`` that lua-openai is written against. It is small on
purpose: a transport author needs ``Request``, ``Response``, ``Timeout`` and
the two connection errors, nothing else.
"""

from __future__ import annotations

import collections.abc
import os
from typing import (
    Any,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    List,
    Mapping,
    MutableMapping,
    Optional,
    Tuple,
    TypeVar,
    Union,
)

__all__ = [
    "SECRET_HEADERS",
    "AsyncResponse",
    "Body",
    "Headers",
    "Request",
    "Response",
    "Timeout",
    "WholeBody",
]

HeadersLike = Union["Headers", Mapping[str, str], Iterable[Tuple[str, str]]]
#: A request body: bytes, or a re-iterable source of byte chunks (streamed uploads; the
#: client sets Content-Length so no transport has to fall back on chunked encoding).
Body = Union[bytes, Iterable[bytes], None]


class Headers(MutableMapping[str, str]):
    """A case-insensitive header map that keeps the case it was given for sending.

    Repeated headers given as pairs are joined with ", " (RFC 9110 5.3).
    """

    __slots__ = ("_items",)

    def __init__(self, headers: HeadersLike | None = None) -> None:
        items: dict[str, tuple[str, str]] = {}
        self._items = items
        if headers is None:
            return
        if type(headers) is Headers:
            items.update(headers._items)
            return
        # Exact types first: an isinstance check against the Mapping ABC costs more than the copy
        # (and collections.abc's, not typing's alias, whose check runs in Python).
        is_mapping = type(headers) is dict or (
            type(headers) not in (list, tuple) and isinstance(headers, collections.abc.Mapping)
        )
        pairs: Iterable[Tuple[str, str]] = headers.items() if is_mapping else headers  # type: ignore[union-attr,assignment]
        for key, value in pairs:
            lower = key.lower()
            if not is_mapping and lower in items:
                value = f"{items[lower][1]}, {value}"
            items[lower] = (key, value if type(value) is str else str(value))

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()][1]

    def get(self, key: str, default: Any = None) -> Any:
        """One dict lookup (the Mapping mixin's goes through __getitem__ and an exception)."""
        item = self._items.get(key.lower())
        return default if item is None else item[1]

    def __setitem__(self, key: str, value: str) -> None:
        self._items[key.lower()] = (key, value)

    def __delitem__(self, key: str) -> None:
        del self._items[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self._items.values())

    def items(self) -> List[Tuple[str, str]]:  # type: ignore[override]
        """The (name, value) pairs as given, in order: a list, made at C speed (HTTP libraries
        iterate it for every request; the Mapping mixin's view would look each name up again)."""
        return list(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._items

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, collections.abc.Mapping):
            return NotImplemented
        return {k: v for k, (_, v) in self._items.items()} == {
            str(k).lower(): str(v) for k, v in other.items()
        }

    def copy(self) -> Headers:
        new = Headers.__new__(Headers)
        new._items = self._items.copy()  # no need to lower-case again: every request starts here
        return new

    def __repr__(self) -> str:
        shown = {key: ("<redacted>" if _is_secret(key) else value) for key, value in self.items()}
        return f"Headers({shown!r})"


#: Headers whose values are credentials: never shown in a repr, a log record or an error.
SECRET_HEADERS = frozenset(
    {"authorization", "api-key", "x-api-key", "x-goog-api-key", "proxy-authorization", "cookie"}
)


def _is_secret(name: str) -> bool:
    return name.lower() in SECRET_HEADERS


class _Frozen:
    """Immutable after __init__, as a frozen dataclass is, without importing dataclasses (and
    inspect, ast...) at ``import openai_bindings``."""

    __slots__ = ()
    _fields: Tuple[str, ...] = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; make a new one (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable (cannot delete {name!r})")

    def _values(self) -> Tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __reduce__(self) -> Any:
        # Pickled by its fields, rebuilt through __init__ (setattr is closed to pickle too).
        return (type(self), self._values())

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def replace(self: _F, **changes: Any) -> _F:
        """A copy with some fields changed (``request.replace(url=...)``)."""
        values = {name: getattr(self, name) for name in self._fields}
        unknown = set(changes) - set(values)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field(s) {', '.join(sorted(unknown))}")
        values.update(changes)
        return type(self)(**values)


_F = TypeVar("_F", bound=_Frozen)


class Timeout(_Frozen):
    """How long to wait to connect, and how long to wait for each next piece of the answer.

    ``read`` bounds every wait for bytes, not the whole exchange, so a long stream that
    keeps sending never times out while a stalled one does. ``None`` waits forever.
    """

    __slots__ = ("connect", "read")
    _fields = ("connect", "read")
    connect: Optional[float]
    read: Optional[float]

    def __init__(self, connect: Optional[float] = 5.0, read: Optional[float] = 600.0) -> None:
        for name, value in (("connect", connect), ("read", read)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0
            ):
                raise ValueError(
                    f"Timeout.{name} must be a positive number of seconds or None, got {value!r}"
                )
        object.__setattr__(self, "connect", connect)
        object.__setattr__(self, "read", read)

    def __hash__(self) -> int:
        return hash((self.connect, self.read))

    def __repr__(self) -> str:
        return f"Timeout(connect={self.connect!r}, read={self.read!r})"

    @classmethod
    def coerce(cls, value: TimeoutLike) -> Timeout:
        """Accept what users write: a Timeout, a number (both phases), a (connect, read) pair."""
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(None, None)
        if isinstance(value, tuple) and len(value) == 2:
            return cls(value[0], value[1])
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return cls(float(value), float(value))
        raise TypeError(
            "timeout must be a number of seconds, a (connect, read) tuple, an "
            f"openai_bindings.Timeout or None, got {type(value).__name__}"
        )


TimeoutLike = Union[Timeout, float, int, Tuple[Optional[float], Optional[float]], None]
_DEFAULT_TIMEOUT = Timeout()


class Request(_Frozen):
    """One HTTP request, fully formed: transports send it as it is (its headers may be edited by
    a ``prepare_request`` hook; the request itself is immutable)."""

    __slots__ = ("__weakref__", "body", "headers", "method", "timeout", "url")
    _fields = ("method", "url", "headers", "body", "timeout")
    method: str
    url: str
    headers: Headers
    body: Body
    timeout: Timeout

    def __init__(
        self,
        method: str,
        url: str,
        headers: Optional[HeadersLike] = None,
        body: Body = None,
        timeout: Any = _DEFAULT_TIMEOUT,
    ) -> None:
        if isinstance(body, str):
            raise TypeError("Request.body must be bytes or an iterable of bytes, not str; encode it first")
        if type(headers) is not Headers:
            headers = Headers(headers)
        if type(timeout) is not Timeout:  # Request(..., timeout=5) as a plugin's test might write
            timeout = Timeout.coerce(timeout)
        setattr_ = object.__setattr__
        setattr_(self, "method", method)
        setattr_(self, "url", url)
        setattr_(self, "headers", headers)
        setattr_(self, "body", body)
        setattr_(self, "timeout", timeout)

    __hash__ = None  # type: ignore[assignment]  # its headers are mutable

    def __repr__(self) -> str:
        size = len(self.body) if isinstance(self.body, bytes) else ("stream" if self.body else 0)
        return f"<Request {self.method} {self.url} body={size}>"


Closer = Callable[[], Any]


class WholeBody(tuple):
    """A body that arrived whole, with the headers: its chunks, in memory.

    An async transport gives it as ``Response.stream`` for a small answer: it is an async
    iterable, as the contract promises of an async transport's body, and the core, which
    knows it, reads it without an await per chunk (``in_memory``).
    """

    __slots__ = ()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return _Chunks(iter(self))


class _Chunks:
    """A WholeBody's async iterator: hands out what is already here."""

    __slots__ = ("_chunks",)

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks

    def __aiter__(self) -> _Chunks:
        return self

    async def __anext__(self) -> bytes:
        for chunk in self._chunks:
            return chunk
        raise StopAsyncIteration


def in_memory(stream: Any) -> bool:
    """Whether a body can be read without awaiting: a sync iterable, or a WholeBody."""
    return stream.__class__ is WholeBody or not hasattr(stream, "__aiter__")


class Response:
    """A response whose body arrives as an iterator of byte chunks.

    ``stream`` yields the body as it arrives; ``close`` releases the connection
    (back to the pool when the body was read to the end). The stream may also be
    an async iterable, with an awaitable close, for async transports: the same
    class serves both so a transport author has one name to learn.
    """

    def __init__(
        self,
        status: int,
        headers: HeadersLike | None = None,
        stream: Iterable[bytes] | AsyncIterable[bytes] | bytes | None = None,
        close: Closer | None = None,
    ) -> None:
        self.status = int(status)
        self.headers: Headers
        if type(headers) is Headers:
            self.headers = headers
        elif type(headers) in (list, tuple, dict):  # what transports give: no ABC check
            self.headers = Headers(headers)
        else:
            self.headers = headers if isinstance(headers, Headers) else Headers(headers)
        if stream is None:
            stream = b""
        if isinstance(stream, (bytes, bytearray)):
            stream = (bytes(stream),) if stream else ()
        self.stream = stream
        self._close = close
        self.closed = False

    @property
    def is_async(self) -> bool:
        return hasattr(self.stream, "__aiter__")

    # -- sync side ------------------------------------------------------------

    def iter_bytes(self) -> Iterator[bytes]:
        """Yield non-empty body chunks; close the response when they end or fail."""
        if self.is_async:
            raise TypeError("this response has an async body: use aiter_bytes() / aread()")
        try:
            for chunk in self.stream:  # type: ignore[union-attr]
                if chunk:
                    yield chunk
        finally:
            self.close()

    def __iter__(self) -> Iterator[bytes]:
        return self.iter_bytes()

    def read(self) -> bytes:
        """The whole body (and the connection released)."""
        return b"".join(self.iter_bytes())

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._close is not None:
            result = self._close()
            if is_awaitable(result):  # an async close called from sync code
                _discard(result)

    # -- async side -----------------------------------------------------------

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """Async twin of iter_bytes; also accepts a sync stream (already in memory)."""
        try:
            if self.is_async:
                async for chunk in self.stream:  # type: ignore[union-attr]
                    if chunk:
                        yield chunk
            else:
                for chunk in self.stream:  # type: ignore[union-attr]
                    if chunk:
                        yield chunk
        finally:
            await self.aclose()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.aiter_bytes()

    async def aread(self) -> bytes:
        return b"".join([chunk async for chunk in self.aiter_bytes()])

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._close is not None:
            result = self._close()
            if is_awaitable(result):
                await result

    def __repr__(self) -> str:
        return f"<Response [{self.status}]>"


class AsyncResponse(Response):
    """The async twin: ``stream`` is an async iterable and ``close`` may be awaitable."""


class ThisProcess:
    """This process's id, kept current across ``os.fork()``. Transports compare it on every
    request to notice they were forked (their pooled connections are then the parent's), and
    ``os.getpid()`` is a system call each time."""

    pid = os.getpid()


def _forked() -> None:
    ThisProcess.pid = os.getpid()


if hasattr(os, "register_at_fork"):  # registered at import: before any hook that looks at it
    os.register_at_fork(after_in_child=_forked)


def is_awaitable(value: Any) -> bool:
    """``inspect.isawaitable`` without importing inspect (coroutines, futures, tasks)."""
    return hasattr(value, "__await__")


def _discard(awaitable: Awaitable[Any]) -> None:
    close = getattr(awaitable, "close", None)
    if close is not None:  # a coroutine that will never run: silence "never awaited"
        close()
