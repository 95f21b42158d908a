"""The urllib3 transport: one pool per origin, no retries of its own, the body streamed as it arrives.

urllib3 is imported when the first transport is built, never at
``import openai_bindings``. Proxies go through urllib3's ``ProxyManager`` (plain
HTTP forwarded, HTTPS through ``CONNECT``). A response that was not read to its
end never returns a live-looking connection to the pool: its connection is shut
down and closed first, so the pool reconnects instead of reusing a dead socket.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
from typing import Any, Dict, Iterator, Optional, Tuple

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

__all__ = ["Urllib3Transport"]

_CHUNK = 65536


class Urllib3Transport(SocketTransport):
    """urllib3 with ``retries=False`` (retries live in the client, once) and ``preload_content=False``.

    Takes ``proxy=``, ``verify=`` and ``trust_env=`` as every built-in transport does;
    ``ssl_context=`` is the older name of ``verify=<SSLContext>``. Other keywords go to
    urllib3's pools (``maxsize``, ``block``, ...).
    """

    name = "urllib3"
    requires = ("urllib3",)
    extra = "urllib3"

    def __init__(
        self,
        *,
        proxy: Optional[str] = None,
        verify: Verify = True,
        trust_env: bool = True,
        ssl_context: Optional[ssl.SSLContext] = None,
        maxsize: int = 10,
        **pool_kwargs: Any,
    ) -> None:
        import urllib3

        self._urllib3 = urllib3
        self._network = Network(proxy=proxy, verify=verify, trust_env=trust_env, ssl_context=ssl_context)
        self._pool_kwargs: Dict[str, Any] = {"maxsize": maxsize, "retries": False, **pool_kwargs}
        self._lock = threading.Lock()
        self._closed = False
        self._pid = ThisProcess.pid
        self._managers: Dict[str, Any] = {}  # "" = direct, else the proxy's URL
        self._routes = Bounded()  # by origin: (pool, absolute, proxy)
        self._targets = Bounded()  # by URL: (pool, request-target, proxy)
        self._timeouts = Bounded(64)  # ours -> urllib3's Timeout
        self.pool = self._manager(None)  # the direct PoolManager (the first round's attribute)

    # -- the transport API -------------------------------------------------------------------

    def send(self, request: Request) -> Response:
        if self._closed:
            raise APIConnectionError(
                f"{where(request.method, request.url)}: this transport is closed; make a new one"
            )
        if self._pid != ThisProcess.pid:
            self._forget_parent_connections()
        body = request.body
        found = self._targets.get(request.url)
        if found is None or found[0].pool is None:  # a new URL, or a pool the manager evicted
            found = self._target(request.url)
        pool, target, proxy = found
        try:
            raw = pool.urlopen(
                request.method,
                target,
                body=body,
                headers=dict(request.headers.items()),  # a dict: urllib3 iterates it at C speed
                timeout=self._timeout(request.timeout),
                retries=False,
                redirect=False,
                assert_same_host=False,
                preload_content=False,
                decode_content=True,
                chunked=body is not None
                and not isinstance(body, bytes)
                and "content-length" not in request.headers,
            )
        except Exception as error:
            self._network.raise_for(error, request, proxy, *self._kind(error, proxy))
        exchange = _Exchange(raw)
        return Response(
            status=raw.status,
            headers=raw.headers.items(),
            stream=_body(raw, exchange, self, request, proxy),
            close=exchange.close,
        )

    def close(self) -> None:
        """Close idle connections and refuse new requests; a response still open closes its own."""
        with self._lock:
            self._closed = True
            managers, self._managers = self._managers, {}
            self._routes, self._targets = Bounded(), Bounded()
        for manager in managers.values():
            manager.clear()

    def __repr__(self) -> str:
        return f"<Urllib3Transport{self._network.describe()}>"

    # -- pools ---------------------------------------------------------------------------------

    def _target(self, url: str) -> Tuple[Any, str, Optional[Proxy]]:
        """(pool, request-target, proxy) for a URL, kept by URL: a URL sent before costs one lookup."""
        origin, rest = split_origin(url)
        pool, absolute, proxy = self._route(origin)
        return self._targets.put(url, (pool, origin + rest if absolute else rest, proxy))

    def _route(self, origin: str) -> Tuple[Any, bool, Optional[Proxy]]:
        """(pool, absolute, proxy) for an origin: its pool, and whether the request-target is the
        absolute URL (plain HTTP through a proxy) rather than the path."""
        route = self._routes.get(origin)
        if route is None or route[0].pool is None:  # new origin, or a pool the manager evicted
            _, scheme, host, port, _ = origin_of(origin)
            proxy = self._network.proxy_for(scheme, host, port)
            pool_kwargs: Optional[Dict[str, Any]] = None
            if scheme == "https":
                pool_kwargs = {"ssl_context": self._network.ssl_context()}
                if not self._network.verifies:
                    pool_kwargs.update(cert_reqs="CERT_NONE", assert_hostname=False)
            pool = self._manager(proxy).connection_from_host(host, port, scheme, pool_kwargs=pool_kwargs)
            route = (pool, proxy is not None and scheme == "http", proxy)
            with self._lock:
                self._routes.put(origin, route)
        return route

    def _manager(self, proxy: Optional[Proxy]) -> Any:
        key = proxy.url if proxy is not None else ""
        manager = self._managers.get(key)
        if manager is None:
            with self._lock:
                manager = self._managers.get(key)
                if manager is None:
                    urllib3 = self._urllib3
                    if proxy is None:
                        manager = urllib3.PoolManager(num_pools=32, **self._pool_kwargs)
                    else:
                        headers = {"Proxy-Authorization": proxy.auth} if proxy.auth else None
                        manager = urllib3.ProxyManager(
                            proxy.url, num_pools=32, proxy_headers=headers, **self._pool_kwargs
                        )
                    self._managers[key] = manager
        return manager

    def _timeout(self, timeout: Any) -> Any:
        """urllib3's Timeout for ours, made once per distinct value."""
        made = self._timeouts.get(timeout)
        if made is None:
            made = self._urllib3.Timeout(connect=timeout.connect, read=timeout.read)
            self._timeouts.put(timeout, made)
        return made

    def _forget_parent_connections(self) -> None:
        """In a forked child: start with new pools; close our copies of the parent's sockets.

        No urllib3 lock is taken: a thread of the parent may have held one at the fork.
        """
        self._lock = threading.Lock()
        managers, self._managers, self._routes, self._targets = self._managers, {}, Bounded(), Bounded()
        self._pid = ThisProcess.pid
        for manager in managers.values():
            for pool in list(getattr(manager.pools, "_container", {}).values()):
                for conn in list(getattr(getattr(pool, "pool", None), "queue", ())):
                    sock = getattr(conn, "sock", None)
                    if sock is not None:
                        sock.close()  # our descriptor only: the parent's connection lives on
        self.pool = self._manager(None)

    # -- failures ----------------------------------------------------------------------------------

    def _kind(self, error: BaseException, proxy: Optional[Proxy]) -> Tuple[Optional[str], str]:
        """What a failure was, for ``Network.raise_for``: timeout, tls, connection, or not I/O (None)."""
        exceptions = self._urllib3.exceptions
        # NewConnectionError subclasses ConnectTimeoutError in urllib3, but a refusal is no timeout.
        refused = isinstance(error, exceptions.NewConnectionError)
        if not refused and isinstance(error, (exceptions.TimeoutError, TimeoutError)):
            return "timeout", ""
        if isinstance(error, (exceptions.HTTPError, OSError, http.client.HTTPException)):
            if is_tls_failure(error):
                return "tls", _tls_detail(error)
            return "connection", _reason(error, exceptions, proxy)
        return None, ""


class _Exchange(Hold):
    """One response's hold on its connection: released when read to the end, else closed first."""

    __slots__ = ("pid",)

    def __init__(self, raw: Any) -> None:
        super().__init__(raw)
        self.pid = ThisProcess.pid

    def close(self) -> None:
        raw = self.let_go()
        if raw is None:
            return
        if self.done:
            raw.release_conn()
            return
        # Not read to the end: the connection must not go back looking alive. urllib3's
        # ``closed`` may already say True (its file object was finalized first), so ask it
        # nothing: shut the socket down (wakes a read blocked in another thread, and the
        # server sees the close at once), close the connection, then free the pool's slot.
        if self.pid == ThisProcess.pid:
            with contextlib.suppress(Exception):  # released, unconnected, or a stand-in
                raw.shutdown()
        raw.close()
        release = getattr(raw, "release_conn", None)  # absent on some stand-ins (vcrpy 8)
        if release is not None:
            release()  # a closed connection: the pool reconnects when it next hands it out


def _body(
    raw: Any, exchange: _Exchange, transport: Urllib3Transport, request: Request, proxy: Optional[Proxy]
) -> Iterator[bytes]:
    fp: Any = getattr(raw, "_fp", None)
    direct = (
        type(fp) is http.client.HTTPResponse
        and raw.headers.get("content-encoding", "identity").lower() == "identity"
    )
    try:
        if direct:
            # Nothing to decode: read http.client's response directly, as the stdlib transport
            # does, instead of through urllib3's per-call error catcher and decode buffer.
            read1 = fp.read1
            chunk = read1(_CHUNK)
            while chunk:
                yield chunk
                chunk = read1(_CHUNK)
            if fp.length:  # read1 reports a short body as a plain end: it is not one
                raise http.client.IncompleteRead(b"", fp.length)
            raw.release_conn()  # what urllib3 does when its file reaches the end
        else:
            # read1 returns what one recv gives instead of blocking for a full amount, so the
            # first event of a non-chunked stream reaches the caller as soon as it arrives.
            read1 = raw.read1
            chunk = read1(_CHUNK)
            while chunk:
                yield chunk
                chunk = read1(_CHUNK)
    except Exception as error:
        transport._network.raise_for(error, request, proxy, *transport._kind(error, proxy))
    exchange.done = True


def _tls_detail(error: BaseException) -> str:
    current: Optional[BaseException] = error
    for _ in range(8):
        if current is None:
            break
        if isinstance(current, ssl.SSLCertVerificationError):
            return current.verify_message or str(current)
        reason = getattr(current, "reason", None)
        current = reason if isinstance(reason, BaseException) else (current.__cause__ or current.__context__)
    return str(error)


def _reason(error: BaseException, exceptions: Any, proxy: Optional[Proxy]) -> str:
    inner: Any = error
    for _ in range(4):  # MaxRetryError / ProxyError / ProtocolError carry the real failure inside
        nested = getattr(inner, "reason", None)
        if not isinstance(nested, BaseException) and isinstance(inner, exceptions.ProtocolError):
            nested = inner.args[1] if len(inner.args) > 1 else None
        if not isinstance(nested, BaseException):
            break
        inner = nested
    text = str(inner)
    if isinstance(inner, http.client.RemoteDisconnected):
        return (
            "the server closed the connection without answering (the request may or may not have "
            "been processed; it was not sent again)"
        )
    if isinstance(inner, http.client.IncompleteRead):
        return f"the connection closed mid-body ({len(inner.partial)} bytes read, more expected)"
    if proxy is not None and "Tunnel connection failed" in text:
        hint = ": check the user name and password in the proxy URL" if " 407" in text else ""
        return f"the proxy refused to open a tunnel ({text.split(': ', 1)[-1]}){hint}"
    if isinstance(inner, (exceptions.NewConnectionError, ConnectionRefusedError)):
        cause = inner.__cause__ or inner.__context__
        refused = isinstance(cause, ConnectionRefusedError) or isinstance(inner, ConnectionRefusedError)
        if refused and proxy is not None:
            return f"the proxy refused the connection (is it running at {proxy.host}:{proxy.port}?)"
        if refused:
            return f"connection refused (is a server listening there?) ({text})"
    if isinstance(inner, (socket.gaierror, exceptions.NameResolutionError)):
        return f"the host name could not be resolved ({text})"
    return f"{type(inner).__name__}: {text}" if text else type(inner).__name__
