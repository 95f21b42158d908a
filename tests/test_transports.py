"""The transport contract, run against every built-in transport over real sockets on 127.0.0.1."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import socket
import ssl
import threading
import time
from typing import Any

import pytest

from openai_bindings import APIConnectionError, APITimeoutError, Request, Timeout
from openai_bindings.testing import Drop, Reply, Reset, Stall


def _request(method: str, url: str, body: bytes | None = None, **headers: str) -> Request:
    headers = {"X-Test": "yes", **headers}
    if body is not None:
        headers["Content-Length"] = str(len(body))
    return Request(method, url, headers, body, Timeout(connect=2, read=5))


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_request_arrives_intact_and_response_comes_back(harness, server, method):
    body = json.dumps({"ünïcode": "✓", "n": 1}).encode() if method == "POST" else None
    request = _request(method, server.url("/v1/echo?limit=2&after=x"), body, Authorization="Bearer k")
    response = harness.send(request)
    echoed = json.loads(harness.read(response))
    assert response.status == 200
    assert echoed["method"] == method
    assert echoed["path"] == "/v1/echo"
    assert echoed["query"] == {"limit": ["2"], "after": ["x"]}
    assert echoed["body"] == (body.decode() if body else "")
    sent = {k.lower(): v for k, v in echoed["headers"].items()}
    assert sent["x-test"] == "yes" and sent["authorization"] == "Bearer k"
    # headers are case-insensitive whatever case the server used
    assert response.headers["x-request-id"] == response.headers["X-REQUEST-ID"] == "req_1"
    assert response.headers.get("x-echo") == "yes"
    assert response.closed


@pytest.mark.parametrize("status", [400, 401, 404, 429, 500, 503])
def test_error_statuses_are_responses_not_exceptions(harness, server, status):
    server.queue(Reply(status=status, body={"error": {"message": "nope"}}, headers={"Retry-After": "1"}))
    response = harness.send(_request("GET", server.url("/x")))
    assert response.status == status
    assert response.headers["retry-after"] == "1"
    assert json.loads(harness.read(response)) == {"error": {"message": "nope"}}


def test_chunked_body_is_delivered_incrementally(harness, server):
    gate = threading.Event()
    server.queue(Reply(chunks=[b"data: first\n\n", b"data: second\n\n", b"data: third\n\n"], gate=gate))
    response = harness.send(_request("GET", server.url("/stream")))
    chunks = harness.chunks(response)
    # The server holds the rest back until the gate opens: the first chunk must arrive before.
    assert next(chunks) == b"data: first\n\n"
    gate.set()
    assert b"".join(chunks) == b"data: second\n\ndata: third\n\n"


def test_non_chunked_body_is_not_held_back(harness, server):
    """A Content-Length body whose first part arrives must not wait for the rest (no read(amt))."""
    gate = threading.Event()

    def slow(request):
        return Reply(chunks=[b"part one;", b"part two"], gate=gate)

    server.route("GET", "/slow", slow)
    response = harness.send(_request("GET", server.url("/slow")))
    chunks = harness.chunks(response)
    assert next(chunks).startswith(b"part one;")
    gate.set()
    assert b"".join(chunks).endswith(b"part two")


def test_connection_refused(harness):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(APIConnectionError) as info:
        harness.send(_request("GET", f"http://127.0.0.1:{port}/"))
    assert not isinstance(info.value, APITimeoutError)
    assert info.value.__cause__ is not None  # the original exception is chained


def test_server_that_never_answers_times_out(harness, server):
    server.queue(Stall(10))
    request = Request("GET", server.url("/stall"), {}, None, Timeout(connect=2, read=0.5))
    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        harness.send(request)
    assert time.monotonic() - started < 5


def test_connection_dropped_mid_body(harness, server):
    server.queue(Drop(sent=b'{"partial": '))
    response = harness.send(_request("GET", server.url("/drop")))
    with pytest.raises(APIConnectionError):
        harness.read(response)


def test_chunked_stream_dropped_mid_body(harness, server):
    server.queue(Drop(sent=b"data: {}\n\n", chunked=True))
    response = harness.send(_request("GET", server.url("/drop")))
    with pytest.raises(APIConnectionError):
        harness.read(response)


def test_reset_before_status_line(harness, server):
    server.queue(Reset())
    with pytest.raises(APIConnectionError):
        harness.send(_request("POST", server.url("/reset"), b"{}"))


def test_sequential_requests_reuse_one_connection(harness, server):
    for number in range(4):
        response = harness.send(_request("POST", server.url(f"/n/{number}"), b"{}"))
        assert response.status == 200
        harness.read(response)
    assert len(server.requests) == 4
    assert server.connections == 1


def test_urls_with_ever_new_queries_keep_one_connection_and_bounded_caches(harness, server):
    """Routes are kept by URL (one lookup per request): pages of a listing, each a new query,
    must neither grow those caches without bound nor open connections of their own."""
    for page in range(300):
        response = harness.send(_request("GET", server.url(f"/v1/files?after=file_{page}")))
        assert response.status == 200
        harness.read(response)
    assert server.connections == 1
    transport = getattr(harness.transport, "sync", harness.transport)  # under the threaded adapter
    for cache in ("_routes", "_targets"):
        assert len(getattr(transport, cache, {})) <= 257, cache


def test_server_closing_an_idle_connection_is_survived(harness, server):
    server.queue(Reply(body=b"once", close=True))
    assert harness.read(harness.send(_request("GET", server.url("/a")))) == b"once"
    response = harness.send(_request("GET", server.url("/b")))
    assert response.status == 200
    harness.read(response)


def test_streamed_request_body(harness, server):
    chunks = [b'{"a":', b' "b"}']
    request = Request("POST", server.url("/up"), {"Content-Length": "10"}, chunks, Timeout(2, 5))
    echoed = json.loads(harness.read(harness.send(request)))
    assert echoed["body"] == '{"a": "b"}'


def test_https_with_a_trusted_ca(harness, tls_server, ca):
    context = ssl.create_default_context()
    ca.configure_trust(context)
    trusted = harness.make(ssl_context=context)
    response = trusted.send(_request("GET", tls_server.url("/secure")))
    assert response.status == 200
    assert json.loads(trusted.read(response))["path"] == "/secure"


def test_https_with_an_untrusted_ca_fails_clearly(harness, tls_server):
    with pytest.raises(APIConnectionError) as info:
        harness.send(_request("GET", tls_server.url("/secure")))
    assert "certificate" in str(info.value).lower()


@pytest.mark.parametrize("name", ["stdlib", "urllib3"])
def test_one_transport_serves_many_threads(server, name):
    from openai_bindings.transports import StdlibTransport, Urllib3Transport

    transport = StdlibTransport() if name == "stdlib" else Urllib3Transport()
    failures = []

    def worker(number: int) -> None:
        try:
            for turn in range(5):
                path = f"/t/{number}/{turn}"
                response = transport.send(
                    _request("POST", server.url(path), json.dumps({"n": number}).encode())
                )
                echoed = json.loads(response.read())
                assert echoed["path"] == path and json.loads(echoed["body"]) == {"n": number}
        except Exception as error:  # reported below, with the thread's number
            failures.append((number, error))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    transport.close()
    assert failures == []
    assert len(server.requests) == 40
    assert server.connections <= 8  # connections were reused, never more than one per thread


# -- defects found under faults (issue 9), each with the test that would have caught it ---------------


def _gated_stream(server, gate: threading.Event, path: str = "/stream") -> None:
    server.queue(Reply(chunks=[b"data: 1\n\n", b"data: 2\n\n"], gate=gate), path=path)


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # a cycle's sockets may be finalized first: the point
def test_breaking_out_of_streams_never_poisons_the_pool(harness, server):
    """urllib3 once put a connection whose socket a finalizer had already closed back in its pool:
    the next request failed with ``ValueError: file descriptor cannot be a negative integer`` in
    most of 100 rounds. An abandoned stream, collected as part of a reference cycle, is the case."""
    gate = threading.Event()
    for round_ in range(100):
        _gated_stream(server, gate)
        response = harness.send(_request("GET", server.url("/stream")))
        chunks = harness.chunks(response)
        assert next(chunks) == b"data: 1\n\n"
        cycle: list = [response, chunks]
        cycle.append(cycle)  # what a stream and its generator were: found only by the cyclic GC
        del response, chunks, cycle
        gc.collect(1)  # the young generations hold the cycle: cheap, and enough
        answer = harness.send(_request("GET", server.url(f"/next/{round_}")))
        assert json.loads(harness.read(answer))["path"] == f"/next/{round_}"
    gate.set()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_request_is_never_sent_twice(harness, server, method):
    """The stdlib transport re-sent a request when a kept-alive connection was closed under it,
    and aiohttp does the same for GET: the server saw it twice although max_retries was 0."""
    server.queue(Reply(body=b"first"), Reset())
    assert harness.read(harness.send(_request(method, server.url("/a"), b"{}"))) == b"first"
    with pytest.raises(APIConnectionError, match="not sent again"):
        harness.send(_request(method, server.url("/b"), b"{}"))
    assert [r.path for r in server.requests] == ["/a", "/b"]


def test_closing_an_unfinished_response_closes_its_connection_at_once(harness, server):
    """close is synchronous (even for aiohttp), idempotent, callable from another thread, and the
    server sees the connection closed without any garbage collection."""
    gate = threading.Event()
    _gated_stream(server, gate)
    response = harness.send(_request("GET", server.url("/stream")))
    chunks = harness.chunks(response)
    assert next(chunks) == b"data: 1\n\n"
    number = server.requests[-1].connection
    results = []
    closer = threading.Thread(target=lambda: results.append(response._close()))
    closer.start()
    closer.join(5)
    assert results == [None]  # not an awaitable: a finalizer can call it
    assert response._close() is None  # twice is fine
    assert server.wait_for_connection_closed(number, timeout=3)
    gate.set()


def test_a_finished_response_returns_its_connection_for_reuse(harness, server):
    for path in ("/one", "/two"):
        response = harness.send(_request("GET", server.url(path)))
        harness.read(response)
        # Closing again after the read is harmless (a body that came whole has nothing to close).
        assert response._close is None or response._close() is None
    assert server.requests[0].connection == server.requests[1].connection
    assert server.closed_connections == []


_SUSPECTS = ("Response", "_Exchange", "_Body", "_Route", "HTTPResponse", "ClientResponse")


def test_no_reference_cycles_between_response_body_and_transport(harness, server):
    """Responses are released by reference counting alone: nothing the transports make per
    request is left for the cyclic garbage collector (full read, abandoned, or failed)."""
    gate = threading.Event()
    _gated_stream(server, gate, "/abandoned")
    server.queue(Drop(sent=b"data: 1\n\n", chunked=True), path="/failed")
    full, abandoned, failed = (_request("GET", server.url(p)) for p in ("/full", "/abandoned", "/failed"))
    transport = harness.transport

    def exchanges() -> None:
        transport.send(full).read()
        response = transport.send(abandoned)
        chunks = response.iter_bytes()
        next(chunks)
        response.close()
        chunks.close()
        response = transport.send(failed)
        with contextlib.suppress(APIConnectionError):
            response.read()

    async def aexchanges() -> None:  # one coroutine: the test itself makes no asyncio task cycles
        await (await transport.send(full)).aread()
        response = await transport.send(abandoned)
        chunks = response.aiter_bytes()
        await chunks.__anext__()
        await response.aclose()
        await chunks.aclose()
        response = await transport.send(failed)
        with contextlib.suppress(APIConnectionError):
            await response.aread()

    harness.read(harness.send(_request("GET", server.url("/warm-up"))))  # sessions, pools: made once
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        harness.run(aexchanges()) if harness.is_async else exchanges()
        gc.collect()
        left = [
            repr(thing)[:120]
            for thing in gc.garbage
            if type(thing).__name__ in _SUSPECTS
            or getattr(thing, "__name__", "") in ("_body", "iter_bytes", "aiter_bytes")
        ]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
        gate.set()
    assert left == [], left


def test_a_closed_transport_refuses_new_requests(harness, server):
    harness.read(harness.send(_request("GET", server.url("/before"))))
    if harness.is_async:
        harness.run(harness.transport.close())
    else:
        harness.transport.close()
    with pytest.raises(APIConnectionError, match="closed"):
        harness.send(_request("GET", server.url("/after")))
    assert [r.path for r in server.requests] == ["/before"]
    if harness.name == "aiohttp":
        assert harness.transport._session is None  # no new session made behind the closed one


def _in_a_forked_child(work: Any) -> int:
    """Run ``work()`` (True for success) in a forked child; its exit status, within a bound."""
    pid = os.fork()
    if pid == 0:  # the child: report through the exit status only
        code = 1
        try:
            code = 0 if work() else 2
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    deadline = time.monotonic() + 15
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child did not finish")
        time.sleep(0.01)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_the_process_id_transports_compare_is_the_childs_after_a_fork():
    """Transports compare ThisProcess.pid (not os.getpid(), a system call) on every request to
    notice a fork: it must be the child's own before any code of the child runs."""
    from openai_bindings.http import ThisProcess

    assert ThisProcess.pid == os.getpid()
    assert _in_a_forked_child(lambda: ThisProcess.pid == os.getpid()) == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("name", ["stdlib", "urllib3"])
def test_a_forked_child_opens_its_own_connections(server, name):
    """The child never uses (or shuts down) the parent's pooled sockets."""
    from openai_bindings.transports import StdlibTransport, Urllib3Transport

    transport = StdlibTransport() if name == "stdlib" else Urllib3Transport()
    assert transport.send(_request("GET", server.url("/parent-1"))).read()

    def child() -> bool:
        return json.loads(transport.send(_request("GET", server.url("/child"))).read())["path"] == "/child"

    assert _in_a_forked_child(child) == 0
    assert transport.send(_request("GET", server.url("/parent-2"))).read()
    transport.close()
    connection = {r.path: r.connection for r in server.requests}
    assert connection["/child"] != connection["/parent-1"]  # the child connected for itself
    assert connection["/parent-2"] == connection["/parent-1"]  # the parent's socket was left alone


# -- ThreadedAsyncTransport: one reader thread per response, no executor hop per chunk -----------------


def _threaded() -> tuple:
    import asyncio

    from openai_bindings.transport import ThreadedAsyncTransport
    from openai_bindings.transports import StdlibTransport

    return asyncio, ThreadedAsyncTransport(StdlibTransport())


def _in_a_new_loop(main: Any) -> Any:
    """Run a coroutine in a loop of its own, closed after (as asyncio.run, without its shutdown
    of the default executor, which these tests check stays unused)."""
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(main)
    finally:
        loop.close()


def test_threaded_chunks_coalesce_while_the_consumer_is_behind(server):
    asyncio, transport = _threaded()
    parts = [b"data: %d\n\n" % n for n in range(200)]
    gate = threading.Event()  # the body still arriving when send() returns: a body iterator
    server.queue(Reply(chunks=parts, gate=gate))

    async def main() -> list:
        response = await transport.send(_request("GET", server.url("/many")))
        exchange = response.stream.exchange
        gate.set()
        deadline = time.monotonic() + 5
        while not exchange.finished and time.monotonic() < deadline:  # the reader runs ahead
            await asyncio.sleep(0.01)
        got = [chunk async for chunk in response.aiter_bytes()]
        assert asyncio.get_running_loop()._default_executor is None  # type: ignore[attr-defined]
        await transport.close()
        return got

    got = _in_a_new_loop(main())
    assert b"".join(got) == b"".join(parts)
    assert len(got) == 1  # everything that waited was handed over at once


def test_threaded_chunks_taken_do_not_notify_a_reader_that_is_not_waiting(server):
    """Taking chunks notifies the reader thread only when it waits for room: Event.set() takes a
    Condition and notifies its waiters, and doing that per chunk cost a third of a paced
    stream's CPU on AsyncOpenAI over the stdlib transport."""
    import threading

    asyncio, transport = _threaded()
    gate = threading.Event()
    parts = [b"data: %d\n\n" % n for n in range(20)]
    server.queue(Reply(chunks=parts, gate=gate))
    sets = []

    class CountingEvent(threading.Event):
        def set(self) -> None:
            sets.append(1)
            super().set()

    async def main() -> list:
        response = await transport.send(_request("GET", server.url("/paced")))
        exchange = response.stream.exchange
        exchange.room = room = CountingEvent()
        room.set()
        sets.clear()
        gate.set()
        got = [chunk async for chunk in response.aiter_bytes()]
        await transport.close()
        return got

    got = _in_a_new_loop(main())
    assert b"".join(got) == b"".join(parts)
    assert sets == [1]  # only the close, however many chunks were taken


def test_threaded_a_body_read_before_the_loop_woke_is_handed_over_whole(server, monkeypatch):
    """A small answer is usually read to its end (and released) by the reader thread before the
    loop gets to the headers: send() then hands the body over as a WholeBody, with no body
    iterator, no finalizer and no wake-up per chunk. The loop is held here until the reader has
    finished, so that order is certain; the answer must come whole, and its connection back."""
    from openai_bindings.http import WholeBody
    from openai_bindings.transport import _Exchange

    asyncio, transport = _threaded()
    resolve = _Exchange._resolve_head

    def after_the_reader(self: Any, response: Any, error: Any) -> None:
        deadline = time.monotonic() + 5
        while not self.finished and time.monotonic() < deadline:
            time.sleep(0.001)
        resolve(self, response, error)

    monkeypatch.setattr(_Exchange, "_resolve_head", after_the_reader)

    async def main() -> list:
        got = []
        for path in ("/one", "/two"):
            response = await transport.send(_request("GET", server.url(path)))
            assert type(response.stream) is WholeBody
            got.append(json.loads(await response.aread())["path"])
        await transport.close()
        return got

    assert _in_a_new_loop(main()) == ["/one", "/two"]
    assert server.requests[0].connection == server.requests[1].connection


def test_threaded_read_ahead_is_bounded(server, monkeypatch):
    asyncio, transport = _threaded()
    monkeypatch.setattr(type(transport), "READ_AHEAD", 64 * 1024)
    body = bytes(range(256)) * 4096  # 1 MiB
    server.queue(Reply(body=body))

    async def main() -> bytes:
        response = await transport.send(_request("GET", server.url("/big")))
        exchange = response.stream.exchange
        await asyncio.sleep(0.3)  # the reader fills its allowance and waits
        assert not exchange.finished and exchange.size < 64 * 1024 + 65536
        data = await response.aread()
        await transport.close()
        return data

    assert _in_a_new_loop(main()) == body


def test_threaded_send_cancelled_before_the_answer_releases_it(server):
    asyncio, transport = _threaded()
    gate = threading.Event()
    server.queue(Reply(chunks=[b"late", b"more"], gate=gate, delay=0.3))

    async def main() -> None:
        task = asyncio.ensure_future(transport.send(_request("GET", server.url("/slow"))))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.5)  # the answer arrives to nobody: the reader closes it

    _in_a_new_loop(main())
    assert server.wait_for_connection_closed(1, timeout=3)
    gate.set()
    transport.sync.close()


def test_threaded_readers_are_reused_not_started_per_exchange(server):
    asyncio, transport = _threaded()

    async def main() -> None:
        for n in range(20):
            response = await transport.send(_request("GET", server.url(f"/r/{n}")))
            await response.aread()
        await transport.close()

    before = {t.ident for t in threading.enumerate() if t.name == "openai-bindings-reader"}
    asyncio.run(main())
    readers = {t.ident for t in threading.enumerate() if t.name == "openai-bindings-reader"} - before
    assert len(readers) <= 2  # one parked reader serves one exchange after another


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_threaded_readers_after_fork(server):
    """A parked reader thread of the parent does not exist in a forked child: the child starts its own."""
    asyncio, transport = _threaded()

    async def one(path: str) -> bytes:
        return await (await transport.send(_request("GET", server.url(path)))).aread()

    assert asyncio.run(one("/parent"))
    from openai_bindings.transport import _READERS

    deadline = time.monotonic() + 5
    while not _READERS._parked and time.monotonic() < deadline:
        time.sleep(0.01)  # the reader parks itself just after the exchange
    assert _READERS._parked

    def child() -> bool:
        return json.loads(asyncio.run(one("/child")))["path"] == "/child"

    assert _in_a_forked_child(child) == 0
    transport.sync.close()


# -- aiohttp: each wait for the body bounded, without a timer per chunk ------------------------


def _read_with_aiohttp(request: Request, pause: float = 0.0) -> tuple:
    """Read one body through the aiohttp transport, chunk by chunk (``pause`` after each);
    returns the chunks, the error (or None) and the read-timeout timers the loop was given."""
    import asyncio

    from openai_bindings.transports import AiohttpTransport

    async def main() -> tuple:
        loop = asyncio.get_running_loop()
        timers: list = []
        schedule = loop.call_at

        def call_at(when: float, callback: Any, *args: Any, **kwargs: Any) -> Any:
            name = getattr(callback, "__name__", "")
            if name in ("_on_read_timeout", "_check_deadline", "_check"):  # aiohttp's sock_read, ours
                timers.append(name)
            return schedule(when, callback, *args, **kwargs)

        loop.call_at = call_at  # type: ignore[method-assign]  # call_later goes through it too
        transport = AiohttpTransport()
        chunks: list = []
        error = None
        try:
            response = await transport.send(request)
            try:
                async for chunk in response.stream:
                    chunks.append(chunk)
                    if pause:
                        await asyncio.sleep(pause)
            except Exception as failure:
                error = failure
            finally:
                await response.aclose()
        finally:
            await transport.close()
        return chunks, error, timers

    return asyncio.run(main())


def test_aiohttp_bounds_body_reads_without_a_timer_per_chunk(server):
    """aiohttp's sock_read cancels and schedules a timer for every chunk that arrives (~9% of a
    paced stream's CPU); the transport's own deadline schedules one per read period."""
    parts = [b"data: %d\n\n" % n for n in range(60)]
    server.queue(Reply(chunks=parts, chunk_delay=0.01))  # apart, so each arrives on its own
    request = Request("GET", server.url("/many"), {}, None, Timeout(connect=2, read=5))
    chunks, error, timers = _read_with_aiohttp(request)
    assert error is None and b"".join(chunks) == b"".join(parts)
    assert len(chunks) > 20, "the chunks arrived together: the test proves nothing"
    assert len(timers) <= 3, timers


def test_aiohttp_a_slow_reader_is_not_a_stalled_server(server):
    """The deadline bounds waiting for the server, not the time the caller spends per chunk."""
    parts = [b"data: one\n\n", b"data: two\n\n", b"data: three\n\n"]
    server.queue(Reply(chunks=parts, chunk_delay=0.05))  # apart: a body still arriving, read slowly
    request = Request("GET", server.url("/slow-reader"), {}, None, Timeout(connect=2, read=0.2))
    chunks, error, _ = _read_with_aiohttp(request, pause=0.3)
    assert error is None and b"".join(chunks) == b"".join(parts)
    assert len(chunks) > 1, "the body came whole with the headers: no deadline was tested"


def test_aiohttp_a_long_body_with_short_gaps_never_times_out(server):
    """Gaps shorter than the read timeout, a whole body longer than it: the deadline moves on."""
    parts = [b"data: %d\n\n" % n for n in range(7)]
    server.queue(Reply(chunks=parts, chunk_delay=0.25))  # 1.5 s in all, gaps a quarter of the timeout
    request = Request("GET", server.url("/long"), {}, None, Timeout(connect=2, read=1.0))
    chunks, error, timers = _read_with_aiohttp(request)
    assert error is None and b"".join(chunks) == b"".join(parts)
    assert 1 <= len(timers) <= 5, timers  # re-armed once or twice over 1.5 s, not once per chunk


def test_aiohttp_a_stall_after_some_chunks_times_out_in_time(server):
    gate = threading.Event()
    server.queue(Reply(chunks=[b"data: one\n\n", b"data: two\n\n"], gate=gate))
    request = Request("GET", server.url("/stall"), {}, None, Timeout(connect=2, read=0.3))
    started = time.monotonic()
    try:
        chunks, error, _ = _read_with_aiohttp(request)
    finally:
        gate.set()
    assert chunks == [b"data: one\n\n"]
    assert isinstance(error, APITimeoutError), error
    assert 0.25 <= time.monotonic() - started < 2


def test_aiohttp_waits_for_headers_share_one_timer(server):
    """sock_read scheduled and cancelled two timers per request (8% of a small request's CPU
    under concurrency); the session's watch arms one per read period, whatever the count."""
    import asyncio

    from openai_bindings.transports import AiohttpTransport

    count = 40
    server.queue(*[Reply(body={"n": n}) for n in range(count)])

    async def main() -> list:
        loop = asyncio.get_running_loop()
        timers: list = []
        schedule = loop.call_at

        def call_at(when: float, callback: Any, *args: Any, **kwargs: Any) -> Any:
            timers.append(getattr(callback, "__name__", ""))
            return schedule(when, callback, *args, **kwargs)

        loop.call_at = call_at  # type: ignore[method-assign]  # call_later goes through it too
        transport = AiohttpTransport()
        try:
            for n in range(count):
                request = Request("GET", server.url(f"/small/{n}"), {}, None, Timeout(connect=2, read=5))
                response = await transport.send(request)
                body = b"".join([chunk async for chunk in response.stream])
                await response.aclose()
                assert json.loads(body) == {"n": n}
        finally:
            await transport.close()
        return timers

    timers = asyncio.run(main())
    assert "_on_read_timeout" not in timers, "aiohttp's sock_read is back: a timer per request"
    assert timers.count("_check") == 1, timers


def test_aiohttp_a_short_read_timeout_is_not_held_back_by_a_longer_one(server):
    """The watch's one timer is armed for the earliest end: a request with a short read timeout,
    sent while another waits with a long one, still times out in its own time."""
    import asyncio

    from openai_bindings.transports import AiohttpTransport

    server.queue(Reply(body={"slow": True}, delay=1.0), path="/patient")
    server.queue(Stall(5), path="/stalled")

    async def main() -> tuple:
        transport = AiohttpTransport()
        try:
            patient = Request("GET", server.url("/patient"), {}, None, Timeout(connect=2, read=5))
            hasty = Request("GET", server.url("/stalled"), {}, None, Timeout(connect=2, read=0.3))

            async def read(request: Request) -> bytes:
                response = await transport.send(request)
                try:
                    return b"".join([chunk async for chunk in response.stream])
                finally:
                    await response.aclose()

            first = asyncio.ensure_future(read(patient))
            await asyncio.sleep(0.2)  # the patient request is waiting: the timer is armed for it
            started = time.monotonic()
            with pytest.raises(APITimeoutError):
                await read(hasty)
            waited = time.monotonic() - started
            return waited, await first
        finally:
            await transport.close()

    waited, body = asyncio.run(main())
    assert 0.25 <= waited < 0.9, waited
    assert json.loads(body) == {"slow": True}


def test_aiohttp_an_answer_that_came_whole_is_handed_over_in_memory():
    """A small answer arrives with its headers, and aiohttp has put the connection back before
    the send returns: the transport hands the bytes over as a WholeBody (still an async iterable,
    as the contract says), with nothing to release, and the connection serves the next request.
    (A body still arriving is streamed through its deadline: the tests above.)"""
    import asyncio

    from openai_bindings.http import WholeBody
    from openai_bindings.transports import AiohttpTransport

    answers = [
        b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok": 1}\r\n',
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\none\r\n3\r\ntwo\r\n0\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
    ]
    timeout = Timeout(connect=2, read=5)

    async def main(base: str) -> list:
        transport = AiohttpTransport(trust_env=False)
        got = []
        try:
            for path in ("/a", "/b", "/c"):
                response = await transport.send(Request("GET", base + path, {}, None, timeout))
                assert type(response.stream) is WholeBody, (path, response.stream)
                got.append(b"".join([chunk async for chunk in response.stream]))
                await response.aclose()
        finally:
            await transport.close()
        return got

    with _raw_server(answers) as (base, seen):
        got = asyncio.run(main(base))
    assert got == [b'{"ok": 1}\r\n', b"onetwo", b""]
    assert seen == ["GET", "GET", "GET"]  # one connection carried all three


def test_the_core_reads_a_whole_body_without_awaiting(monkeypatch):
    """The client's body reader and AsyncStream take a WholeBody's chunks directly: no await (and
    no coroutine) per chunk. Its async iterator is made to fail here, so only that path passes."""
    import asyncio

    import openai_bindings
    from openai_bindings.http import Response, WholeBody

    def no_awaiting(self: Any) -> Any:
        raise AssertionError("the core awaited a body that was already in memory")

    monkeypatch.setattr(WholeBody, "__aiter__", no_awaiting)
    answers = {
        "/v1/models": b'{"object": "list", "data": []}',
        "/v1/chat/completions": b'data: {"choices": [{"index": 0, "delta": {"content": "hi"}}]}\n\n'
        b"data: [DONE]\n\n",
    }

    class Whole:
        name = "whole"

        async def send(self, request: Request) -> Response:
            body = answers[request.url.split("127.0.0.1", 1)[1]]
            kind = "text/event-stream" if body.startswith(b"data:") else "application/json"
            headers = {"Content-Type": kind, "Content-Length": str(len(body))}
            return Response(200, headers, stream=WholeBody((body[:5], body[5:])))

        async def close(self) -> None:
            pass

    async def main() -> tuple:
        async with openai_bindings.AsyncOpenAI(
            api_key="sk-test", base_url="http://127.0.0.1/v1", transport=Whole()
        ) as client:
            listing = await client.models()
            stream = await client.create_chat_completion(
                [{"role": "user", "content": "hi"}], model="m", stream=True
            )
            async with stream:
                events = [event async for event in stream]
            return listing.body, events, stream.text

    body, events, text = asyncio.run(main())
    assert body == {"object": "list", "data": []}
    assert len(events) == 1 and text == "hi"


def test_a_whole_body_is_an_async_iterable_of_its_chunks():
    import asyncio

    from openai_bindings.http import WholeBody

    async def read(body: WholeBody) -> list:
        return [chunk async for chunk in body]

    assert asyncio.run(read(WholeBody((b"a", b"bc")))) == [b"a", b"bc"]
    assert asyncio.run(read(WholeBody(()))) == []
    assert list(WholeBody((b"a",))) == [b"a"]


# -- the stdlib transport's response head: http.client's rules, its own header reader -----------


@contextlib.contextmanager
def _raw_server(answers: list):
    """A socket server on 127.0.0.1 writing canned answers, one per request, on one kept
    connection (each request's head and Content-Length body read first); stops by itself."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(5)
    seen: list = []

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            conn.settimeout(5)
            reader = conn.makefile("rb")
            for answer in answers:
                head = []
                while True:
                    line = reader.readline()
                    if line in (b"\r\n", b"\n", b""):
                        break
                    head.append(line)
                if not head:
                    break
                length = [int(h.split(b":")[1]) for h in head if h.lower().startswith(b"content-length")]
                if length:
                    reader.read(length[0])
                seen.append(head[0].split()[0].decode())
                conn.sendall(answer)
                if b"Connection: close" in answer:
                    break
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", seen
    finally:
        listener.close()
        thread.join(5)


def _stdlib_read(transport: Any, request: Request) -> tuple:
    response = transport.send(request)
    return response, response.read()  # read to the end, then closed: the connection goes back


def test_stdlib_response_heads_follow_http_client_rules():
    """100 Continue skipped, HEAD and 204 bodiless (the connection kept), a folded header as
    http.client gives it, then an HTTP/1.0 body read to the close."""
    from openai_bindings.transports import StdlibTransport

    answers = [
        b"HTTP/1.1 100 Continue\r\nX-Early: 1\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Request-ID: r1\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 42\r\nContent-Type: text/plain\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\nX-Folded: a\r\n b\r\n\r\n",
        b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nto the end",
    ]
    transport = StdlibTransport()
    timeout = Timeout(connect=2, read=5)
    try:
        with _raw_server(answers) as (base, seen):
            response, body = _stdlib_read(
                transport, Request("POST", base + "/a", {"Content-Length": "2"}, b"{}", timeout)
            )
            assert (response.status, body, response.headers["x-request-id"]) == (200, b"ok", "r1")
            assert "x-early" not in response.headers  # the 100's headers are not the answer's
            response, body = _stdlib_read(transport, Request("HEAD", base + "/b", {}, None, timeout))
            assert (response.status, body, response.headers["content-length"]) == (200, b"", "42")
            response, body = _stdlib_read(transport, Request("GET", base + "/c", {}, None, timeout))
            assert (response.status, body) == (204, b"")
            assert response.headers["x-folded"] == "a\r\n b"  # http.client's (email's) value
            response, body = _stdlib_read(transport, Request("GET", base + "/d", {}, None, timeout))
            assert (response.status, body) == (200, b"to the end")
        assert seen == ["POST", "HEAD", "GET", "GET"]  # one connection carried all four
    finally:
        transport.close()
