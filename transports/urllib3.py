"""The urllib3 transport: one PoolManager, no retries of its own, the body streamed as it arrives.

urllib3 is imported when the first transport is built, never at
``import openai_bindings``.
"""

from __future__ import annotations

import ssl
from typing import Any, Iterator, NoReturn, Optional

from openai_bindings.errors import APIConnectionError, APITimeoutError
from openai_bindings.http import Request, Response

__all__ = ["Urllib3Transport"]

_CHUNK = 65536


class Urllib3Transport:
    """urllib3 with ``retries=False`` (retries live in the client, once) and ``preload_content=False``."""

    name = "urllib3"
    requires = ("urllib3",)
    extra = "urllib3"

    def __init__(
        self, *, ssl_context: Optional[ssl.SSLContext] = None, maxsize: int = 10, **pool_kwargs: Any
    ) -> None:
        import urllib3

        self._urllib3 = urllib3
        if ssl_context is not None:
            pool_kwargs["ssl_context"] = ssl_context
        self.pool = urllib3.PoolManager(maxsize=maxsize, retries=False, **pool_kwargs)

    def send(self, request: Request) -> Response:
        urllib3 = self._urllib3
        where = f"{request.method} {request.url.split('?', 1)[0]}"
        body = request.body
        try:
            raw = self.pool.urlopen(
                request.method,
                request.url,
                body=body,
                headers=dict(request.headers),
                timeout=urllib3.Timeout(connect=request.timeout.connect, read=request.timeout.read),
                retries=False,
                redirect=False,
                preload_content=False,
                decode_content=True,
                chunked=body is not None
                and not isinstance(body, bytes)
                and "content-length" not in request.headers,
            )
        except Exception as error:
            self._reraise(error, where)

        def close() -> None:
            if not raw.closed:
                raw.close()  # unread bytes on the wire: this connection cannot be reused
            release = getattr(raw, "release_conn", None)  # absent on some stand-ins (vcrpy 8)
            if release is not None:
                release()  # back to the pool (a closed one reconnects when next used)

        return Response(
            status=raw.status, headers=raw.headers.items(), stream=self._body(raw, where), close=close
        )

    def _body(self, raw: Any, where: str) -> Iterator[bytes]:
        # read1 returns what one recv gives instead of blocking for a full amount, so the
        # first event of a non-chunked stream reaches the caller as soon as it arrives.
        try:
            while True:
                chunk = raw.read1(_CHUNK)
                if not chunk:
                    return
                yield chunk
        except Exception as error:
            self._reraise(error, where)

    def _reraise(self, error: BaseException, where: str) -> NoReturn:
        exceptions = self._urllib3.exceptions
        # NewConnectionError subclasses ConnectTimeoutError in urllib3, but a refusal is no timeout.
        refused = isinstance(error, exceptions.NewConnectionError)
        if not refused and isinstance(error, (exceptions.TimeoutError, TimeoutError)):
            raise APITimeoutError(f"{where}: timed out waiting for the server") from error
        if isinstance(error, (exceptions.HTTPError, OSError)):
            reason = getattr(error, "reason", None) or error
            if isinstance(reason, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(error):
                text = (
                    "TLS certificate verification failed; trust the server's CA with SSL_CERT_FILE, "
                    f"or pass an ssl_context ({error})"
                )
            else:
                text = f"{type(error).__name__}: {error}"
            raise APIConnectionError(f"{where}: {text}") from error
        raise error

    def close(self) -> None:
        self.pool.clear()

    def __repr__(self) -> str:
        return "<Urllib3Transport>"
