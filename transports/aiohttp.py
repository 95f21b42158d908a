"""The aiohttp transport: one ClientSession per transport, created inside the running loop.

aiohttp is imported when the session is first needed. The body is read with
``iter_any()`` (never ``readline``, which fails on long SSE lines), and only
``sock_read`` bounds a streamed body, never a ``total`` timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any, AsyncIterator, NoReturn, Optional

from openai_bindings.errors import APIConnectionError, APITimeoutError
from openai_bindings.http import Request, Response

__all__ = ["AiohttpTransport"]


class AiohttpTransport:
    """aiohttp.ClientSession, made lazily in the loop that first sends (and remade for a new loop)."""

    name = "aiohttp"
    requires = ("aiohttp",)
    extra = "aiohttp"

    def __init__(self, *, ssl_context: Optional[ssl.SSLContext] = None, limit: int = 100) -> None:
        self._ssl = ssl_context
        self._limit = limit
        self._session: Any = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    def _get_session(self) -> Any:
        import aiohttp

        loop = asyncio.get_running_loop()
        if self._session is not None and (self._loop is not loop or self._session.closed):
            # A session belongs to one loop; the old loop is gone (asyncio.run twice with one
            # client), so drop its pool without awaiting, and silence its "unclosed" warning.
            _abandon(self._session)
            self._session = None
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._limit, ssl=self._ssl if self._ssl is not None else True
            )
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=True, skip_auto_headers=("User-Agent",)
            )
            self._loop = loop
        return self._session

    async def send(self, request: Request) -> Response:
        import aiohttp

        where = f"{request.method} {request.url.split('?', 1)[0]}"
        session = self._get_session()
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=request.timeout.connect,
            sock_connect=request.timeout.connect,
            sock_read=request.timeout.read,
        )
        body = request.body
        data: Any = body if body is None or isinstance(body, bytes) else _aiter(body)
        try:
            raw = await session.request(
                request.method,
                request.url,
                data=data,
                headers=dict(request.headers),
                timeout=timeout,
                allow_redirects=False,
                compress=None,
            )
        except Exception as error:
            _reraise(error, where)

        async def stream() -> AsyncIterator[bytes]:
            try:
                async for chunk in raw.content.iter_any():
                    yield chunk
            except Exception as error:
                _reraise(error, where)

        async def close() -> None:
            if raw.content.at_eof():
                raw.release()  # read to the end: the connection goes back to the pool
            else:
                raw.close()

        return Response(status=raw.status, headers=raw.headers.items(), stream=stream(), close=close)

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        if self._loop is asyncio.get_running_loop():
            await session.close()
        else:
            _abandon(session)

    def __repr__(self) -> str:
        return "<AiohttpTransport>"


async def _aiter(chunks: Any) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _abandon(session: Any) -> None:
    connector = session.connector
    if connector is not None and not connector.closed:
        with contextlib.suppress(Exception):
            connector._close()  # sync half of close(): drops sockets without the dead loop
    session._connector = None


def _reraise(error: BaseException, where: str) -> NoReturn:
    import aiohttp

    if isinstance(error, (asyncio.TimeoutError, TimeoutError, aiohttp.ServerTimeoutError)):
        raise APITimeoutError(f"{where}: timed out waiting for the server") from error
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        raise APIConnectionError(
            f"{where}: TLS certificate verification failed; trust the server's CA with SSL_CERT_FILE, "
            f"or pass an ssl_context ({error.certificate_error})"
        ) from error
    if isinstance(error, (aiohttp.ClientError, OSError)):
        raise APIConnectionError(f"{where}: {type(error).__name__}: {error}") from error
    raise error
