"""The aiohttp transport: one ClientSession per transport, created inside the running loop.

aiohttp (and asyncio) are imported when the session is first needed, so a sync
client never loads them. The body is read with ``readany()`` (never
``readline``, which fails on long SSE lines), and each wait for the server is
bounded by the read timeout, never a ``total`` timeout. aiohttp's own
``sock_read`` is not used: it schedules and cancels timers for every request
and every chunk (~9% of a token stream's CPU, ~2.5% of a small request's). The wait for
the headers is watched by ``_Watch``, one timer per session; each wait for the
body by ``_Deadline``, one timer per read period. Both fail a stalled wait the
way ``sock_read`` does, with aiohttp's ``SocketTimeoutError``. aiohttp's own
silent second attempt on a dropped keep-alive connection is turned off: a
request is sent once, and the client's retry policy decides the rest. A body that came
whole with the headers (most small answers: aiohttp has already put the connection back) is
handed over as a ``WholeBody``, which the client reads without an await per chunk.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import weakref
from typing import Any, AsyncIterator, Dict, Iterable, Optional, Tuple

from openai_bindings.errors import APIConnectionError
from openai_bindings.http import SECRET_HEADERS, Request, Response, Timeout, WholeBody

from ._network import (
    Bounded,
    Hold,
    Network,
    Proxy,
    SocketTransport,
    Verify,
    is_tls_failure,
    origin_of,
    split_origin,
)

__all__ = ["AiohttpTransport"]

_WHOLE = 256 * 1024  # a bytes body up to this size is written at once
#: (proxy URL, headers for its CONNECT, headers added to each request, the proxy, ssl= for aiohttp)
_Route = Tuple[Optional[str], Optional[Dict[str, str]], Optional[Dict[str, str]], Optional[Proxy], Any]


class AiohttpTransport(SocketTransport):
    """aiohttp.ClientSession, made lazily in the loop that first sends (and remade for a new loop).

    Takes ``proxy=``, ``verify=`` and ``trust_env=`` as every built-in transport does;
    ``ssl_context=`` is the older name of ``verify=<SSLContext>``.
    """

    name = "aiohttp"
    requires = ("aiohttp",)
    extra = "aiohttp"

    def __init__(
        self,
        *,
        proxy: Optional[str] = None,
        verify: Verify = True,
        trust_env: bool = True,
        ssl_context: Optional[ssl.SSLContext] = None,
        limit: int = 100,
    ) -> None:
        self._network = Network(proxy=proxy, verify=verify, trust_env=trust_env, ssl_context=ssl_context)
        self._limit = limit
        self._session: Any = None
        self._loop: Any = None
        self._watch: Optional[_Watch] = None  # the read timeout of the session's waits for headers
        self._closed = False
        self._aiohttp: Any = None
        self._asyncio: Any = None
        self._timeouts = Bounded(64)  # ours -> aiohttp's ClientTimeout
        self._last_timeout: Any = None  # (ours, aiohttp's): a client sends its one Timeout again and again
        self._routes = Bounded()  # by origin
        self._targets = Bounded()  # by URL

    # -- the transport API --------------------------------------------------------------------

    async def send(self, request: Request) -> Response:
        session = self._session
        if session is None or session.closed or self._loop is not self._asyncio.get_running_loop():
            session = self._new_session()
        url = request.url
        route = self._targets.get(url)  # by the whole URL: one lookup, no parsing, per request
        if route is None:
            route = self._route(url)
        proxy_url, proxy_headers, extra, proxy, tls = route
        headers: Any = request.headers
        if extra is not None:
            headers = {**headers, **extra}
        body = request.body
        if body is not None and (body.__class__ is not bytes or len(body) > _WHOLE):
            body = _data(body)
        timeout = request.timeout
        last = self._last_timeout
        made = last[1] if last is not None and last[0] is timeout else self._timeout(timeout)
        read = timeout.read
        if read is not None:  # the connector's connect() starts the wait's watch, in this task
            watch: _Watch = self._watch  # type: ignore[assignment]  # made with the session
            task = self._asyncio.current_task()
            watch.coming[task] = wait = _Wait(read)
        try:
            raw = await session.request(
                request.method,
                url,
                data=body,
                headers=headers,
                timeout=made,
                allow_redirects=False,
                compress=None,
                proxy=proxy_url,
                proxy_headers=proxy_headers,
                ssl=tls,
            )
        except Exception as error:
            self._network.raise_for(error, request, proxy, *self._kind(error, proxy))
        finally:
            if read is not None:
                watch.coming.pop(task, None)  # connect() never ran
                watch.waits.pop(wait, None)
        answered = list(raw.headers.items())  # a list: Headers takes it without an ABC check
        content = raw.content
        if raw.connection is None and content.is_eof() and content.exception() is None:
            # The whole body came with the headers (a small answer) and aiohttp has already put
            # the connection back: hand the bytes over as they are, with nothing left to release.
            data = content.read_nowait()
            raw.release()
            return Response(status=raw.status, headers=answered, stream=WholeBody((data,) if data else ()))
        exchange = _Exchange(raw)
        stream = _Body(raw, exchange, self, request, proxy)
        return Response(status=raw.status, headers=answered, stream=stream, close=exchange.close)

    async def close(self) -> None:
        """Close the session and refuse new requests (a closed transport never makes a new session)."""
        self._closed = True
        session, self._session = self._session, None
        if session is None:
            return
        if self._loop is self._asyncio.get_running_loop():
            if self._watch is not None:
                self._watch.stop()
            await session.close()
        else:
            _abandon(session)

    def __repr__(self) -> str:
        return f"<AiohttpTransport{self._network.describe()}>"

    # -- session, routes, timeouts ------------------------------------------------------------

    def _new_session(self) -> Any:
        if self._closed:
            raise APIConnectionError("this aiohttp transport is closed; make a new one")
        if self._aiohttp is None:
            import asyncio

            import aiohttp

            self._asyncio, self._aiohttp = asyncio, aiohttp
        loop = self._asyncio.get_running_loop()
        if self._session is not None:
            # A session belongs to one loop; the old loop is gone (asyncio.run twice with one
            # client), so drop its pool without awaiting, and silence its "unclosed" warning.
            _abandon(self._session)
            self._session = None
        aiohttp = self._aiohttp
        self._watch = watch = _Watch(loop)
        session = aiohttp.ClientSession(
            connector=_connector_class(aiohttp)(watch, limit=self._limit),
            auto_decompress=True,
            trust_env=False,  # the environment is read once, by Network, the same for every transport
        )
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False  # never send a request twice behind the client's back
        self._session, self._loop = session, loop
        return session

    def _route(self, url: str) -> _Route:
        """How to reach the URL's origin, worked out once per origin (proxy, credentials, TLS) and
        kept under the URL too, where ``send`` looks first."""
        origin = split_origin(url)[0]
        route = self._routes.get(origin)
        if route is None:
            network = self._network
            _, scheme, host, port, _ = origin_of(origin)
            tls: Any = True
            if scheme == "https":  # our context (made on first use): the same trust as the others
                tls = network.ssl_context() if network.verifies else False
            proxy = network.proxy_for(scheme, host, port)
            auth = {"Proxy-Authorization": proxy.auth} if proxy is not None and proxy.auth else None
            if proxy is None:
                route = (None, None, None, None, tls)
            elif scheme == "https":  # the credentials go with the CONNECT
                route = (proxy.url, auth, None, proxy, tls)
            else:  # plain HTTP: with each forwarded request
                route = (proxy.url, None, auth, proxy, tls)
            self._routes.put(origin, route)
        return self._targets.put(url, route)

    def _timeout(self, timeout: Timeout) -> Any:
        """aiohttp's ClientTimeout for ours, made once per distinct value."""
        made = self._timeouts.get(timeout)
        if made is None:
            # No sock_read: _Watch and _Deadline bound the waits (see the module's docstring).
            made = self._aiohttp.ClientTimeout(
                total=None, connect=timeout.connect, sock_connect=timeout.connect
            )
            self._timeouts.put(timeout, made)
        self._last_timeout = (timeout, made)
        return made

    # -- failures -------------------------------------------------------------------------------

    def _kind(self, error: BaseException, proxy: Optional[Proxy]) -> Tuple[Optional[str], str]:
        """What a failure was, for ``Network.raise_for``: timeout, tls, connection, or not I/O (None).
        Also takes the secret headers out of the request aiohttp keeps in its errors."""
        aiohttp = self._aiohttp
        _redact_request_info(error, aiohttp)
        if isinstance(error, (self._asyncio.TimeoutError, TimeoutError)):
            return "timeout", ""
        if isinstance(error, aiohttp.ClientConnectorCertificateError):
            certificate_error = error.certificate_error
            return "tls", getattr(certificate_error, "verify_message", None) or str(certificate_error)
        if isinstance(error, (aiohttp.ClientError, OSError)):
            if is_tls_failure(error):
                return "tls", str(error)
            return "connection", _reason(error, aiohttp, proxy)
        return None, ""


class _Exchange(Hold):
    """One response's hold on its connection, let go synchronously (a finalizer can), any thread."""

    __slots__ = ("deadline", "thread")

    def __init__(self, raw: Any) -> None:
        super().__init__(raw)
        self.thread = threading.get_ident()  # the loop's thread
        self.deadline: Optional[_Deadline] = None  # the body's read timer, stopped with the exchange

    def close(self) -> None:
        raw = self.let_go()
        if raw is None:
            return
        deadline = self.deadline
        if deadline is not None:
            deadline.stop(cancel=threading.get_ident() == self.thread)
        if self.done:
            raw.release()  # read to the end: the connection goes back to the pool
            return
        # Unread bytes on the wire: the connection is closed, not pooled. asyncio closes the
        # socket on the loop's next turn; shutdown() tells the server now, even when the loop
        # is not running or this is a finalizer in another thread.
        connection = raw.connection
        transport = connection.transport if connection is not None else None
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is not None:
            with contextlib.suppress(OSError, ValueError):
                sock.shutdown(socket.SHUT_RDWR)
        if threading.get_ident() == self.thread:
            raw.close()
            return
        loop = raw._loop  # a finalizer in another thread: the loop's objects are the loop's to touch
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(raw.close)


class _Body:
    """The body as an async iterator of the chunks aiohttp has: one await per chunk, no generator.

    Each wait for a chunk is bounded by the read timeout, by a ``_Deadline``: the wait's start
    noted per chunk, one timer per read period (aiohttp's ``sock_read`` would cancel and
    schedule a timer for every chunk that arrives: ~9% of a stream's CPU when events come one
    per chunk).
    """

    __slots__ = ("content", "deadline", "exchange", "proxy", "request", "transport")

    def __init__(
        self, raw: Any, exchange: _Exchange, transport: AiohttpTransport, request: Request, proxy: Any
    ) -> None:
        self.content = raw.content
        self.exchange = exchange
        self.transport = transport
        self.request = request
        self.proxy = proxy
        self.deadline: Optional[_Deadline] = None
        read = request.timeout.read
        if read is not None and raw.connection is not None:  # None: the whole body came with the headers
            self.deadline = exchange.deadline = _Deadline(
                self.content, read, transport._asyncio.get_running_loop()
            )

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        content = self.content
        deadline = self.deadline
        try:
            if deadline is None:
                chunk: bytes = await content.readany()
            else:
                deadline.since = deadline.loop.time()
                chunk = await content.readany()
                deadline.since = None
        except Exception as error:
            # aiohttp raises a broken connection before the bytes that arrived ahead of it: hand
            # those over first (the next read raises the failure again, with nothing left).
            pending = _unread(content)
            if pending:
                return pending
            if deadline is not None:
                deadline.stop()
            # aiohttp keeps this exception in its stream reader and raises it again on each read:
            # its traceback would hold the reader (and this body) in a cycle only the GC finds.
            error.__traceback__ = None
            transport = self.transport
            transport._network.raise_for(error, self.request, self.proxy, *transport._kind(error, self.proxy))
        if chunk:
            return chunk
        if deadline is not None:
            deadline.stop()
        self.exchange.done = True
        raise StopAsyncIteration


class _Wait:
    """One request's wait for its response's headers: since when, and for how long at most."""

    __slots__ = ("protocol", "read", "since")

    def __init__(self, read: float) -> None:
        self.read = read
        self.since = 0.0
        self.protocol: Any = None


class _Watch:
    """The read timeout over every wait for headers of one session, with one timer.

    A request notes when its wait began (``start``, called by the connector's ``connect``, the
    moment the connection is ready: where ``sock_read`` would start) and is struck off when its
    headers are in. One timer, armed for the earliest end and re-armed when it fires (once per
    read period under steady load, instead of two timers per request), fails each wait that has
    lasted its read timeout as ``sock_read`` does: aiohttp's ``SocketTimeoutError`` set on the
    connection's protocol, which the waiting request raises (aiohttp then closes the connection).
    """

    __slots__ = ("coming", "current_task", "handle", "loop", "waits", "wake")

    def __init__(self, loop: Any) -> None:
        import asyncio

        self.loop = loop
        self.current_task = asyncio.current_task
        self.coming: Dict[Any, _Wait] = {}  # task -> its wait, until the task's connect() starts it
        self.waits: Dict[_Wait, None] = {}  # started waits (a dict: removal in O(1), order kept)
        self.handle: Any = None
        self.wake = _NEVER  # when the timer fires

    def start(self, wait: _Wait, protocol: Any) -> None:
        wait.protocol = protocol
        wait.since = now = self.loop.time()
        self.waits[wait] = None
        due = now + wait.read
        if due < self.wake:  # the usual case (one read timeout for all) arms once per period
            self._arm(due)

    def stop(self) -> None:
        handle, self.handle = self.handle, None
        if handle is not None:
            handle.cancel()
        self.wake = _NEVER
        self.waits.clear()
        self.coming.clear()

    def _arm(self, due: float) -> None:
        if self.handle is not None:
            self.handle.cancel()
        self.wake = due
        self.handle = self.loop.call_at(due, self._check)

    def _check(self) -> None:
        self.handle = None
        self.wake = _NEVER
        now = self.loop.time()
        earliest = _NEVER
        for wait in list(self.waits):
            due = wait.since + wait.read
            if due <= now:
                del self.waits[wait]
                protocol, wait.protocol = wait.protocol, None
                if protocol is not None:
                    protocol.set_exception(_read_timeout_error())
            elif due < earliest:
                earliest = due
        if earliest < _NEVER:
            self._arm(earliest)


_NEVER = float("inf")
_CONNECTOR: Any = None


def _connector_class(aiohttp: Any) -> Any:
    """aiohttp's TCPConnector, whose ``connect`` starts the watch over the wait for headers: the
    one place that sees the connection of a request about to be sent. Made on first use (a
    class at import time would import aiohttp with the transport)."""
    global _CONNECTOR
    if _CONNECTOR is None:

        class _Connector(aiohttp.TCPConnector):
            def __init__(self, watch: _Watch, **kwargs: Any) -> None:
                super().__init__(**kwargs)
                self._openai_bindings_watch = watch

            async def connect(self, req: Any, *args: Any, **kwargs: Any) -> Any:
                watch = self._openai_bindings_watch
                wait = watch.coming.pop(watch.current_task(), None)  # send() ran in this task
                connection = await super().connect(req, *args, **kwargs)
                if wait is not None and connection.protocol is not None:
                    watch.start(wait, connection.protocol)
                return connection

        _CONNECTOR = _Connector
    return _CONNECTOR


def _read_timeout_error() -> Exception:
    """What aiohttp's own read timeout raises (its name before 3.10: ServerTimeoutError)."""
    import aiohttp

    kind = getattr(aiohttp, "SocketTimeoutError", aiohttp.ServerTimeoutError)
    return kind("Timeout on reading data from socket")


class _Deadline:
    """A body's read timeout, checked lazily: the reader notes when each wait starts (one clock
    read per chunk); one timer, re-armed once per read period, fails a wait that has lasted the
    whole period by setting a timeout on aiohttp's stream reader, which the waiting read raises.

    The timer holds the deadline weakly, so an abandoned body is collected as before, and
    ``stop()`` cancels it (no timer outlives its body by more than one period).
    """

    __slots__ = ("__weakref__", "content", "handle", "loop", "read", "since")

    def __init__(self, content: Any, read: float, loop: Any) -> None:
        self.content = content
        self.read = read
        self.loop = loop
        self.since: Optional[float] = None  # when the current wait began; None between waits
        self.handle: Any = loop.call_at(loop.time() + read, _check_deadline, weakref.ref(self))

    def check(self) -> None:
        now = self.loop.time()
        since = self.since
        if since is not None and now - since >= self.read:
            self.handle = None
            self.content.set_exception(_read_timeout_error())
            return
        self.handle = self.loop.call_at(
            (now if since is None else since) + self.read, _check_deadline, weakref.ref(self)
        )

    def stop(self, cancel: bool = True) -> None:
        """No more checks. ``cancel=False`` from another thread: the timer, which only the
        loop's thread may cancel, fires once more and does nothing."""
        handle, self.handle = self.handle, None
        if handle is not None and cancel:
            handle.cancel()


def _check_deadline(ref: Any) -> None:
    deadline = ref()
    if deadline is not None and deadline.handle is not None:
        deadline.check()


def _unread(content: Any) -> bytes:
    """What aiohttp's stream reader holds but would not return once it has a failure to raise."""
    read = getattr(content, "_read_nowait", None)  # the reader's own buffer read, without the check
    if read is None or not getattr(content, "_buffer", None):
        return b""
    try:
        data: bytes = read(-1)
        return data
    except Exception:
        return b""


def _data(body: Any) -> Any:
    """The body as aiohttp takes it: small bytes as they are, anything else streamed in pieces
    (aiohttp warns that one large write may hold the loop; the client set Content-Length)."""
    if body is None or (isinstance(body, bytes) and len(body) <= _WHOLE):
        return body
    if isinstance(body, bytes):
        view = memoryview(body)
        body = [view[start : start + _WHOLE] for start in range(0, len(body), _WHOLE)]
    return _aiter(body)


async def _aiter(chunks: Iterable[Any]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _redact_request_info(error: BaseException, aiohttp: Any) -> None:
    """aiohttp's errors keep the request's headers (``request_info``), credentials included:
    keep the rest, with secret header values (API key, proxy credentials) replaced."""
    from multidict import CIMultiDict, CIMultiDictProxy

    current: Optional[BaseException] = error
    for _ in range(8):
        if current is None:
            return
        info = getattr(current, "request_info", None)
        secret = SECRET_HEADERS
        if isinstance(info, aiohttp.RequestInfo) and any(name.lower() in secret for name in info.headers):
            pairs = info.headers.items()
            headers = CIMultiDict((k, "<redacted>" if k.lower() in secret else v) for k, v in pairs)
            redacted = info._replace(headers=CIMultiDictProxy(headers))
            with contextlib.suppress(AttributeError, TypeError):
                current.request_info = redacted  # type: ignore[attr-defined]
                current.args = tuple(redacted if arg is info else arg for arg in current.args)
        current = current.__cause__ or current.__context__


def _abandon(session: Any) -> None:
    connector = session.connector
    if connector is not None and not connector.closed:
        with contextlib.suppress(Exception):
            connector._close()  # sync half of close(): drops sockets without the dead loop
    session._connector = None


def _reason(error: BaseException, aiohttp: Any, proxy: Optional[Proxy]) -> str:
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return (
            "the server closed the connection without answering (the request may or may not have "
            "been processed; it was not sent again)"
        )
    if isinstance(error, aiohttp.ClientPayloadError):
        return f"the connection closed mid-body ({error})"
    if isinstance(error, aiohttp.ClientHttpProxyError):
        hint = ": check the user name and password in the proxy URL" if error.status == 407 else ""
        return f"the proxy refused to open a tunnel ({error.status} {error.message}){hint}"
    if isinstance(error, aiohttp.ClientProxyConnectionError) and proxy is not None:
        return f"the proxy refused the connection (is it running at {proxy.host}:{proxy.port}?)"
    if isinstance(error, aiohttp.ClientConnectorError) and isinstance(error.os_error, ConnectionRefusedError):
        return f"connection refused (is a server listening there?) ({error})"
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
