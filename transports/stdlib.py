"""The standard-library transport: http.client with keep-alive connection reuse.

It is what runs in a constrained host (only pluggy installed). Idle connections
are kept per (scheme, host, port) and reused when the server kept them open;
the pool is guarded by a lock so one transport serves several threads.
"""

from __future__ import annotations

import http.client
import selectors
import socket
import ssl
import threading
import urllib.parse
from typing import Iterator, NoReturn, Optional, Tuple

from openai_bindings.errors import APIConnectionError, APITimeoutError
from openai_bindings.http import Request, Response

__all__ = ["StdlibTransport"]

_Key = Tuple[str, str, int]
_CHUNK = 65536


class StdlibTransport:
    """http.client, HTTPS with the default SSL context (or the one given)."""

    name = "stdlib"

    def __init__(self, *, ssl_context: Optional[ssl.SSLContext] = None, max_idle_per_host: int = 8) -> None:
        self._ssl_context = ssl_context
        self._max_idle = max_idle_per_host
        self._idle: dict[_Key, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._closed = False

    # -- connection pool ---------------------------------------------------------

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _checkout(
        self, key: _Key, connect_timeout: Optional[float]
    ) -> tuple[http.client.HTTPConnection, bool]:
        conn: http.client.HTTPConnection
        with self._lock:
            idle = self._idle.get(key, [])
            while idle:
                conn = idle.pop()
                if not _dropped(conn):
                    return conn, True
                conn.close()
        scheme, host, port = key
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=connect_timeout, context=self._context())
        else:
            conn = http.client.HTTPConnection(host, port, timeout=connect_timeout)
        return conn, False

    def _checkin(self, key: _Key, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if not self._closed and len(idle) < self._max_idle:
                idle.append(conn)
                return
        conn.close()

    # -- the transport API ---------------------------------------------------------

    def send(self, request: Request) -> Response:
        parts = urllib.parse.urlsplit(request.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise APIConnectionError(
                f"cannot send to {request.url!r}: the URL needs http:// or https:// and a host"
            )
        port = parts.port or (443 if parts.scheme == "https" else 80)
        key: _Key = (parts.scheme, parts.hostname, port)
        target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        timeout = request.timeout
        where = f"{request.method} {parts.scheme}://{parts.netloc}"

        conn, reused = self._checkout(key, timeout.connect)
        try:
            raw = self._exchange(conn, request, target, timeout.read)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as error:
            conn.close()
            if not reused:
                raise APIConnectionError(f"{where}: {_reason(error)}") from error
            # The server closed a kept-alive connection between our requests: the request
            # never reached it, so one attempt on a fresh connection is safe.
            conn, reused = self._checkout(key, timeout.connect)
            try:
                raw = self._exchange(conn, request, target, timeout.read)
            except BaseException as error2:
                conn.close()
                _reraise(error2, where)
        except BaseException as error:
            conn.close()
            _reraise(error, where)

        def close() -> None:
            complete = raw.isclosed() or raw.length == 0
            raw.close()
            if complete and not getattr(raw, "will_close", True):
                self._checkin(key, conn)  # the body was read to the end: reuse
            else:
                conn.close()

        return Response(
            status=raw.status,
            headers=raw.getheaders(),
            stream=_body(raw, where),
            close=close,
        )

    def _exchange(
        self, conn: http.client.HTTPConnection, request: Request, target: str, read_timeout: Optional[float]
    ) -> http.client.HTTPResponse:
        if conn.sock is None:
            conn.connect()
        if conn.sock is not None:
            conn.sock.settimeout(read_timeout)  # connect used the connect timeout; now each read
        conn.timeout = read_timeout
        headers = dict(request.headers)
        body = request.body
        if body is not None and not isinstance(body, bytes) and "content-length" not in request.headers:
            # http.client streams an iterable with chunked encoding when no length is known.
            conn.request(request.method, target, body=body, headers=headers, encode_chunked=True)
        else:
            conn.request(request.method, target, body=body, headers=headers)
        return conn.getresponse()

    def close(self) -> None:
        """Close every idle connection; connections in use close when their response does."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    def __repr__(self) -> str:
        return "<StdlibTransport>"


def _body(raw: http.client.HTTPResponse, where: str) -> Iterator[bytes]:
    try:
        while True:
            chunk = raw.read1(_CHUNK)
            if not chunk:
                remaining = raw.length
                if isinstance(remaining, int) and remaining > 0:
                    # read1 reports a short body as a plain end: it is not one
                    raise http.client.IncompleteRead(b"", remaining)
                return
            yield chunk
    except Exception as error:
        _reraise(error, where)


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """True when an idle connection was closed by the server (readable = EOF or junk)."""
    sock = conn.sock
    if sock is None:
        return True
    if not isinstance(sock, socket.socket):
        return False  # not a real socket (e.g. a test double): trust it
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ)
            return bool(selector.select(0))
    except (OSError, ValueError):
        return True


def _reason(error: BaseException) -> str:
    if isinstance(error, http.client.IncompleteRead):
        return f"the connection closed mid-body ({len(error.partial)} bytes read, more expected)"
    if isinstance(error, http.client.RemoteDisconnected):
        return "the server closed the connection without a response"
    if isinstance(error, ssl.SSLCertVerificationError):
        return (
            f"TLS certificate verification failed ({error.verify_message}); trust the server's CA "
            "with SSL_CERT_FILE, or pass an ssl_context"
        )
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _reraise(error: BaseException, where: str) -> NoReturn:
    """Raise the library's error for an I/O failure (original chained), anything else as it is."""
    if isinstance(error, (socket.timeout, TimeoutError)):
        raise APITimeoutError(f"{where}: timed out waiting for the server") from error
    if isinstance(error, (OSError, http.client.HTTPException)):
        raise APIConnectionError(f"{where}: {_reason(error)}") from error
    raise error
