"""The transport conformance kit: prove an HTTP transport in one call.

A transport plugin does I/O only; the client gives it every other guarantee
(one error boundary with secrets scrubbed, the ``Content-Length`` check,
``max_response_size``, retries, releasing abandoned streams). What a transport
must still do itself is what this kit checks, over real sockets::

    from openai_bindings.testing import check_transport

    report = check_transport(MyTransport)   # a class, an instance, or a factory(**options)
    print(report)                           # raises AssertionError listing every failure

    report = await acheck_transport(MyAsyncTransport)   # inside a running event loop

or from the shell: ``openai-bindings check-transport NAME [--async] [--server URL]``
(exit status 0 when every scenario passes, 1 otherwise).

The scenarios, each against a private ``LocalServer`` on 127.0.0.1:

- ``methods``: GET, POST, DELETE, PUT and PATCH arrive with their path, query and body.
- ``headers_and_body``: request headers and a non-ASCII JSON body arrive byte for byte;
  the status, headers (read case-insensitively) and body come back intact.
- ``error_statuses``: 429 and 503 are responses, not exceptions.
- ``empty_body``: a 204 ends at once.
- ``large_body``: 2 MiB come back intact.
- ``streamed_upload``: an iterable request body is sent with the ``Content-Length``
  the client set (no chunked encoding), byte for byte.
- ``incremental_delivery``: the first chunk of a body reaches the caller while the
  server still holds the rest back (a stream is not buffered to its end).
- ``concurrency``: four exchanges at once (threads, or tasks for an async transport).
- ``read_timeout_before_headers`` / ``read_timeout_mid_body``: a server that stalls
  before the status line, or after the headers, raises ``APITimeoutError`` after
  ``timeout.read``.
- ``connect_timeout``: a server that never accepts raises ``APITimeoutError`` after
  ``timeout.connect`` (a listening socket with a full backlog on 127.0.0.1).
- ``refused``: ``APIConnectionError``, not a timeout, at once.
- ``closed_before_headers`` / ``reset_before_headers``: the server closes (FIN) or
  resets (RST) the connection without answering: ``APIConnectionError``.
- ``closed_mid_body`` / ``reset_mid_body``: a chunked stream cut after its first chunk:
  what arrived is delivered, then ``APIConnectionError`` (never a clean end, never a timeout).
- ``data_before_a_cut``: a chunked body whose bytes and broken end have both arrived
  before the first read: every byte is delivered, then ``APIConnectionError``.
- ``truncated_body``: a body shorter than its ``Content-Length``, then the connection
  closes. Accepted: ``APIConnectionError``, or an end with fewer bytes than announced
  (the client's ``Content-Length`` check turns that into ``APIConnectionError``). Not
  accepted: more bytes than were sent, or waiting for the read timeout.
- ``tls`` (when the constructor takes ``verify``): ``verify=<CA bundle path>`` reaches a
  TLS server whose certificate that CA signed; default verification refuses it with
  ``APIConnectionError``. The CA is static test material shipped with the package.
- ``proxy`` (when the constructor takes ``proxy``): plain HTTP is forwarded by a local
  proxy that requires Basic credentials from the proxy URL; with ``verify`` too, HTTPS
  goes through ``CONNECT``; a wrong password fails without showing up in the error or
  in the transport's ``repr``.
- ``release_after_close``: closing a response in the middle of its body closes the
  connection at once: the server sees it closed (no garbage collection needed).
- ``reuse_after_full_read``: after a body read to its end, a second request succeeds
  (the report notes whether it reused the connection).

Failures must be the library's ``APIConnectionError`` / ``APITimeoutError``; any other
exception fails the scenario (the client would wrap it, but a transport knows best
what went wrong). ``tls`` and ``proxy`` need a constructor: pass a class or a factory;
an instance is checked through ``type(instance)(verify=...)`` when that works. The kit
closes every transport it used, the one it was given included.

With ``server=URL`` (the base URL of a running ``openai-bindings fake-server``, or of
any ``LocalServer``) the kit scripts that server over its HTTP control API
(``{URL}/_control/...``) through the transport under test, for hosts that cannot start
a server themselves (Pyodide). The scenarios that need local sockets (``connect_timeout``,
``refused``, ``tls``, ``proxy``) are then skipped, with the reason in the report.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Generator, Iterable, Iterator, List, Optional, Tuple

from .._drive import Call, Sleep, Step, run_async, run_sync
from ..errors import APIConnectionError, APITimeoutError
from ..http import Headers, Request, Response, Timeout
from ..transport import ThreadedAsyncTransport, accepts_keyword, is_async_transport
from .proxy import ProxyServer
from .server import LocalServer, tls_ca_path, tls_server_context

__all__ = ["SCENARIOS", "TransportReport", "acheck_transport", "check_transport"]

Plan = Generator[Step, Any, Any]
#: No scenario may take longer than this; one that does has failed (a timeout not honoured).
SCENARIO_BOUND = 20.0
_TIMEOUT = Timeout(connect=2.0, read=5.0)


@dataclass
class TransportReport:
    """What ``check_transport`` found: scenario names that passed, failed, or were skipped (and why)."""

    transport: str
    mode: str  # "sync" or "async", and where: "private LocalServer" or the server URL
    passed: List[str] = field(default_factory=list)
    failed: List[str] = field(default_factory=list)
    skipped: List[Tuple[str, str]] = field(default_factory=list)
    failures: Dict[str, str] = field(default_factory=dict)
    notes: Dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed

    def __str__(self) -> str:
        lines = [f"check_transport: {self.transport} ({self.mode})"]
        for name in self.passed:
            note = self.notes.get(name)
            lines.append(f"  passed   {name}" + (f" ({note})" if note else ""))
        for name in self.failed:
            lines.append(f"  FAILED   {name}: {self.failures.get(name, '')}")
        for name, reason in self.skipped:
            lines.append(f"  skipped  {name}: {reason}")
        lines.append(f"{len(self.passed)} passed, {len(self.failed)} failed, {len(self.skipped)} skipped")
        return "\n".join(lines)


@dataclass(frozen=True)
class Scenario:
    name: str
    run: Callable[[_Kit], Plan]
    needs: Tuple[str, ...]  # "local" (sockets on this host), "verify", "proxy"


SCENARIOS: List[Scenario] = []


def _scenario(*needs: str) -> Callable[[Callable[[_Kit], Plan]], Callable[[_Kit], Plan]]:
    def register(fn: Callable[[_Kit], Plan]) -> Callable[[_Kit], Plan]:
        SCENARIOS.append(Scenario(fn.__name__, fn, needs))
        return fn

    return register


class _Failed(AssertionError):
    """A scenario's expectation was not met (the message says which)."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise _Failed(message)


# -- the entry points ---------------------------------------------------------------------------


def check_transport(
    transport: Any, *, server: Optional[str] = None, only: Optional[Iterable[str]] = None
) -> TransportReport:
    """Run the conformance scenarios against ``transport`` (a class, an instance, or a factory).

    Returns the report when every scenario passes (or is skipped); raises ``AssertionError``
    listing every failed scenario otherwise (the report is its ``report`` attribute). An async
    transport runs in a new event loop; inside a running loop, use ``acheck_transport``.
    ``only`` restricts the run to the scenarios named (while working on one failure).
    """
    chosen = _chosen(only)
    subject = _Subject(transport)
    if subject.is_async:
        import asyncio

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(acheck_transport(transport, server=server, only=only, _subject=subject))
        raise RuntimeError(
            "check_transport() was called inside a running event loop with an async transport: "
            "use `await acheck_transport(...)` there"
        )
    with _Servers(server) as servers:
        kit = _Kit(subject, servers)
        try:
            for scenario in chosen:
                kit.run_sync(scenario)
        finally:
            subject.close_sync()
    return kit.finish()


async def acheck_transport(
    transport: Any,
    *,
    server: Optional[str] = None,
    only: Optional[Iterable[str]] = None,
    _subject: Optional[_Subject] = None,
) -> TransportReport:
    """The awaitable twin of ``check_transport``, for a running event loop (Jupyter, Pyodide).

    A sync transport is driven inline (it blocks the loop while it works).
    """
    chosen = _chosen(only)
    subject = _subject or _Subject(transport)
    with _Servers(server) as servers:
        kit = _Kit(subject, servers)
        try:
            for scenario in chosen:
                if subject.is_async:
                    await kit.run_async(scenario)
                else:
                    kit.run_sync(scenario, threads=False)
        finally:
            await subject.close_async()
    return kit.finish()


def _chosen(only: Optional[Iterable[str]]) -> List[Scenario]:
    if only is None:
        return list(SCENARIOS)
    names = [only] if isinstance(only, str) else list(only)
    known = {scenario.name for scenario in SCENARIOS}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown scenario(s) {unknown}; the scenarios are {sorted(known)}")
    return [scenario for scenario in SCENARIOS if scenario.name in names]


# -- what is checked, and how to build variants of it ----------------------------------------------


class _Subject:
    """The transport under test, and how to build it again with options (verify=, proxy=)."""

    def __init__(self, given: Any) -> None:
        self.factory: Callable[..., Any]
        self.signature: Any  # what tells which keywords the factory takes
        if isinstance(given, type):
            self.factory = self.signature = given
            self.transport = given()
        elif callable(getattr(given, "send", None)):
            self.transport = given
            if isinstance(given, ThreadedAsyncTransport):
                self.signature = type(given.sync)
                self.factory = _threaded_factory(self.signature)
            else:
                self.factory = self.signature = type(given)
        elif callable(given):
            self.factory = self.signature = given
            self.transport = given()
        else:
            raise TypeError(
                "check_transport takes a transport class, a transport instance (with send(request)), "
                f"or a factory that returns one; got {type(given).__name__}"
            )
        self.is_async = is_async_transport(self.transport)
        self.name = str(getattr(self.transport, "name", type(self.transport).__name__))
        if isinstance(self.transport, ThreadedAsyncTransport):
            self.name += " (threaded for asyncio)"
        self.built: List[Any] = [self.transport]

    def accepts(self, option: str) -> bool:
        return accepts_keyword(self.signature, option)

    def build(self, **options: Any) -> Any:
        made = self.factory(**options)
        self.built.append(made)
        return made

    def close_sync(self) -> None:
        for transport in self.built:
            close = getattr(transport, "close", None)
            if close is not None:
                result = close()
                if hasattr(result, "close"):  # an awaitable nobody will run
                    result.close()

    async def close_async(self) -> None:
        for transport in self.built:
            close = getattr(transport, "close", None)
            if close is not None:
                result = close()
                if hasattr(result, "__await__"):
                    await result


def _threaded_factory(inner: type) -> Callable[..., Any]:
    def build(**options: Any) -> ThreadedAsyncTransport:
        return ThreadedAsyncTransport(inner(**options))

    return build


class _Servers:
    """The server the scenarios talk to: a private LocalServer, or the one at ``server=URL``."""

    def __init__(self, url: Optional[str]) -> None:
        self.local: Optional[LocalServer] = None
        self.tls: Optional[LocalServer] = None
        if url is None:
            self.local = LocalServer()
            self.root = self.local.origin
        else:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"server must be the base URL of a running fake-server, got {url!r}")
            self.root = url.rstrip("/")
        self.root_path = urllib.parse.urlsplit(self.root).path

    def tls_server(self) -> LocalServer:
        if self.tls is None:
            self.tls = LocalServer(ssl_context=tls_server_context()).start()
        return self.tls

    def __enter__(self) -> _Servers:
        if self.local is not None:
            self.local.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        for running in (self.local, self.tls):
            if running is not None:
                running.close()


# -- the kit: plans that run on the sync or the async driver ----------------------------------------


class _Kit:
    def __init__(self, subject: _Subject, servers: _Servers) -> None:
        self.subject = subject
        self.servers = servers
        self.token = secrets.token_hex(4)
        where = "a private LocalServer" if servers.local is not None else servers.root
        self.report = TransportReport(subject.name, f"{'async' if subject.is_async else 'sync'}, {where}")
        self.notes: Dict[str, str] = self.report.notes
        self.current = ""

    # -- running scenarios ----------------------------------------------------------------------

    def _skip_reason(self, scenario: Scenario) -> Optional[str]:
        if "local" in scenario.needs and self.servers.local is None:
            return "needs sockets on this host (not checked with server=)"
        for option in ("verify", "proxy"):
            if option in scenario.needs:
                if self.servers.local is None:
                    return "needs local servers (not checked with server=)"
                if not self.subject.accepts(option):
                    return f"the transport's constructor does not take {option}= (pass a class or a factory)"
        return None

    def run_sync(self, scenario: Scenario, threads: bool = True) -> None:
        reason = self._skip_reason(scenario)
        if reason is not None:
            self.report.skipped.append((scenario.name, reason))
            return
        self.current = scenario.name
        outcome: List[Optional[BaseException]] = []

        def attempt() -> None:
            try:
                run_sync(scenario.run(self))
                outcome.append(None)
            except BaseException as error:
                outcome.append(error)

        if threads and self.servers.local is not None:
            worker = threading.Thread(target=attempt, name=f"check_transport:{scenario.name}", daemon=True)
            worker.start()
            worker.join(SCENARIO_BOUND)
            if worker.is_alive():
                outcome.append(_Failed(f"did not finish within {SCENARIO_BOUND:.0f} s"))
        else:
            attempt()
        self._record(scenario.name, outcome[0])

    async def run_async(self, scenario: Scenario) -> None:
        import asyncio

        reason = self._skip_reason(scenario)
        if reason is not None:
            self.report.skipped.append((scenario.name, reason))
            return
        self.current = scenario.name
        error: Optional[BaseException] = None
        try:
            await asyncio.wait_for(run_async(scenario.run(self)), SCENARIO_BOUND)
        except asyncio.TimeoutError:
            error = _Failed(f"did not finish within {SCENARIO_BOUND:.0f} s")
        except Exception as failure:
            error = failure
        self._record(scenario.name, error)

    def _record(self, name: str, error: Optional[BaseException]) -> None:
        if error is None:
            self.report.passed.append(name)
            return
        self.report.failed.append(name)
        if isinstance(error, _Failed):
            self.report.failures[name] = str(error)
        else:
            self.report.failures[name] = f"unexpected {type(error).__name__}: {error}"

    def finish(self) -> TransportReport:
        report = self.report
        if report.failed:
            listed = "\n".join(f"  - {name}: {report.failures[name]}" for name in report.failed)
            error = AssertionError(
                f"transport {report.transport!r} failed {len(report.failed)} of "
                f"{len(report.failed) + len(report.passed)} scenarios:\n{listed}\n\n{report}"
            )
            error.report = report  # type: ignore[attr-defined]
            raise error
        return report

    # -- talking through the transport ----------------------------------------------------------

    def path(self, *parts: str) -> str:
        """A path no other run or scenario uses, under the server's root."""
        return "/".join([self.servers.root_path, "kit", self.token, self.current, *parts])

    def url(self, path: str) -> str:
        return urllib.parse.urlunsplit((*urllib.parse.urlsplit(self.servers.root)[:2], "", "", "")) + path

    def request(
        self,
        method: str,
        url: str,
        body: Any = None,
        headers: Optional[Dict[str, str]] = None,
        timeout: Timeout = _TIMEOUT,
    ) -> Request:
        sent = dict(headers or {})
        if isinstance(body, bytes):
            sent.setdefault("Content-Length", str(len(body)))
        return Request(method, url, Headers(sent), body, timeout)

    def send(self, request: Request, transport: Any = None) -> Plan:
        response: Response = yield Call((transport or self.subject.transport).send, request)
        return response

    def chunks(self, response: Response) -> Any:
        return response.aiter_bytes() if self.subject.is_async else response.iter_bytes()

    def next_chunk(self, chunks: Any) -> Plan:
        if self.subject.is_async:
            chunk = yield Call(_anext_or_none, chunks)
        else:
            chunk = yield Call(next, chunks, None)
        return chunk

    def rest(self, chunks: Any, into: Optional[bytearray] = None) -> Plan:
        """The remaining chunks, joined; also appended to ``into`` as they come, so that what
        arrived before a failure is still there to look at."""
        got = into if into is not None else bytearray()
        while True:
            chunk = yield from self.next_chunk(chunks)
            if chunk is None:
                return bytes(got)
            got += chunk

    def read(self, response: Response) -> Plan:
        if self.subject.is_async:
            data = yield Call(response.aread)
        else:
            data = yield Call(response.read)
        return data

    def close(self, response: Response) -> Plan:
        yield Call(response.close, asyncfn=response.aclose)

    def failure(self, plan: Plan) -> Plan:
        """Run ``plan``; return the exception it raised (None when it did not), and the time taken."""
        started = time.monotonic()
        try:
            yield from plan
        except Exception as error:
            return error, time.monotonic() - started
        return None, time.monotonic() - started

    def exchange(self, method: str, path: str, **request: Any) -> Plan:
        """Send, read the whole body: (response, body)."""
        response = yield from self.send(self.request(method, self.url(path), **request))
        body = yield from self.read(response)
        return response, body

    # -- scripting the server (directly, or over its control API through the transport) ----------

    def control(self, method: str, verb: str, data: Any = None, since: int = 0) -> Plan:
        local = self.servers.local
        if local is not None:
            answer = yield Call(local.handle_control, method, verb, data, since=since)
            return answer
        url = f"{self.servers.root}/_control/{verb}" + (f"?since={since}" if since else "")
        body = json.dumps(data).encode() if data is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        response, raw = yield from self._control_exchange(method, url, body, headers)
        if response.status != 200:
            raise RuntimeError(
                f"the server's control API answered {response.status} to {verb}: {raw[:200]!r}"
            )
        return json.loads(raw)

    def _control_exchange(
        self, method: str, url: str, body: Optional[bytes], headers: Dict[str, str]
    ) -> Plan:
        response = yield from self.send(self.request(method, url, body, headers))
        raw = yield from self.read(response)
        return response, raw

    def queue(self, path: str, **action: Any) -> Plan:
        yield from self.control("POST", "queue", {**action, "path": path})

    def release(self, gate: str) -> Plan:
        yield from self.control("POST", "release", {"gate": gate})

    def seen(self, path: str) -> Plan:
        """The requests the server recorded for ``path`` (method, query, headers, body, connection)."""
        records = yield from self.control("GET", "requests")
        return [_decoded(r) for r in records if r["path"] == path]

    def one(self, path: str) -> Plan:
        """The one request the server recorded for ``path``."""
        seen = yield from self.seen(path)
        _check(len(seen) == 1, f"the server received {len(seen)} requests for {path}, expected 1")
        return seen[0]

    def closed(self, connection: int, within: float = 2.0) -> Plan:
        """Wait (bounded) until the server has seen ``connection`` end; True when it did."""
        deadline = time.monotonic() + within
        while True:
            state = yield from self.control("GET", "connections")
            if connection in state["closed"]:
                return True
            if time.monotonic() >= deadline:
                return False
            yield Sleep(0.02)


def _decoded(record: Dict[str, Any]) -> Dict[str, Any]:
    record = dict(record)
    record["body"] = base64.b64decode(record.pop("body_base64"))
    record["headers"] = {str(k).lower(): v for k, v in record["headers"]}
    return record


async def _anext_or_none(chunks: Any) -> Optional[bytes]:
    try:
        chunk: bytes = await chunks.__anext__()
        return chunk
    except StopAsyncIteration:
        return None


class _Parallel(Step):
    """Several plans at once: threads for a sync transport (in turn where threads cannot start),
    tasks for an async one. Results in order; the first failure is raised."""

    def __init__(self, plans: List[Plan]) -> None:
        self.plans = plans

    def run(self) -> List[Any]:
        results: List[Any] = [None] * len(self.plans)
        errors: List[BaseException] = []

        def one(index: int, plan: Plan) -> None:
            try:
                results[index] = run_sync(plan)
            except BaseException as error:
                errors.append(error)

        started = []
        for index, plan in enumerate(self.plans):
            worker = threading.Thread(target=one, args=(index, plan), daemon=True)
            try:
                worker.start()
                started.append(worker)
            except RuntimeError:  # no threads here (Pyodide): this one inline
                one(index, plan)
        for worker in started:
            worker.join(SCENARIO_BOUND)
        if errors:
            try:
                raise errors[0]
            finally:
                errors.clear()
        return results

    async def arun(self) -> List[Any]:
        import asyncio

        return list(await asyncio.gather(*(run_async(plan) for plan in self.plans)))


def _expect(error: Optional[BaseException], kind: type, what: str) -> None:
    """``error`` must be ``kind`` (APIConnectionError: and not a timeout)."""
    if error is None:
        raise _Failed(f"{what}: no error was raised; expected {kind.__name__}")
    if kind is APIConnectionError and isinstance(error, APITimeoutError):
        raise _Failed(f"{what}: raised APITimeoutError ({error}); expected APIConnectionError, not a timeout")
    if not isinstance(error, kind):
        raise _Failed(
            f"{what}: raised {type(error).__module__}.{type(error).__name__} ({error}); expected "
            f"openai_bindings.{kind.__name__}: map the library's failures to the two error classes"
        )


# -- the scenarios --------------------------------------------------------------------------------------


@_scenario()
def methods(kit: _Kit) -> Plan:
    for method in ("GET", "POST", "DELETE", "PUT", "PATCH"):
        path = kit.path(method)
        yield from kit.queue(path, body=f"ok {method}", headers={"X-Kit-Method": method})
        body = json.dumps({"method": method}).encode() if method in ("POST", "PUT", "PATCH") else None
        response, answer = yield from kit.exchange(method, path + "?limit=2&q=%C3%BC", body=body)
        _check(response.status == 200, f"{method}: status {response.status}, expected 200")
        _check(answer == f"ok {method}".encode(), f"{method}: body {answer[:80]!r}, expected b'ok {method}'")
        _check(response.headers.get("x-kit-method") == method, f"{method}: response header X-Kit-Method lost")
        seen = yield from kit.one(path)
        _check(seen["method"] == method, f"{method}: the server saw {seen['method']}")
        _check(seen["query"] == {"limit": ["2"], "q": ["ü"]}, f"{method}: query arrived as {seen['query']}")
        _check(seen["body"] == (body or b""), f"{method}: the server got body {seen['body'][:80]!r}")


@_scenario()
def headers_and_body(kit: _Kit) -> Plan:
    path = kit.path()
    payload = json.dumps({"text": "héllo ✓ 你好 🚀", "n": [1, 2.5, None]}, ensure_ascii=False).encode()
    answer = json.dumps({"reply": "ça va ✓ 🚀"}, ensure_ascii=False).encode()
    yield from kit.queue(
        path,
        status=201,
        headers={"X-Request-Id": "req_kit", "Content-Type": "application/json; charset=utf-8"},
        body_base64=base64.b64encode(answer).decode(),
    )
    headers = {
        "Authorization": "Bearer sk-kit-not-a-key",
        "Content-Type": "application/json",
        "X-Kit-Mixed-Case": "Value With Spaces",
        "OpenAI-Beta": "assistants=v2",
    }
    response, body = yield from kit.exchange("POST", path, body=payload, headers=headers)
    _check(response.status == 201, f"status {response.status}, expected 201")
    _check(
        response.headers.get("X-REQUEST-ID") == response.headers.get("x-request-id") == "req_kit",
        f"response headers not read case-insensitively, or X-Request-Id lost: {dict(response.headers)}",
    )
    _check(body == answer, f"response body {body[:80]!r} differs from what the server sent {answer[:80]!r}")
    seen = yield from kit.one(path)
    _check(seen["body"] == payload, f"the server got body {seen['body'][:80]!r}, not the bytes sent")
    for name, value in headers.items():
        got = seen["headers"].get(name.lower())
        _check(got == value, f"request header {name}: the server got {got!r}, expected {value!r}")


@_scenario()
def error_statuses(kit: _Kit) -> Plan:
    for status in (429, 503):
        path = kit.path(str(status))
        error = {"error": {"message": "scripted", "type": "kit", "code": status}}
        yield from kit.queue(path, status=status, body=error, headers={"Retry-After": "7"})
        response, body = yield from kit.exchange("GET", path)
        _check(response.status == status, f"status {response.status}, expected {status}")
        _check(response.headers.get("retry-after") == "7", "the Retry-After header was lost")
        _check(json.loads(body) == error, f"{status}: body {body[:80]!r}")


@_scenario()
def empty_body(kit: _Kit) -> Plan:
    path = kit.path()
    yield from kit.queue(path, status=204)
    response, body = yield from kit.exchange("DELETE", path)
    _check(response.status == 204 and body == b"", f"204: status {response.status}, body {body[:40]!r}")


@_scenario()
def large_body(kit: _Kit) -> Plan:
    path = kit.path()
    data = bytes(range(256)) * (2 * 4096)  # 2 MiB
    yield from kit.queue(path, body_base64=base64.b64encode(data).decode())
    response, body = yield from kit.exchange("GET", path)
    _check(len(body) == len(data), f"{len(body)} bytes arrived of {len(data)}")
    _check(body == data, "the 2 MiB body arrived altered")


class _Upload:
    """A re-iterable body with no length of its own: the transport must stream it."""

    def __init__(self, parts: List[bytes]) -> None:
        self.parts = parts

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.parts)


@_scenario()
def streamed_upload(kit: _Kit) -> Plan:
    path = kit.path()
    parts = [b"part-%d;" % n * 1000 for n in range(8)]
    whole = b"".join(parts)
    yield from kit.queue(path, body="stored")
    headers = {"Content-Length": str(len(whole)), "Content-Type": "application/octet-stream"}
    response, body = yield from kit.exchange("POST", path, body=_Upload(parts), headers=headers)
    _check(response.status == 200 and body == b"stored", f"status {response.status}, body {body[:40]!r}")
    seen = yield from kit.one(path)
    _check(seen["body"] == whole, f"the server got {len(seen['body'])} bytes, not the {len(whole)} sent")
    _check(
        "transfer-encoding" not in seen["headers"],
        "the body went chunked although the client set Content-Length",
    )
    _check(seen["headers"].get("content-length") == str(len(whole)), "Content-Length was not sent as given")


@_scenario()
def incremental_delivery(kit: _Kit) -> Plan:
    path, gate = kit.path(), f"{kit.token}-incremental"
    yield from kit.queue(path, chunks=["data: first\n\n", "data: second\n\n"], gate=gate)
    try:
        request = kit.request("GET", kit.url(path), timeout=Timeout(connect=2.0, read=2.0))
        response = yield from kit.send(request)
        chunks = kit.chunks(response)
        error, _ = yield from kit.failure(_first_chunk(kit, chunks))
        _check(
            error is None,
            f"the first chunk did not arrive while the server held the rest back ({error}): the "
            "transport buffers the body instead of streaming it",
        )
        yield from kit.release(gate)
        rest = yield from kit.rest(chunks)
        _check(rest.endswith(b"data: second\n\n"), f"the rest of the body arrived as {rest[:80]!r}")
    finally:
        yield from kit.release(gate)


def _first_chunk(kit: _Kit, chunks: Any) -> Plan:
    chunk = yield from kit.next_chunk(chunks)
    _check(chunk is not None and chunk.startswith(b"data: first"), f"first chunk {chunk!r}")


@_scenario()
def concurrency(kit: _Kit) -> Plan:
    paths = [kit.path(str(n)) for n in range(4)]
    for n, path in enumerate(paths):
        yield from kit.queue(path, body=f"answer {n}", delay=0.05)
    results = yield _Parallel([kit.exchange("POST", path, body=b"%d" % n) for n, path in enumerate(paths)])
    for n, (response, body) in enumerate(results):
        _check(response.status == 200 and body == f"answer {n}".encode(), f"exchange {n} got {body[:40]!r}")


@_scenario()
def read_timeout_before_headers(kit: _Kit) -> Plan:
    path = kit.path()
    yield from kit.queue(path, action="stall", seconds=4)
    request = kit.request("GET", kit.url(path), timeout=Timeout(connect=2.0, read=0.5))
    error, elapsed = yield from kit.failure(kit.send(request))
    _expect(error, APITimeoutError, "a server silent before the status line")
    _check(elapsed < 3.0, f"the timeout came after {elapsed:.1f} s; timeout.read was 0.5 s")


@_scenario()
def read_timeout_mid_body(kit: _Kit) -> Plan:
    path, gate = kit.path(), f"{kit.token}-stall"
    yield from kit.queue(path, chunks=["", "late"], gate=gate)
    try:
        request = kit.request("GET", kit.url(path), timeout=Timeout(connect=2.0, read=0.5))
        response = yield from kit.send(request)
        error, elapsed = yield from kit.failure(kit.read(response))
        _expect(error, APITimeoutError, "a server silent after the headers")
        _check(elapsed < 3.0, f"the timeout came after {elapsed:.1f} s; timeout.read was 0.5 s")
    finally:
        yield from kit.release(gate)


@_scenario("local")
def connect_timeout(kit: _Kit) -> Plan:
    with _Unaccepting() as unaccepting:
        if not unaccepting.stalls:
            kit.notes["connect_timeout"] = "not checked: this host accepts connections beyond a full backlog"
            return
        request = kit.request(
            "GET", f"http://127.0.0.1:{unaccepting.port}/", timeout=Timeout(connect=0.5, read=5.0)
        )
        error, elapsed = yield from kit.failure(kit.send(request))
    _expect(error, APITimeoutError, "a server that never accepts the connection")
    _check(elapsed < 4.0, f"the timeout came after {elapsed:.1f} s; timeout.connect was 0.5 s")


@_scenario("local")
def refused(kit: _Kit) -> Plan:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    error, elapsed = yield from kit.failure(kit.send(kit.request("GET", f"http://127.0.0.1:{port}/")))
    _expect(error, APIConnectionError, "a refused connection")
    _check(elapsed < 3.0, f"the refusal took {elapsed:.1f} s to report")


def _cut_before_headers(kit: _Kit, rst: bool) -> Plan:
    path = kit.path()
    yield from kit.queue(path, action="reset", rst=rst)
    body = b'{"n": 1}'
    error, elapsed = yield from kit.failure(kit.send(kit.request("POST", kit.url(path), body)))
    how = "reset" if rst else "closed"
    seen = yield from kit.seen(path)
    _check(len(seen) == 1, f"the server received the request {len(seen)} times: a transport never re-sends")
    _expect(error, APIConnectionError, f"a connection {how} before the status line")
    _check(elapsed < 3.0, f"the failure took {elapsed:.1f} s to report")


@_scenario()
def closed_before_headers(kit: _Kit) -> Plan:
    yield from _cut_before_headers(kit, rst=False)


@_scenario()
def reset_before_headers(kit: _Kit) -> Plan:
    yield from _cut_before_headers(kit, rst=True)


def _cut_mid_body(kit: _Kit, rst: bool) -> Plan:
    path, gate = kit.path(), f"{kit.token}-{kit.current}"
    yield from kit.queue(path, action="drop", sent="data: 1\n\n", chunked=True, gate=gate, rst=rst)
    try:
        response = yield from kit.send(kit.request("GET", kit.url(path)))
        chunks = kit.chunks(response)
        first = yield from kit.next_chunk(chunks)
        _check(first == b"data: 1\n\n", f"what arrived before the cut was delivered as {first!r}")
        yield from kit.release(gate)
        error, elapsed = yield from kit.failure(kit.rest(chunks))
        how = "reset" if rst else "closed"
        _expect(error, APIConnectionError, f"a chunked body {how} mid-way")
        _check(elapsed < 3.0, f"the failure took {elapsed:.1f} s to report")
    finally:
        yield from kit.release(gate)


@_scenario()
def closed_mid_body(kit: _Kit) -> Plan:
    yield from _cut_mid_body(kit, rst=False)


@_scenario()
def reset_mid_body(kit: _Kit) -> Plan:
    yield from _cut_mid_body(kit, rst=True)


@_scenario()
def data_before_a_cut(kit: _Kit) -> Plan:
    path = kit.path()
    sent = b"data: 1\n\ndata: 2\n\n"
    yield from kit.queue(path, action="drop", sent=sent.decode(), chunked=True)
    response = yield from kit.send(kit.request("GET", kit.url(path)))
    yield Sleep(0.2)  # the bytes and the end of the connection are both here before the first read
    received = bytearray()
    error, _ = yield from kit.failure(kit.rest(kit.chunks(response), received))
    _expect(error, APIConnectionError, "a chunked body cut after its data arrived")
    _check(
        received == sent,
        f"delivered {bytes(received)!r} before the failure, but {sent!r} had arrived: what arrived before "
        "a broken connection must be delivered first",
    )


@_scenario()
def truncated_body(kit: _Kit) -> Plan:
    path = kit.path()
    sent = b"x" * 100
    yield from kit.queue(path, action="drop", sent=sent.decode())  # Content-Length: 1100
    started = time.monotonic()
    received = bytearray()
    try:
        response = yield from kit.send(kit.request("GET", kit.url(path)))
        announced = response.headers.get("content-length")
        yield from kit.rest(kit.chunks(response), received)
    except APITimeoutError as error:
        raise _Failed(
            f"waited for the read timeout instead of seeing the connection close ({error})"
        ) from None
    except APIConnectionError:
        kit.notes["truncated_body"] = "raised APIConnectionError"
    else:
        _check(len(received) <= len(sent), f"{len(received)} bytes delivered, but only {len(sent)} were sent")
        kit.notes["truncated_body"] = (
            f"ended after {len(received)} of {announced} bytes; the client's Content-Length check raises"
        )
    elapsed = time.monotonic() - started
    _check(elapsed < 3.0, f"took {elapsed:.1f} s to notice the closed connection")


@_scenario("verify")
def tls(kit: _Kit) -> Plan:
    server = kit.servers.tls_server()
    url = server.url(kit.path())
    trusted = kit.subject.build(verify=tls_ca_path())
    response = yield from kit.send(kit.request("GET", url), trusted)
    body = yield from kit.read(response)
    _check(response.status == 200 and b'"method": "GET"' in body, f"verify=<CA path>: got {response.status}")
    default = kit.subject.build()
    error, _ = yield from kit.failure(kit.send(kit.request("GET", url), default))
    _expect(error, APIConnectionError, "default verification of a server signed by an unknown CA")


@_scenario("proxy")
def proxy(kit: _Kit) -> Plan:
    password = f"pass-{kit.token}"
    options: Dict[str, Any] = {"trust_env": False} if kit.subject.accepts("trust_env") else {}
    with ProxyServer(credentials=("kit-user", password)) as running:
        through = kit.subject.build(proxy=running.url_with_credentials, **options)
        _check(password not in repr(through), f"the proxy password shows in repr(transport): {through!r}")
        path = kit.path("http")
        yield from kit.queue(path, body="via proxy")
        response = yield from kit.send(kit.request("GET", kit.url(path)), through)
        body = yield from kit.read(response)
        _check(
            response.status == 200 and body == b"via proxy",
            f"plain HTTP through the proxy: {response.status}",
        )
        _check(running.forwarded == 1, f"the proxy forwarded {running.forwarded} requests, expected 1")
        if not kit.subject.accepts("verify"):
            kit.notes["proxy"] = "HTTPS through CONNECT not checked: no verify= to trust the test CA"
            return
        tls = kit.servers.tls_server()
        tunnelled = kit.subject.build(proxy=running.url_with_credentials, verify=tls_ca_path(), **options)
        response = yield from kit.send(kit.request("GET", tls.url(kit.path("https"))), tunnelled)
        yield from kit.read(response)
        _check(response.status == 200, f"HTTPS through CONNECT: status {response.status}")
        _check(running.tunnels == 1, f"the proxy opened {running.tunnels} tunnels, expected 1")
        wrong = running.url_with_credentials.replace(password, f"wrong-{kit.token}")
        refused = kit.subject.build(proxy=wrong, verify=tls_ca_path(), **options)
        error, _ = yield from kit.failure(kit.send(kit.request("GET", tls.url(kit.path("refused"))), refused))
        _expect(error, APIConnectionError, "a CONNECT refused for wrong credentials (407)")
        leaked = _leaks(error, f"wrong-{kit.token}")
        _check(not leaked, f"the proxy password shows in the error chain: {leaked}")


def _leaks(error: Optional[BaseException], secret: str) -> str:
    seen = 0
    current = error
    while current is not None and seen < 16:
        for text in (str(current), repr(current), repr(getattr(current, "args", ()))):
            if secret in text:
                return text[:200]
        current = current.__cause__ or current.__context__
        seen += 1
    return ""


@_scenario()
def release_after_close(kit: _Kit) -> Plan:
    path, gate = kit.path(), f"{kit.token}-release"
    yield from kit.queue(path, chunks=["data: 1\n\n", "data: 2\n\n"], gate=gate)
    try:
        response = yield from kit.send(kit.request("GET", kit.url(path)))
        chunks = kit.chunks(response)
        yield from kit.next_chunk(chunks)
        yield from kit.close(response)
        seen = yield from kit.one(path)
        closed = yield from kit.closed(seen["connection"])
        _check(
            closed,
            "after close() of a response in mid-body the server still sees its connection open: "
            "close must close the connection (it cannot go back to a pool with unread bytes)",
        )
    finally:
        yield from kit.release(gate)


@_scenario()
def reuse_after_full_read(kit: _Kit) -> Plan:
    connections = []
    for n in range(2):
        path = kit.path(str(n))
        yield from kit.queue(path, body=f"body {n}")
        response, body = yield from kit.exchange("GET", path)
        yield from kit.close(response)
        _check(response.status == 200 and body == f"body {n}".encode(), f"request {n + 1}: {body[:40]!r}")
        seen = yield from kit.one(path)
        connections.append(seen["connection"])
    reused = connections[0] == connections[1]
    kit.notes["reuse_after_full_read"] = "reused the connection" if reused else "opened a new connection"


class _Unaccepting:
    """A port on 127.0.0.1 whose listen backlog is full: connecting to it stalls (SYNs dropped)."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.fillers: List[socket.socket] = []
        self.stalls = False
        self._timer: Optional[threading.Timer] = None

    def __enter__(self) -> _Unaccepting:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError, OSError):
                filler.connect(("127.0.0.1", self.port))
            self.fillers.append(filler)
        probe = socket.socket()
        probe.settimeout(0.3)
        try:
            probe.connect(("127.0.0.1", self.port))
        except TimeoutError:
            self.stalls = True
        except OSError:
            pass
        finally:
            self.fillers.append(probe)
        # A transport that ignores timeout.connect is freed when the listener goes (refused).
        self._timer = threading.Timer(SCENARIO_BOUND / 2, self._shut)
        self._timer.daemon = True
        self._timer.start()
        return self

    def _shut(self) -> None:
        for sock in [self.listener, *self.fillers]:
            sock.close()

    def __exit__(self, *exc: Any) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._shut()


def main(
    name: str,
    *,
    use_async: bool = False,
    server: Optional[str] = None,
    only: Optional[Iterable[str]] = None,
    out: Any = None,
) -> int:
    """``openai-bindings check-transport NAME``: check a registered transport, print the report."""
    import sys

    from ..transport import _build

    out = out or sys.stdout
    transport = _build(name, "check-transport", {})
    if use_async and not is_async_transport(transport):
        transport = ThreadedAsyncTransport(transport)
    try:
        report = check_transport(transport, server=server, only=only)
    except AssertionError as error:
        out.write(f"{getattr(error, 'report', error)}\n")
        return 1
    out.write(f"{report}\n")
    return 0
