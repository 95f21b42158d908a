"""An httpx transport for openai-bindings: a complete, installable example of a transport plugin.

httpx is a real HTTP client that openai-bindings does not depend on. The
transport does I/O only: it sends the Request as it is, streams the body back
as it arrives, and turns httpx's failures into the library's two errors.
"""

from __future__ import annotations

import os
import ssl
from typing import Any, Iterator

import httpx

from openai_bindings import APIConnectionError, APITimeoutError, Request, Response, hookimpl


class HttpxTransport:
    """One httpx.Client (a connection pool), no retries of its own: the client retries.

    ``proxy``, ``verify`` and ``trust_env`` are the keywords the client passes when a user
    sets them (``OpenAI(transport="httpx", proxy=...)``); httpx takes them as they are.
    Prove it with ``openai-bindings check-transport httpx``.
    """

    name = "httpx"
    requires = ("httpx",)  # lets `openai-bindings plugins` say when httpx is missing

    def __init__(
        self, *, proxy: str | None = None, verify: Any = True, trust_env: bool = True, **client_options: Any
    ) -> None:
        if isinstance(verify, (str, os.PathLike)):  # a CA bundle: httpx wants it as a context
            path = os.fspath(verify)
            verify = ssl.create_default_context(**{"capath" if os.path.isdir(path) else "cafile": path})
        self.client = httpx.Client(proxy=proxy, verify=verify, trust_env=trust_env, **client_options)

    def send(self, request: Request) -> Response:
        timeout = httpx.Timeout(
            connect=request.timeout.connect,
            read=request.timeout.read,
            write=request.timeout.read,
            pool=request.timeout.connect,
        )
        body = request.body
        content = body if body is None or isinstance(body, bytes) else iter(body)
        built = self.client.build_request(
            request.method, request.url, headers=dict(request.headers), content=content, timeout=timeout
        )
        try:
            raw = self.client.send(built, stream=True)
        except httpx.TimeoutException as error:
            raise APITimeoutError(f"{request.method} {request.url}: timed out") from error
        except httpx.HTTPError as error:
            raise APIConnectionError(f"{request.method} {request.url}: {error}") from error
        return Response(
            status=raw.status_code, headers=raw.headers.multi_items(), stream=_body(raw), close=raw.close
        )

    def close(self) -> None:
        self.client.close()


def _body(raw: httpx.Response) -> Iterator[bytes]:
    try:
        yield from raw.iter_bytes()
    except httpx.TimeoutException as error:
        raise APITimeoutError(f"timed out reading the body: {error}") from error
    except httpx.HTTPError as error:
        raise APIConnectionError(f"the connection failed mid-body: {error}") from error


@hookimpl
def register_transports(register):
    register(HttpxTransport)
