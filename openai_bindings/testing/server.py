"""A real HTTP server on 127.0.0.1 for tests: scripted replies, faults, and a record of requests.

Standard library only (it must run where only pluggy is installed), a thread
per connection, an ephemeral port, and it stops by itself: every wait is
bounded and ``close()`` wakes stalled handlers and shuts their sockets.
"""

from __future__ import annotations

import base64
import contextlib
import json
import select
import socket
import ssl
import struct
import threading
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Deque, Dict, List, Optional, TypeVar, Union

from ..http import Headers

__all__ = [
    "CONTROL",
    "Drop",
    "LocalServer",
    "RecordedRequest",
    "Reply",
    "Reset",
    "Stall",
    "tls_ca_path",
    "tls_server_context",
]

#: No handler waits longer than this, whatever a test asks: the server always stops.
MAX_WAIT = 30.0
#: The path segment of the control API: ``{any root}/_control/{queue,release,requests,connections,clear}``.
CONTROL = "/_control/"

#: Response headers a page may read through CORS (the ones a client acts on).
CORS_EXPOSED = (
    "x-request-id, openai-processing-ms, openai-version, retry-after, retry-after-ms, "
    "x-ratelimit-limit-requests, x-ratelimit-remaining-requests, x-ratelimit-reset-requests, "
    "x-ratelimit-limit-tokens, x-ratelimit-remaining-tokens, x-ratelimit-reset-tokens, "
    "content-type, content-length"
)


@dataclass
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str
    query: Dict[str, List[str]]
    headers: Headers
    body: bytes
    connection: int  # which TCP connection carried it (1-based, in accept order)

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


@dataclass
class Reply:
    """An answer. ``chunks`` are sent with chunked encoding (one write each) instead of ``body``.

    ``gate``: after the first chunk, wait for this event before the rest (to prove a
    client reads incrementally). ``delay``: seconds before the status line.
    """

    status: int = 200
    body: Union[bytes, str, Dict[str, Any], List[Any], None] = None
    headers: Dict[str, str] = field(default_factory=dict)
    chunks: Optional[List[bytes]] = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    gate: Optional[threading.Event] = None
    close: bool = False  # send Connection: close and drop the connection after the reply

    def encoded(self) -> tuple[bytes, Dict[str, str]]:
        headers = dict(self.headers)
        body = self.body
        if isinstance(body, (dict, list)):
            headers.setdefault("Content-Type", "application/json")
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            body = body.encode()
        return body or b"", headers


@dataclass
class Stall:
    """Read the request and answer nothing (until ``seconds`` pass or the server closes)."""

    seconds: float = MAX_WAIT


@dataclass
class Drop:
    """Start an answer, send ``sent`` of the body, then drop the connection mid-body.

    ``gate``: wait for this event before dropping (so a test can first see what arrived).
    """

    sent: bytes = b""
    status: int = 200
    headers: Dict[str, str] = field(default_factory=dict)
    chunked: bool = False
    gate: Optional[threading.Event] = None
    rst: bool = False  # abort with a TCP reset instead of a clean close


@dataclass
class Reset:
    """Close the connection right after reading the request, without a status line.

    ``rst``: abort it with a TCP reset (the client sees ECONNRESET) instead of a clean close.
    """

    rst: bool = False


Action = Union[Reply, Stall, Drop, Reset]
_ServerT = TypeVar("_ServerT", bound="Background")
Route = Callable[[RecordedRequest], Action]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read .requests
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: List[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def end_headers(self) -> None:
        if self.server.owner.cors:
            origin = self.headers.get("Origin") or "*"
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Expose-Headers", CORS_EXPOSED)
            if origin != "*":
                self.send_header("Vary", "Origin")
        super().end_headers()

    def do_OPTIONS(self) -> None:
        """A CORS preflight, when the server sends CORS headers; else an ordinary request."""
        if not self.server.owner.cors:
            self._handle()
            return
        self._read_body()
        asked = self.headers.get("Access-Control-Request-Headers")
        self.send_response(204)
        self.send_header("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", asked or "authorization, content-type, openai-beta")
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _handle(self) -> None:
        owner = self.server.owner
        if CONTROL in self.path and owner.control:
            _serve_control(self)
            return
        with owner._lock:
            owner.in_flight += 1
            owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
        try:
            self._answer()
        finally:
            with owner._lock:
                owner.in_flight -= 1

    def _answer(self) -> None:
        owner = self.server.owner
        parts = urllib.parse.urlsplit(self.path)
        recorded = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=urllib.parse.parse_qs(parts.query),
            headers=Headers(self.headers.items()),
            body=self._read_body(),
            connection=owner._numbers.get(id(self.connection), 0),
        )
        with owner._lock:
            owner.requests.append(recorded)
        action = owner._action_for(recorded)
        self._perform(action)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _handle

    def _perform(self, action: Action) -> None:
        owner = self.server.owner
        if isinstance(action, Stall):
            _hold(self, None, action.seconds)
            self.close_connection = True
            return
        if isinstance(action, Reset):
            self.close_connection = True
            if action.rst:
                _abort(self)
            return
        if isinstance(action, Drop):
            self.send_response(action.status)
            for key, value in action.headers.items():
                self.send_header(key, value)
            if action.chunked:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                if action.sent:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(action.sent), action.sent))
            else:
                self.send_header("Content-Length", str(len(action.sent) + 1000))
                self.end_headers()
                self.wfile.write(action.sent)
            self.wfile.flush()
            if action.gate is not None:
                _hold(self, action.gate, MAX_WAIT)
            self.close_connection = True
            if action.rst:
                _abort(self)
            return
        if action.delay and owner._stopping.wait(min(action.delay, MAX_WAIT)):
            return
        body, headers = action.encoded()
        self.send_response(action.status)
        for key, value in headers.items():
            self.send_header(key, value)
        if action.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        if action.chunks is None:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for number, chunk in enumerate(action.chunks):
            if number == 1 and action.gate is not None and not _hold(self, action.gate, MAX_WAIT):
                self.close_connection = True
                return
            if number and action.chunk_delay and owner._stopping.wait(action.chunk_delay):
                return
            if chunk:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver listens with a backlog of 5: a client opening a few hundred connections at
    # once (one async client, 200 concurrent streams) overflows it and the kernel resets some.
    request_queue_size = 1024
    owner: LocalServer

    def finish_request(self, request: Any, client_address: Any) -> None:
        owner = self.owner
        with owner._lock:
            owner.connections += 1
            owner.open_connections += 1
            owner.max_open_connections = max(owner.max_open_connections, owner.open_connections)
            number = owner.connections
            owner._sockets.add(request)
        try:
            request.settimeout(MAX_WAIT)
            # Headers and body leave in separate writes: without this, Nagle's algorithm and the
            # client's delayed ACK add ~40 ms to every response.
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if owner.ssl_context is not None:
                wrapped = owner.ssl_context.wrap_socket(request, server_side=True)
                with owner._lock:
                    owner._sockets.add(wrapped)
                try:
                    self._serve(wrapped, client_address, number)
                finally:
                    with owner._lock:
                        owner._sockets.discard(wrapped)
                    wrapped.close()  # the TLS wrapper is a socket of its own: close it too
            else:
                self._serve(request, client_address, number)
        except (OSError, ssl.SSLError):
            pass  # a client that gave up, or refused our certificate: nothing to answer
        finally:
            with owner._lock:
                owner.closed_connections.append(number)

    def _serve(self, request: Any, client_address: Any, number: int) -> None:
        with self.owner._lock:
            self.owner._numbers[id(request)] = number
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up mid-reply are part of the tests

    def shutdown_request(self, request: Any) -> None:
        with self.owner._lock:
            self.owner._sockets.discard(request)
            self.owner.open_connections -= 1
        super().shutdown_request(request)


class Background:
    """A socketserver served from a daemon thread that always stops: ``with`` it, or start/close.

    ``close()`` wakes every waiting handler (``_stopping``) and shuts down the sockets still
    open (``_sockets``), so no test waits on a handler that waits on a client.
    """

    _server: Any
    _thread: Optional[threading.Thread]
    _stopping: threading.Event
    _lock: threading.Lock
    _sockets: set[Any]
    port: int

    def start(self: _ServerT) -> _ServerT:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                daemon=True,
                name=f"{type(self).__name__}:{self.port}",
            )
            self._thread.start()
        return self

    def close(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._server.server_close()

    def __enter__(self: _ServerT) -> _ServerT:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()


class LocalServer(Background):
    """A scriptable HTTP server on 127.0.0.1; ``with LocalServer() as server: server.url("/x")``.

    Requests are answered by, in order: queued actions (``queue``), routes
    (``route``), then ``default`` (which echoes the request as JSON).
    ``cors=True`` answers preflights and sends CORS headers, so a browser page can
    call it. ``max_in_flight`` is the most requests it was answering at once.
    ``control`` serves the HTTP control API (``{root}/_control/...``, see
    ``handle_control``) through which a host that cannot start a server scripts this one.
    """

    def __init__(
        self,
        *,
        ssl_context: Optional[ssl.SSLContext] = None,
        host: str = "127.0.0.1",
        port: int = 0,
        cors: bool = False,
        control: bool = True,
    ) -> None:
        self.ssl_context = ssl_context
        self.cors = cors
        self.control = control
        self.requests: List[RecordedRequest] = []
        self.connections = 0  # accepted so far
        self.open_connections = 0  # not yet closed (by either side)
        self.max_open_connections = 0  # the most open at once
        self.closed_connections: List[int] = []  # numbers of the connections that have ended
        self.in_flight = 0  # requests being answered
        self.max_in_flight = 0  # the most answered at once
        self._gates: Dict[str, threading.Event] = {}
        self._queue: Deque[tuple[Optional[str], Action]] = deque()
        self._routes: Dict[tuple[str, str], Route] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._sockets: set[Any] = set()
        self._numbers: Dict[int, int] = {}
        self._server = _Server((host, port), _Handler, bind_and_activate=True)
        self._server.owner = self
        self._thread: Optional[threading.Thread] = None
        bound, port = self._server.server_address[:2]
        self.host: str = bound if isinstance(bound, str) else bytes(bound).decode()
        self.port: int = port

    # -- addresses ---------------------------------------------------------------------

    @property
    def origin(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        host = "localhost" if self.ssl_context is not None else self.host
        return f"{scheme}://{host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.origin + path

    # -- scripting ---------------------------------------------------------------------

    def queue(self, *actions: Action, path: Optional[str] = None) -> None:
        """Answer the next requests (to ``path`` only, when given) with these actions, in order."""
        with self._lock:
            self._queue.extend((path, action) for action in actions)

    def route(self, method: str, path: str, handler: Route) -> None:
        self._routes[(method.upper(), path)] = handler

    def _action_for(self, request: RecordedRequest) -> Action:
        with self._lock:
            for position, (path, action) in enumerate(self._queue):
                if path is None or path == request.path:
                    del self._queue[position]
                    return action
        handler = self._routes.get((request.method, request.path))
        if handler is not None:
            return handler(request)
        return self.default(request)

    def default(self, request: RecordedRequest) -> Action:
        """Echo the request back as JSON (what the transport tests check against)."""
        return Reply(
            body={
                "method": request.method,
                "path": request.path,
                "query": request.query,
                "headers": dict(request.headers),
                "body": request.body.decode("utf-8", "replace"),
            },
            headers={"X-Request-Id": f"req_{len(self.requests)}", "X-Echo": "yes"},
        )

    def wait_for_closed(self, timeout: float = 5.0, open_at_most: int = 0) -> bool:
        """Wait until at most ``open_at_most`` connections are open (True), or the time is up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.open_connections <= open_at_most:
                return True
            time.sleep(0.01)
        return False

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.requests) >= count:
                return True
            time.sleep(0.01)
        return False

    # -- connections and gates -----------------------------------------------------------

    def wait_for_connection_closed(self, number: int, timeout: float = 5.0) -> bool:
        """Wait until connection ``number`` (1-based, as in ``RecordedRequest.connection``) has ended."""
        deadline = time.monotonic() + min(timeout, MAX_WAIT)
        while time.monotonic() < deadline:
            if number in self.closed_connections:
                return True
            time.sleep(0.005)
        return number in self.closed_connections

    def gate(self, name: str) -> threading.Event:
        """The named gate (made on first use), for actions scripted over the control API."""
        with self._lock:
            gate = self._gates.get(name)
            if gate is None:
                gate = self._gates[name] = threading.Event()
            return gate

    def handle_control(self, method: str, verb: str, data: Any = None, *, since: int = 0) -> Any:
        """One control verb (what ``{root}/_control/{verb}`` serves; the kit calls it directly too).

        ``POST queue`` an action or a list (each may name the ``path`` it answers),
        ``POST release {"gate": name}``, ``GET requests`` (from index ``since``),
        ``GET connections`` (opened count, closed numbers), ``POST clear``.
        """
        if verb == "queue" and method == "POST":
            items = data if isinstance(data, list) else [data]
            for item in items:
                self.queue(self.control_action(item), path=item.get("path"))
            return {"queued": len(items)}
        if verb == "release" and method == "POST":
            self.gate(str(data["gate"])).set()
            return {"released": data["gate"]}
        if verb == "requests" and method == "GET":
            with self._lock:
                recorded = self.requests[since:]
            return [
                {
                    "method": r.method,
                    "path": r.path,
                    "query": r.query,
                    "headers": list(r.headers.items()),
                    "body_base64": base64.b64encode(r.body).decode("ascii"),
                    "connection": r.connection,
                }
                for r in recorded
            ]
        if verb == "connections" and method == "GET":
            with self._lock:
                return {"opened": self.connections, "closed": list(self.closed_connections)}
        if verb == "clear" and method == "POST":
            with self._lock:
                self._queue.clear()
                gates, self._gates = self._gates, {}
            for gate in gates.values():
                gate.set()
            return {"cleared": True}
        raise LookupError(f"no control verb {method} {verb!r}: queue, release, requests, connections, clear")

    def control_action(self, data: Dict[str, Any]) -> Action:
        """An action from its JSON form, as ``POST {root}/_control/queue`` takes it.

        ``{"action": "reply", "status": 200, "headers": {...}, "body": "text" | {...},
        "chunks": ["...", ...], "gate": "name", "delay": 0, "chunk_delay": 0, "close": false}``;
        ``{"action": "stall", "seconds": 5}``; ``{"action": "drop", "sent": "...",
        "chunked": false, "gate": "name", "rst": false}``; ``{"action": "reset", "rst": false}``.
        Text fields take UTF-8 text; ``body_base64`` / ``chunks_base64`` / ``sent_base64``
        take any bytes. A ``gate`` is opened with ``POST {root}/_control/release {"gate": name}``.
        """
        kind = data.get("action", "reply")
        gate = self.gate(str(data["gate"])) if data.get("gate") is not None else None
        headers = {str(k): str(v) for k, v in (data.get("headers") or {}).items()}
        if kind == "reply":
            body: Any = data.get("body")
            if "body_base64" in data:
                body = base64.b64decode(data["body_base64"])
            chunks = data.get("chunks")
            if "chunks_base64" in data:
                chunks = [base64.b64decode(c) for c in data["chunks_base64"]]
            elif chunks is not None:
                chunks = [str(c).encode("utf-8") for c in chunks]
            return Reply(
                status=int(data.get("status", 200)),
                body=body,
                headers=headers,
                chunks=chunks,
                delay=float(data.get("delay", 0)),
                chunk_delay=float(data.get("chunk_delay", 0)),
                gate=gate,
                close=bool(data.get("close", False)),
            )
        if kind == "stall":
            return Stall(float(data.get("seconds", MAX_WAIT)))
        if kind == "drop":
            sent = data.get("sent", "")
            return Drop(
                sent=base64.b64decode(data["sent_base64"]) if "sent_base64" in data else str(sent).encode(),
                status=int(data.get("status", 200)),
                headers=headers,
                chunked=bool(data.get("chunked", False)),
                gate=gate,
                rst=bool(data.get("rst", False)),
            )
        if kind == "reset":
            return Reset(rst=bool(data.get("rst", False)))
        raise ValueError(f"unknown action {kind!r}: use reply, stall, drop or reset")


def _hold(handler: _Handler, gate: Optional[threading.Event], seconds: float) -> bool:
    """Wait for ``gate`` (or ``seconds`` when there is none). False when the wait ended otherwise:
    the client closed the connection (a handler notices at once), or the server is stopping."""
    owner = handler.server.owner
    deadline = time.monotonic() + min(seconds, MAX_WAIT)
    while True:
        if gate is not None and gate.is_set():
            return True
        if owner._stopping.is_set() or _client_gone(handler.connection):
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return gate is None
        (gate or owner._stopping).wait(min(0.01, remaining))


def _client_gone(sock: Any) -> bool:
    """True when the client closed (or reset) the connection while we hold an answer back."""
    try:
        if not select.select([sock], [], [], 0)[0]:
            return False
        if isinstance(sock, ssl.SSLSocket):
            return True  # nothing arrives mid-answer but a close_notify or the end
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def _abort(handler: _Handler) -> None:
    """Reset the connection (RST, not FIN): linger 0, then close every reference to the socket."""
    sock = handler.connection
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    for stream in (handler.rfile, handler.wfile):
        with contextlib.suppress(OSError, ValueError):
            stream.close()
    with contextlib.suppress(OSError):
        sock.close()


def _serve_control(handler: _Handler) -> None:
    """Answer ``{root}/_control/{verb}`` with ``LocalServer.handle_control`` (JSON in, JSON out)."""
    owner = handler.server.owner
    parts = urllib.parse.urlsplit(handler.path)
    verb = parts.path.rsplit(CONTROL, 1)[1].strip("/")
    raw = handler._read_body()
    try:
        data = json.loads(raw) if raw else None
        since = int(urllib.parse.parse_qs(parts.query).get("since", ["0"])[0])
        answer = owner.handle_control(handler.command, verb, data, since=since)
    except LookupError as error:
        handler._perform(Reply(status=404, body={"error": str(error)}))
        return
    except (ValueError, TypeError) as error:
        handler._perform(Reply(status=400, body={"error": f"bad control request: {error}"}))
        return
    handler._perform(Reply(body=answer))


def tls_ca_path() -> str:
    """The static test CA (PEM) that signed ``tls_server_context()``'s certificate."""
    return str(_CERTS / "ca.pem")


def tls_server_context() -> ssl.SSLContext:
    """A server-side TLS context for localhost / 127.0.0.1 / ::1, signed by ``tls_ca_path()``.

    Static material shipped with the package (made by tools/make_test_certs.py), so a TLS
    test server runs where trustme is not installed. Never trust this CA outside tests.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(_CERTS / "server.pem"), str(_CERTS / "server.key"))
    return context


_CERTS = Path(__file__).resolve().parent / "certs"
