"""Choosing a transport, as lua-openai picks its HTTP module, and adapting sync ones to async.

Order: an explicit ``transport=`` (name, class or instance), then the
``OPENAI_BINDINGS_TRANSPORT`` environment variable, then ``choose_transport``
hooks (the built-in one runs last: aiohttp / urllib3 when importable, else the
standard library).
"""

from __future__ import annotations

import inspect
import os
from typing import Any, AsyncIterator, Iterator

from ._drive import HAS_THREADS
from .errors import PluginError
from .http import Request, Response
from .plugins import Registered, get_registry

__all__ = ["TRANSPORT_ENV", "ThreadedAsyncTransport", "is_async_transport", "resolve_transport"]

TRANSPORT_ENV = "OPENAI_BINDINGS_TRANSPORT"


def is_async_transport(transport: Any) -> bool:
    return inspect.iscoroutinefunction(getattr(transport, "send", None))


def _describe_available(table: dict[str, Registered]) -> str:
    parts = []
    for entry in sorted(table.values(), key=lambda e: e.name):
        note = "" if entry.usable else f" (needs {entry.install_hint})" if entry.missing else " (not here)"
        parts.append(f"{entry.name}{note}")
    return ", ".join(parts) or "none"


def resolve_transport(spec: Any, *, is_async: bool, provider: str = "openai") -> Any:
    """Turn what the caller gave (or nothing) into a transport instance fit for the client."""
    if spec is None:
        source = f"{TRANSPORT_ENV}={os.environ.get(TRANSPORT_ENV)!r}"
        spec = os.environ.get(TRANSPORT_ENV) or None
        if spec is None:
            registry = get_registry()
            spec = registry.manager.hook.choose_transport(is_async=is_async, provider=provider)
            source = "the choose_transport hook"
            if spec is None:
                spec = "stdlib"
    else:
        source = "transport="
    if isinstance(spec, str):
        instance = _build(spec.strip(), source)
    elif isinstance(spec, type):
        instance = spec()
    elif callable(getattr(spec, "send", None)):
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


def _build(name: str, source: str) -> Any:
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
    return entry.cls()


class ThreadedAsyncTransport:
    """Runs a sync transport in worker threads, so any sync transport serves AsyncOpenAI.

    This is how the standard-library transport works under asyncio with nothing
    else installed: each blocking step (send, each body chunk, close) runs in the
    default executor and the event loop stays free.
    """

    def __init__(self, sync: Any) -> None:
        self.sync = sync
        self.name = getattr(sync, "name", type(sync).__name__)

    async def send(self, request: Request) -> Response:
        import asyncio

        response: Response = await asyncio.to_thread(self.sync.send, request)
        chunks = iter(response.iter_bytes())

        async def body() -> AsyncIterator[bytes]:
            while True:
                chunk = await asyncio.to_thread(_next, chunks)
                if chunk is None:
                    return
                yield chunk

        return Response(
            status=response.status,
            headers=response.headers,
            stream=body(),
            close=lambda: asyncio.to_thread(response.close),
        )

    async def close(self) -> None:
        import asyncio

        close = getattr(self.sync, "close", None)
        if close is not None:
            await asyncio.to_thread(close)

    def __repr__(self) -> str:
        return f"<ThreadedAsyncTransport {self.sync!r}>"


def _next(chunks: Iterator[bytes]) -> bytes | None:
    return next(chunks, None)


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
