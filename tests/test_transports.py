"""The transport contract, run against every built-in transport over real sockets on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time

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
