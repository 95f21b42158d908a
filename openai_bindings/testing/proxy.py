"""A small HTTP proxy on 127.0.0.1 for tests: forwards plain HTTP, tunnels CONNECT, counts both.

Standard library only, a thread per client connection, an ephemeral port. It
proxies only to loopback addresses (a test must never reach the internet
through it), can require Basic credentials (``credentials=("user", "pass")``)
and records what passed through, so a test can prove that a transport used the
proxy, or did not::

    with ProxyServer(credentials=("user", "secret")) as proxy:
        transport = StdlibTransport(proxy=proxy.url_with_credentials)
        ...
        assert proxy.forwarded == 1

Each client connection carries one exchange: a forwarded request is answered
with ``Connection: close``, a tunnel lasts until either side closes.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import select
import socket
import socketserver
import threading
import urllib.parse
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

from .server import Background

__all__ = ["ProxiedRequest", "ProxyServer"]

#: No wait of the proxy lasts longer than this: it always stops.
MAX_WAIT = 30.0


@dataclass(frozen=True)
class ProxiedRequest:
    """What a client asked the proxy for: ``CONNECT host:port`` or ``GET http://host:port/path``."""

    method: str
    target: str
    authorized: bool  # False: answered 407 (credentials required and missing or wrong)


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        owner = self.server.owner
        client: socket.socket = self.request
        client.settimeout(MAX_WAIT)
        head = _read_head(client)
        if head is None:
            return
        raw_head, rest = head
        lines = raw_head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            client.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:] if ":" in line]
        authorized = owner._authorized(headers)
        owner._record(ProxiedRequest(method, target, authorized))
        if not authorized:
            client.sendall(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                b'Proxy-Authenticate: Basic realm="openai-bindings test proxy"\r\n'
                b"Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
            return
        if method.upper() == "CONNECT":
            self._tunnel(client, target, rest)
        else:
            self._forward(client, method, target, version, headers, rest)

    def _upstream(self, client: socket.socket, host: str, port: int) -> Optional[socket.socket]:
        if not _is_loopback(host):
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return None
        try:
            upstream = socket.create_connection((host, port), timeout=5)
        except OSError:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return None
        upstream.settimeout(MAX_WAIT)
        self.server.owner._track(upstream)
        return upstream

    def _tunnel(self, client: socket.socket, target: str, rest: bytes) -> None:
        host, _, port = target.rpartition(":")
        upstream = self._upstream(client, host.strip("[]"), int(port or 443))
        if upstream is None:
            return
        with upstream:
            self.server.owner._count("tunnels")
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            _pipe(client, upstream, self.server.owner._stopping)

    def _forward(
        self,
        client: socket.socket,
        method: str,
        target: str,
        version: str,
        headers: List[Tuple[str, ...]],
        rest: bytes,
    ) -> None:
        parts = urllib.parse.urlsplit(target)
        if parts.scheme != "http" or not parts.hostname:
            client.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        upstream = self._upstream(client, parts.hostname, parts.port or 80)
        if upstream is None:
            return
        with upstream:
            self.server.owner._count("forwarded")
            path = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
            kept = [
                f"{name}: {value}"
                for name, value in headers
                if name.lower() not in ("proxy-authorization", "proxy-connection", "connection")
            ]
            head = "\r\n".join([f"{method} {path} {version}", *kept, "Connection: close", "", ""])
            upstream.sendall(head.encode("latin-1") + rest)
            # The body may come after the head in writes of its own (http.client sends them apart):
            # pass all of it on before waiting for the answer, or both ends wait on each other.
            length = next((int(v) for n, v in headers if n.lower() == "content-length" and v.isdigit()), 0)
            missing = length - len(rest)
            while missing > 0:
                try:
                    piece = client.recv(min(missing, 65536))
                except OSError:
                    return
                if not piece:
                    return
                upstream.sendall(piece)
                missing -= len(piece)
            # The answer says "Connection: close", so the client never sends a second request
            # on a connection the proxy is about to close.
            answer = _read_head(upstream)
            if answer is None:
                return
            answer_head, body = answer
            status, *fields = answer_head.decode("latin-1").split("\r\n")
            fields = [field for field in fields if not field.lower().startswith("connection:")]
            client.sendall(
                "\r\n".join([status, *fields, "Connection: close", "", ""]).encode("latin-1") + body
            )
            _pipe(client, upstream, self.server.owner._stopping)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # socketserver's 5 resets connections a busy client opens at once
    owner: ProxyServer

    def finish_request(self, request: Any, client_address: Any) -> None:
        self.owner._track(request)
        with contextlib.suppress(OSError):
            super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up are part of the tests


class ProxyServer(Background):
    """A forwarding and CONNECT proxy on 127.0.0.1 that counts what passes through it."""

    def __init__(self, *, credentials: Optional[Tuple[str, str]] = None, host: str = "127.0.0.1") -> None:
        self.credentials = credentials
        self.requests: List[ProxiedRequest] = []
        self.forwarded = 0  # plain-HTTP requests passed on
        self.tunnels = 0  # CONNECT tunnels opened
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._sockets: set[Any] = set()
        self._server = _Server((host, 0), _Handler)
        self._server.owner = self
        self._thread: Optional[threading.Thread] = None
        self.host: str = str(self._server.server_address[0])
        self.port: int = int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The proxy's URL, without credentials."""
        return f"http://{self.host}:{self.port}"

    @property
    def url_with_credentials(self) -> str:
        """The proxy's URL with the credentials it requires (``http://user:pass@host:port``)."""
        if self.credentials is None:
            return self.url
        user, password = (urllib.parse.quote(part, safe="") for part in self.credentials)
        return f"http://{user}:{password}@{self.host}:{self.port}"

    @property
    def refused(self) -> int:
        """Requests answered 407 for missing or wrong credentials."""
        return sum(1 for request in self.requests if not request.authorized)

    def __repr__(self) -> str:
        return f"<ProxyServer {self.url} forwarded={self.forwarded} tunnels={self.tunnels}>"

    # -- used by the handler -------------------------------------------------------------

    def _authorized(self, headers: List[Tuple[str, ...]]) -> bool:
        if self.credentials is None:
            return True
        expected = "Basic " + base64.b64encode(":".join(self.credentials).encode()).decode()
        return any(
            len(pair) == 2 and pair[0].lower() == "proxy-authorization" and pair[1] == expected
            for pair in headers
        )

    def _record(self, request: ProxiedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets = {s for s in self._sockets if s.fileno() != -1}
            self._sockets.add(sock)


def _read_head(sock: socket.socket) -> Optional[Tuple[bytes, bytes]]:
    """The request head (up to the blank line) and whatever arrived after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = sock.recv(65536)
        except OSError:
            return None
        if not chunk or len(data) > 65536:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _pipe(one: socket.socket, other: socket.socket, stopping: threading.Event) -> None:
    """Copy bytes both ways until either side closes (or the proxy stops)."""
    peers = {one: other, other: one}
    while not stopping.is_set():
        try:
            readable, _, _ = select.select(list(peers), [], [], 0.1)
        except (OSError, ValueError):
            return
        for sock in readable:
            try:
                data = sock.recv(65536)
                if not data:
                    return
                peers[sock].sendall(data)
            except OSError:
                return


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
