"""The request interface: what the client hands a transport and what it gets back.

This is the Python counterpart of LuaSocket's ``http.request{url, method,
headers, source, sink}`` that lua-openai is written against. It is small on
purpose: a transport author needs ``Request``, ``Response``, ``Timeout`` and
the two connection errors, nothing else.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import (
    Any,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    MutableMapping,
    Optional,
    Tuple,
    Union,
)

__all__ = ["SECRET_HEADERS", "AsyncResponse", "Body", "Headers", "Request", "Response", "Timeout"]

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
        # Exact types first: an isinstance check against the Mapping ABC costs more than the copy.
        is_mapping = type(headers) is dict or (
            type(headers) not in (list, tuple) and isinstance(headers, Mapping)
        )
        pairs: Iterable[Tuple[str, str]] = headers.items() if is_mapping else headers  # type: ignore[union-attr,assignment]
        for key, value in pairs:
            lower = key.lower()
            if not is_mapping and lower in items:
                value = f"{items[lower][1]}, {value}"
            items[lower] = (key, value if type(value) is str else str(value))

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()][1]

    def __setitem__(self, key: str, value: str) -> None:
        self._items[key.lower()] = (key, value)

    def __delitem__(self, key: str) -> None:
        del self._items[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._items

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
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


@dataclass(frozen=True)
class Timeout:
    """How long to wait to connect, and how long to wait for each next piece of the answer.

    ``read`` bounds every wait for bytes, not the whole exchange, so a long stream that
    keeps sending never times out while a stalled one does. ``None`` waits forever.
    """

    connect: Optional[float] = 5.0
    read: Optional[float] = 600.0

    def __post_init__(self) -> None:
        for name in ("connect", "read"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0
            ):
                raise ValueError(
                    f"Timeout.{name} must be a positive number of seconds or None, got {value!r}"
                )

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


@dataclass(frozen=True)
class Request:
    """One HTTP request, fully formed: transports send it as it is."""

    method: str
    url: str
    headers: Headers = field(default_factory=Headers)
    body: Body = None
    timeout: Timeout = field(default_factory=Timeout)

    def __post_init__(self) -> None:
        if not isinstance(self.headers, Headers):
            object.__setattr__(self, "headers", Headers(self.headers))
        if not isinstance(self.timeout, Timeout):  # Request(..., timeout=5) as a plugin's test might write
            object.__setattr__(self, "timeout", Timeout.coerce(self.timeout))
        if isinstance(self.body, str):
            raise TypeError("Request.body must be bytes or an iterable of bytes, not str; encode it first")

    def __repr__(self) -> str:
        size = len(self.body) if isinstance(self.body, bytes) else ("stream" if self.body else 0)
        return f"<Request {self.method} {self.url} body={size}>"


Closer = Callable[[], Any]


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
            if inspect.isawaitable(result):  # an async close called from sync code
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
            if inspect.isawaitable(result):
                await result

    def __repr__(self) -> str:
        return f"<Response [{self.status}]>"


class AsyncResponse(Response):
    """The async twin: ``stream`` is an async iterable and ``close`` may be awaitable."""


def _discard(awaitable: Awaitable[Any]) -> None:
    close = getattr(awaitable, "close", None)
    if close is not None:  # a coroutine that will never run: silence "never awaited"
        close()
