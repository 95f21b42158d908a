"""The standard-library transport: http.client with keep-alive connection reuse.

It is what runs in a constrained host (only pluggy installed). Idle connections
are kept per origin (and proxy) and reused when the server kept them open; the
pool is guarded by a lock so one transport serves several threads. A request is
sent exactly once: a kept-alive connection the server closed is found by a
liveness check before it is reused, and a failure after that is the client's
to retry or not. After ``os.fork()`` the child opens its own connections and
never touches the parent's.
"""

from __future__ import annotations

import contextlib
import http.client
import select
import socket
import ssl
import threading
from typing import Any, Dict, Iterator, List, Optional, Tuple

from openai_bindings.errors import APIConnectionError
from openai_bindings.http import Request, Response, ThisProcess

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
    where,
)
from ._response import HeaderFastResponse

__all__ = ["StdlibTransport"]

_Key = Tuple[str, str, int, str]
_CHUNK = 65536


class _Route:
    """How to reach one origin, worked out once: its pool key, proxy, and request-target form."""

    __slots__ = ("absolute", "headers", "host", "key", "port", "proxy", "scheme")

    def __init__(self, origin: str, scheme: str, host: str, port: int, proxy: Optional[Proxy]) -> None:
        self.scheme = scheme
        self.host = host
        self.port = port
        self.proxy = proxy
        self.key: _Key = (scheme, host, port, proxy.url if proxy is not None else "")
        # Plain HTTP through a proxy: the absolute URL is the request target and the credentials
        # go with each request. HTTPS: a CONNECT tunnel carries them once, the target stays a path.
        self.absolute = origin if proxy is not None and scheme == "http" else ""
        self.headers: Optional[Dict[str, str]] = None
        if proxy is not None and proxy.auth is not None:
            self.headers = {"Proxy-Authorization": proxy.auth}


class StdlibTransport(SocketTransport):
    """http.client, with ``proxy=``, ``verify=`` and ``trust_env=`` as every built-in transport has.

    ``ssl_context=`` is the older name of ``verify=<SSLContext>``.
    """

    name = "stdlib"

    def __init__(
        self,
        *,
        proxy: Optional[str] = None,
        verify: Verify = True,
        trust_env: bool = True,
        ssl_context: Optional[ssl.SSLContext] = None,
        max_idle_per_host: int = 8,
    ) -> None:
        self._network = Network(proxy=proxy, verify=verify, trust_env=trust_env, ssl_context=ssl_context)
        self._max_idle = max_idle_per_host
        self._idle: Dict[_Key, List[http.client.HTTPConnection]] = {}
        self._routes = Bounded()  # by origin
        self._targets = Bounded()  # by URL: (route, request-target)
        self._lock = threading.Lock()
        self._closed = False
        self._pid = ThisProcess.pid

    # -- the transport API ---------------------------------------------------------------

    def send(self, request: Request) -> Response:
        if self._closed:
            raise APIConnectionError(
                f"{where(request.method, request.url)}: this transport is closed; make a new one"
            )
        if self._pid != ThisProcess.pid:
            self._forget_parent_connections()
        route, target = self._route(request.url)
        timeout = request.timeout
        conn = self._checkout(route, timeout.connect)
        headers = dict(request.headers.items())  # a dict: http.client iterates it at C speed
        if route.headers is not None:
            headers.update(route.headers)
        try:
            sock = conn.sock
            if sock is None:
                conn.connect()
                sock = conn.sock
            if sock is not None:  # None for stand-ins such as vcrpy's
                sock.settimeout(timeout.read)  # connect used the connect timeout; now each read
            conn.request(request.method, target, body=request.body, headers=headers)
            raw = conn.getresponse()
        except BaseException as error:
            conn.close()
            self._network.raise_for(error, request, route.proxy, *self._kind(error, route))
        exchange = _Exchange(self, route.key, conn, raw)
        return Response(
            status=raw.status,
            headers=_header_pairs(raw),
            stream=_body(raw, exchange, self, request, route),
            close=exchange.close,
        )

    def close(self) -> None:
        """Close every idle connection and refuse new requests; a response still open closes its own."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    def __repr__(self) -> str:
        return f"<StdlibTransport{self._network.describe()}>"

    # -- routes and the connection pool ----------------------------------------------------------

    def _route(self, url: str) -> Tuple[_Route, str]:
        """The route to the URL's origin (worked out once per origin) and the request-target;
        both kept by URL too, so a URL sent before costs one lookup."""
        found = self._targets.get(url)
        if found is not None:
            return found
        origin, rest = split_origin(url)
        route = self._routes.get(origin)
        if route is None:
            base, scheme, host, port, _ = origin_of(origin)
            proxy = self._network.proxy_for(scheme, host, port)
            route = _Route(base, scheme, host, port, proxy)
            self._routes.put(origin, route)
        return self._targets.put(url, (route, route.absolute + rest if route.absolute else rest))

    def _checkout(self, route: _Route, connect_timeout: Optional[float]) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        with self._lock:
            idle = self._idle.get(route.key)
            while idle:
                conn = idle.pop()
                if not _dropped(conn):
                    return conn
                conn.close()
        host, port = (route.host, route.port) if route.proxy is None else (route.proxy.host, route.proxy.port)
        if route.scheme == "https":
            conn = http.client.HTTPSConnection(
                host, port, timeout=connect_timeout, context=self._network.ssl_context()
            )
            if route.proxy is not None:
                conn.set_tunnel(route.host, route.port, headers=route.headers)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=connect_timeout)
        conn.response_class = HeaderFastResponse  # http.client's response, headers read without email
        return conn

    def _checkin(self, key: _Key, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self._closed and self._pid == ThisProcess.pid:
                idle = self._idle.setdefault(key, [])
                if len(idle) < self._max_idle:
                    idle.append(conn)
                    return
        conn.close()

    def _forget_parent_connections(self) -> None:
        """In a forked child: the parent's connections are not ours (closing our copies is harmless)."""
        self._lock = threading.Lock()  # the parent's may have been held by a thread the child lacks
        idle, self._idle = self._idle, {}
        self._pid = ThisProcess.pid
        for conns in idle.values():
            for conn in conns:
                conn.close()

    # -- failures ----------------------------------------------------------------------------

    def _kind(self, error: BaseException, route: _Route) -> Tuple[Optional[str], str]:
        """What a failure was, for ``Network.raise_for``: timeout, tls, connection, or not I/O (None)."""
        if isinstance(error, TimeoutError):
            return "timeout", ""
        if isinstance(error, ssl.SSLError) and is_tls_failure(error):
            return "tls", getattr(error, "verify_message", None) or str(error)
        if isinstance(error, (OSError, http.client.HTTPException)):
            return "connection", _reason(error, route)
        return None, ""


class _Exchange(Hold):
    """One response's hold on its connection: back to the pool when read to the end, else closed."""

    __slots__ = ("key", "pid", "raw", "transport")

    def __init__(
        self,
        transport: StdlibTransport,
        key: _Key,
        conn: http.client.HTTPConnection,
        raw: http.client.HTTPResponse,
    ) -> None:
        super().__init__(conn)
        self.transport = transport
        self.key = key
        self.raw = raw
        self.pid = ThisProcess.pid

    def close(self) -> None:
        conn: Optional[http.client.HTTPConnection] = self.let_go()
        if conn is None:
            return
        raw = self.raw
        ours = self.pid == ThisProcess.pid
        complete = self.done or getattr(raw, "length", None) == 0
        if ours and complete and not getattr(raw, "will_close", True):  # (stand-ins lack will_close)
            raw.close()
            self.transport._checkin(self.key, conn)  # read to the end: the connection is reusable
            return
        sock = conn.sock
        if ours and isinstance(sock, socket.socket):
            # Unread bytes on the wire: this connection is done. shutdown() tells the server at
            # once and wakes a read blocked in another thread; close() alone would do neither.
            with contextlib.suppress(OSError, ValueError):
                sock.shutdown(socket.SHUT_RDWR)
        raw.close()
        conn.close()


def _body(
    raw: http.client.HTTPResponse,
    exchange: _Exchange,
    transport: StdlibTransport,
    request: Request,
    route: _Route,
) -> Iterator[bytes]:
    read1 = raw.read1
    try:
        chunk = read1(_CHUNK)
        while chunk:
            yield chunk
            chunk = read1(_CHUNK)
        remaining = getattr(raw, "length", None)
        if remaining:  # read1 reports a short body as a plain end: it is not one
            raise http.client.IncompleteRead(b"", remaining)
    except Exception as error:
        transport._network.raise_for(error, request, route.proxy, *transport._kind(error, route))
    exchange.done = True


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """True when an idle connection was closed by the server (readable = EOF or junk)."""
    sock = conn.sock
    if sock is None:
        return True
    if not isinstance(sock, socket.socket):
        return False  # not a real socket (e.g. a test double): trust it
    fd = sock.fileno()
    if fd < 0:
        return True
    try:
        if _POLL:
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            return bool(poller.poll(0))
        return bool(select.select([fd], [], [], 0)[0])
    except (OSError, ValueError):
        return True


_POLL = hasattr(select, "poll")


def _reason(error: BaseException, route: _Route) -> str:
    if isinstance(error, http.client.IncompleteRead):
        return f"the connection closed mid-body ({len(error.partial)} bytes read, more expected)"
    if isinstance(error, http.client.RemoteDisconnected):
        return (
            "the server closed the connection without answering (the request may or may not have "
            "been processed; it was not sent again)"
        )
    proxy = route.proxy
    text = str(error)
    if proxy is not None and text.startswith("Tunnel connection failed"):
        hint = ": check the user name and password in the proxy URL" if " 407" in text else ""
        return f"the proxy refused to open a tunnel ({text}){hint}"
    if isinstance(error, ConnectionRefusedError):
        if proxy is not None:
            return f"the proxy refused the connection (is it running at {proxy.host}:{proxy.port}?)"
        return f"connection refused (is a server listening at {route.host}:{route.port}?)"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _header_pairs(raw: http.client.HTTPResponse) -> Any:
    """The answer's header pairs as received. ``getheaders()`` runs each through the email
    package's header policy (a good share of a small request's cost); the message keeps the
    raw pairs, which is all a Headers needs."""
    pairs = getattr(raw.msg, "_headers", None)
    return pairs if isinstance(pairs, list) else raw.getheaders()
