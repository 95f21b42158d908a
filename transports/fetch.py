"""The WebAssembly transports: JavaScript's ``fetch`` (async) and synchronous ``XMLHttpRequest``.

Under Pyodide (browsers, JupyterLite, Node) there are no sockets and no threads:
the host's HTTP is JavaScript's. ``fetch`` is the async transport and streams the
answer from the response's ``ReadableStream`` as it arrives. ``xhr`` is its sync
twin for ``OpenAI``: synchronous ``XMLHttpRequest`` exists only in a browser's web
workers, so it is usable there alone. They are two registered names because the
plugin manager takes a class with ``async def send`` as async-only.

``js`` and ``pyodide`` are imported only inside the methods, so this module
imports (and registers) on CPython too, where both say why they are not usable.

The body is read by a small JavaScript pump that takes each chunk off the stream as it
arrives (up to ``READ_AHEAD`` bytes ahead of the consumer): a stream that errors discards
what it still holds, so what arrived before a cut connection is delivered before the error.

Timeouts: ``fetch`` does not tell when the connection is made, so the wait for
the answer's headers is bounded by ``connect + read`` (what the socket
transports allow for connecting and then for the first byte) and each later
wait for a chunk by ``read``; a timer aborts the request through its
``AbortController``. Synchronous XHR has one timer for the whole exchange.
"""

from __future__ import annotations

import sys
from typing import Any, AsyncIterator, Iterable, List, NoReturn, Optional, Tuple

from openai_bindings.errors import APIConnectionError, APITimeoutError
from openai_bindings.http import Request, Response

__all__ = ["FetchTransport", "XHRTransport"]

#: Headers a page may not set (the Fetch standard's forbidden names, which the host sets
#: itself), plus User-Agent: a browser keeps its own, and it would force a CORS preflight.
_HOST_HEADERS = frozenset(
    {
        "accept-charset",
        "accept-encoding",
        "access-control-request-headers",
        "access-control-request-method",
        "connection",
        "content-length",
        "cookie",
        "cookie2",
        "date",
        "dnt",
        "expect",
        "host",
        "keep-alive",
        "origin",
        "referer",
        "set-cookie",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "via",
    }
)


def _emscripten_reason() -> Optional[str]:
    if sys.platform != "emscripten":
        return (
            "runs only under Pyodide/Emscripten (sys.platform 'emscripten'), where JavaScript's "
            f"HTTP is the only HTTP; this is {sys.platform!r}"
        )
    return None


def _outgoing(request: Request) -> dict[str, str]:
    return {
        key: value
        for key, value in request.headers.items()
        if key.lower() not in _HOST_HEADERS and not key.lower().startswith(("proxy-", "sec-"))
    }


def _body(body: Any) -> Any:
    """The request body as a JavaScript Uint8Array (or None); iterable bodies are joined,
    since browsers stream uploads only over HTTP/2."""
    if body is None:
        return None
    if not isinstance(body, (bytes, bytearray, memoryview)):
        body = b"".join(_chunks(body))
    if not body:
        return None
    import js

    array = js.Uint8Array.new(len(body))
    array.assign(body)
    return array


def _chunks(body: Iterable[bytes]) -> Iterable[bytes]:
    for chunk in body:
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise TypeError(f"a streamed request body must yield bytes, got {type(chunk).__name__}")
        yield bytes(chunk)


def _incoming(pairs: Iterable[Tuple[str, str]]) -> List[Tuple[str, str]]:
    """Response headers as the body we hand on is: the host already decoded any
    Content-Encoding, so the encoded length and the encoding no longer describe it."""
    headers = [(str(key), str(value)) for key, value in pairs]
    if any(key.lower() == "content-encoding" for key, _ in headers):
        headers = [(k, v) for k, v in headers if k.lower() not in ("content-encoding", "content-length")]
    return headers


def _milliseconds(*seconds: Optional[float]) -> Optional[int]:
    """A timer's delay for the sum of these bounds; None when any is unbounded."""
    if any(value is None for value in seconds):
        return None
    return max(1, round(sum(value for value in seconds if value is not None) * 1000))


def _where(request: Request) -> str:
    return f"{request.method} {request.url.split('?', 1)[0]}"


def _describe(error: Any) -> str:
    """A JavaScript error's name and message, with its cause (Node says why a fetch failed there)."""
    name = getattr(error, "name", None) or type(error).__name__
    text = f"{name}: {getattr(error, 'message', None) or error}"
    cause = getattr(error, "cause", None)
    if cause is not None and getattr(cause, "message", None):
        text += f" ({getattr(cause, 'code', None) or getattr(cause, 'name', 'cause')}: {cause.message})"
    return text


_BROWSER_HINT = (
    "; in a browser a server that sends no CORS headers fails the same way (a local "
    "`openai-bindings fake-server --cors` sends them)"
)


#: Bytes read ahead of the consumer, at most (then the pump waits for it to take some).
READ_AHEAD = 1 << 20

#: The fetch and its body pump, in JavaScript: the pump starts reading in the same microtask
#: that delivers the headers, and keeps one read pending, so every chunk leaves the stream's
#: queue as it arrives. A stream that then errors (a connection cut mid-body) discards its
#: queue; what the pump already took is still delivered before the error.
_PUMP_SOURCE = """
(url, init, limit) => {
  const x = { chunks: [], size: 0, done: false, failed: false, error: null, paused: false, reader: null,
              waiting: null };
  const wake = () => { const waiting = x.waiting; x.waiting = null; if (waiting) waiting(); };
  const pump = () => x.reader.read().then(({ done, value }) => {
    if (done) x.done = true;
    else {
      x.chunks.push(value);
      x.size += value.byteLength;
      if (x.size < limit) pump(); else x.paused = true;
    }
    wake();
  }, (error) => { x.error = error; x.failed = true; x.done = true; wake(); });
  x.take = () => {
    const chunk = x.chunks.shift();
    if (chunk !== undefined) {
      x.size -= chunk.byteLength;
      if (x.paused && x.size < limit) { x.paused = false; pump(); }
    }
    return chunk;
  };
  x.wait = () => new Promise((resolve) => {
    if (x.chunks.length || x.done) resolve(); else x.waiting = resolve;
  });
  x.head = fetch(url, init).then((response) => {
    if (response.body) { x.reader = response.body.getReader(); pump(); } else x.done = true;
    return response;
  });
  return x;
}
"""
_pump: Any = None


def _start(url: str, init: Any) -> Any:
    """Start the fetch and its pump; the JavaScript function is made once per interpreter."""
    global _pump
    if _pump is None:
        from pyodide.code import run_js

        _pump = run_js(_PUMP_SOURCE)
    return _pump(url, init, READ_AHEAD)


class _Exchange:
    """One fetch: its AbortController, the timer armed on it, and whether we aborted it."""

    def __init__(self, request: Request) -> None:
        import js

        self.request = request
        self.where = _where(request)
        self.controller = js.AbortController.new()
        self.timer: Any = None
        self.closing = False
        self.pump: Any = None
        self.finished = False

    def arm(self, delay: Optional[int]) -> None:
        import js

        if delay is not None:
            # bind() keeps a JavaScript function: no Python callback to proxy and destroy.
            self.timer = js.setTimeout(self.controller.abort.bind(self.controller), delay)

    def disarm(self) -> None:
        if self.timer is not None:
            import js

            js.clearTimeout(self.timer)
            self.timer = None

    def fail(self, error: Any, waiting_for: str) -> NoReturn:
        cause = error if isinstance(error, BaseException) else None  # JavaScript may reject with anything
        if self.controller.signal.aborted and not self.closing:
            raise APITimeoutError(f"{self.where}: timed out waiting for the {waiting_for}") from cause
        raise APIConnectionError(f"{self.where}: {_describe(error)}{_BROWSER_HINT}") from cause

    def close(self) -> None:
        """Stop the exchange: abort the fetch, which cancels the body's reader and its connection."""
        self.disarm()
        if not self.finished:
            self.finished = True
            self.closing = True
            self.controller.abort()


class _HostTransport:
    """What both JavaScript transports share: the host owns the network, and they run only
    under Emscripten."""

    name: str

    def __init__(self, *, proxy: Any = None, verify: Any = True, trust_env: bool = True) -> None:
        # The host, not Python, owns proxies and certificates here: refuse rather than ignore.
        if proxy is not None:
            raise ValueError(
                f"the {self.name!r} transport cannot use proxy=: the JavaScript host (the browser or "
                "Node) decides how requests leave it; configure the proxy there, or leave proxy unset"
            )
        if verify is not True:
            raise ValueError(
                f"the {self.name!r} transport cannot change verify=: the JavaScript host checks TLS "
                "certificates with its own trust store; leave verify at True"
            )

    @classmethod
    def unusable_reason(cls) -> Optional[str]:
        """Why this host cannot use the transport, or None (shown by ``openai-bindings plugins``)."""
        return _emscripten_reason() or cls._host_problem()

    @staticmethod
    def _host_problem() -> Optional[str]:
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class FetchTransport(_HostTransport):
    """JavaScript's ``fetch`` (Pyodide): the answer streamed from its ``ReadableStream``.

    Redirects are not followed (``redirect: "manual"``). Headers the host owns
    (``Content-Length``, ``User-Agent``, ...) are left to it, and an iterable
    body is joined before sending.
    """

    name = "fetch"

    @staticmethod
    def _host_problem() -> Optional[str]:
        import js

        if not hasattr(js, "fetch") or not hasattr(js, "AbortController"):
            return "this JavaScript host has no fetch/AbortController"
        return None

    async def send(self, request: Request) -> Response:
        import js
        from pyodide.ffi import JsException, to_js

        exchange = _Exchange(request)
        init: dict[str, Any] = {
            "method": request.method,
            "headers": _outgoing(request),
            "signal": exchange.controller.signal,
            "redirect": "manual",
        }
        body = _body(request.body)
        if body is not None:
            init["body"] = body
        exchange.arm(_milliseconds(request.timeout.connect, request.timeout.read))
        try:
            exchange.pump = _start(request.url, to_js(init, dict_converter=js.Object.fromEntries))
            raw = await exchange.pump.head
        except JsException as error:
            exchange.fail(error, "answer's headers")
        except BaseException:  # cancelled while waiting: nothing may stay in flight
            exchange.close()
            raise
        finally:
            exchange.disarm()
        if raw.type == "opaqueredirect":  # a browser hides a redirect's status and Location
            exchange.close()
            raise APIConnectionError(
                f"{exchange.where}: the server answered with a redirect, which is not followed "
                "(the browser hides where it points); call the final URL directly"
            )
        headers = _incoming(raw.headers.entries())
        if not raw.body:  # null (Pyodide's falsy JsNull, or None): 204, 304, HEAD
            exchange.finished = True
            return Response(status=raw.status, headers=headers, stream=b"")
        return Response(
            status=raw.status, headers=headers, stream=self._stream(exchange), close=exchange.close
        )

    @staticmethod
    async def _stream(exchange: _Exchange) -> AsyncIterator[bytes]:
        delay = _milliseconds(exchange.request.timeout.read)
        pump = exchange.pump
        while not exchange.finished:
            chunk = pump.take()
            if chunk is not None:
                yield chunk.to_bytes()
            elif pump.done:
                exchange.finished = True
                if pump.failed:
                    exchange.fail(pump.error, "next part of the answer")
                return
            else:
                exchange.arm(delay)
                try:
                    await pump.wait()
                finally:
                    exchange.disarm()

    async def close(self) -> None:
        """Nothing pooled here: the host keeps its own connections."""


class XHRTransport(_HostTransport):
    """Synchronous ``XMLHttpRequest``: the sync client's transport in a browser's web worker.

    The answer arrives whole (a stream's events come together at its end), and
    redirects are followed by the host (XHR cannot refuse them); the exchange is
    bounded by ``connect + read``.
    """

    name = "xhr"

    @staticmethod
    def _host_problem() -> Optional[str]:
        import js

        if hasattr(js, "WorkerGlobalScope") and hasattr(js, "XMLHttpRequest"):
            return None
        return (
            "synchronous XMLHttpRequest exists only in a browser's web worker (not in Node, "
            "not on a page's main thread); use openai_bindings.AsyncOpenAI, whose 'fetch' "
            "transport works wherever Pyodide runs"
        )

    def send(self, request: Request) -> Response:
        import js
        from pyodide.ffi import JsException

        where = _where(request)
        xhr = js.XMLHttpRequest.new()
        xhr.open(request.method, request.url, False)
        xhr.responseType = "arraybuffer"  # allowed for synchronous requests in workers only
        delay = _milliseconds(request.timeout.connect, request.timeout.read)
        if delay is not None:
            xhr.timeout = delay
        for key, value in _outgoing(request).items():
            xhr.setRequestHeader(key, value)
        try:
            xhr.send(_body(request.body))
        except JsException as error:
            if getattr(error, "name", "") == "TimeoutError":
                raise APITimeoutError(f"{where}: timed out waiting for the server") from error
            raise APIConnectionError(f"{where}: {_describe(error)}{_BROWSER_HINT}") from error
        headers = _incoming(_parse_headers(str(xhr.getAllResponseHeaders())))
        body = js.Uint8Array.new(xhr.response).to_bytes() if xhr.response else b""
        return Response(status=xhr.status, headers=headers, stream=body)

    def close(self) -> None:
        """Nothing pooled here: the host keeps its own connections."""


def _parse_headers(text: str) -> List[Tuple[str, str]]:
    """getAllResponseHeaders() text: CRLF-separated ``name: value`` lines."""
    pairs = []
    for line in text.split("\r\n"):
        name, sep, value = line.partition(":")
        if sep and name.strip():
            pairs.append((name.strip(), value.strip()))
    return pairs
