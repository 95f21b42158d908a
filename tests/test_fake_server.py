"""The fake as a server: rate limits, the in-flight counter, CORS, and ``openai-bindings fake-server``."""

from __future__ import annotations

import contextlib
import io
import re
import select
import signal
import subprocess
import sys
import threading
from typing import Any, Iterator, List, Tuple

import pytest
from fake_oracle import send

import openai_bindings
from openai_bindings.testing import FakeOpenAIServer, RateLimit
from openai_bindings.testing.fake import serve
from openai_bindings.testing.fake.ratelimit import Limiter, duration

MSGS = [{"role": "user", "content": "Hello"}]


# -- rate limits --------------------------------------------------------------------------------


def test_rate_limit_headers_then_a_429_with_retry_after():
    with FakeOpenAIServer(rate_limit=RateLimit(requests=2, tokens=1000)) as server:
        url = server.base_url + "/chat/completions"
        first = send(url, "POST", {"model": "gpt-4.1", "messages": MSGS})[1]
        assert first["x-ratelimit-limit-requests"] == "2" and first["x-ratelimit-remaining-requests"] == "1"
        assert first["x-ratelimit-limit-tokens"] == "1000"
        assert int(first["x-ratelimit-remaining-tokens"]) < 1000
        assert first["x-ratelimit-reset-requests"].endswith("s")
        assert send(url, "POST", {"messages": MSGS})[1]["x-ratelimit-remaining-requests"] == "0"
        status, headers, body = send(url, "POST", {"model": "gpt-4.1", "messages": MSGS})
    assert status == 429 and int(headers["retry-after"]) >= 1 and int(headers["retry-after-ms"]) > 1000
    error = body["error"]
    assert (error["type"], error["code"]) == ("requests", "rate_limit_exceeded")
    assert error["message"].startswith(
        "Rate limit reached for gpt-4.1 in organization org-fake on requests per min (RPM): Limit 2, Used 2, "
        "Requested 1. Please try again in "
    )
    assert headers["x-request-id"].startswith("req_")


def test_the_client_sees_the_429_as_a_rate_limit_error_with_retry_after():
    with FakeOpenAIServer(rate_limit={"tokens": 60}) as server:
        client = openai_bindings.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
        client.create_chat_completion(MSGS, max_tokens=50)
        with pytest.raises(openai_bindings.RateLimitError) as info:
            client.create_chat_completion(MSGS, max_tokens=50)
        assert int(info.value.headers["retry-after"]) > 0
        # the cost: the body's words ("gpt-4.1", "user", "Hello") and its max_tokens
        assert re.search(r"on tokens per min \(TPM\): Limit 60, Used \d+, Requested 53\.", str(info.value))
        with pytest.raises(openai_bindings.RateLimitError) as too_large:
            client.create_chat_completion(MSGS, max_tokens=500)
        assert "Request too large" in str(too_large.value) and "retry-after" not in too_large.value.headers
        client.close()


def test_budgets_replenish_over_time():
    now = [0.0]
    limiter = Limiter(RateLimit(requests=2, period=60), clock=lambda: now[0])
    assert limiter.admit({})[1] is None and limiter.admit({})[1] is None
    headers, refused = limiter.admit({})
    assert refused is not None and refused.headers["retry-after"] == "30"
    now[0] = 30.0
    headers, refused = limiter.admit({})
    assert refused is None and headers["x-ratelimit-remaining-requests"] == "0"
    assert headers["x-ratelimit-reset-requests"] == "1m0s"


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.12, "120ms"), (1, "1s"), (8.64, "8.64s"), (360, "6m0s"), (61.5, "1m1.5s")]
)
def test_reset_durations_use_the_api_format(seconds, text):
    assert duration(seconds) == text


def test_rate_limit_settings_are_checked():
    with pytest.raises(ValueError, match="requests"):
        RateLimit(requests=0)
    with pytest.raises(ValueError, match="period"):
        RateLimit(requests=1, period=0)


# -- concurrency ---------------------------------------------------------------------------------


def test_max_in_flight_counts_concurrent_requests():
    together = threading.Barrier(4, timeout=10)

    def slow(request: Any) -> Any:
        together.wait()  # all four are being answered at once
        return server.default(request)

    with FakeOpenAIServer() as server:
        server.route("GET", "/v1/models", slow)
        workers = [threading.Thread(target=send, args=(server.base_url + "/models",)) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(15)
        assert server.max_in_flight == 4
        for _ in range(500):  # the last answer is sent just before its handler counts itself out
            if server.in_flight == 0:
                break
            threading.Event().wait(0.01)
        assert server.in_flight == 0
        server.route("GET", "/v1/models", server.default)
        send(server.base_url + "/models")
        assert server.max_in_flight == 4


def test_concurrent_clients_see_consistent_stores(fake):
    client = openai_bindings.OpenAI(
        base_url=fake.base_url, api_key="sk-test", max_retries=0, transport="stdlib"
    )
    failures: List[BaseException] = []

    def work(worker: int) -> None:
        try:
            for n in range(15):
                client.create_chat_completion(MSGS, store=True, metadata={"worker": str(worker)})
                listed = client.chat_completions(metadata={"worker": str(worker)}, limit=100).body["data"]
                assert len(listed) == n + 1
        except BaseException as error:  # reported below, with the worker's traceback
            failures.append(error)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    client.close()
    assert not failures, failures[0]
    assert len(fake.chat_completions) == 90


# -- CORS ---------------------------------------------------------------------------------------


def test_cors_preflight_and_headers():
    with FakeOpenAIServer(cors=True) as server:
        asked = {
            "Origin": "http://localhost:8000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, openai-beta",
        }
        status, headers, _ = send(server.base_url + "/chat/completions", "OPTIONS", headers=asked)
        assert status == 204
        assert headers["access-control-allow-origin"] == "http://localhost:8000"
        assert "POST" in headers["access-control-allow-methods"]
        assert headers["access-control-allow-headers"] == "authorization, content-type, openai-beta"
        assert server.requests == []  # a preflight is not an API request
        status, headers, _ = send(
            server.base_url + "/chat/completions",
            "POST",
            {"messages": MSGS},
            {"Origin": "http://localhost:8000"},
        )
        assert status == 200 and headers["access-control-allow-origin"] == "http://localhost:8000"
        assert "x-request-id" in headers["access-control-expose-headers"]
        assert "x-ratelimit-remaining-requests" in headers["access-control-expose-headers"]
        assert send(server.url("/nowhere"))[1]["access-control-allow-origin"] == "*"


def test_no_cors_headers_unless_asked(fake):
    status, headers, _ = send(fake.base_url + "/models", "OPTIONS", headers={"Origin": "http://x"})
    assert status == 404 and "access-control-allow-origin" not in headers


# -- serve() and the command line ---------------------------------------------------------------


def test_serve_prints_the_url_and_stops_when_asked():
    out = io.StringIO()
    stop = threading.Event()
    done: List[int] = []
    worker = threading.Thread(target=lambda: done.append(serve(out=out, stop=stop, models=["m1"])))
    worker.start()
    for _ in range(200):
        if out.getvalue():
            break
        stop.wait(0.05)
    url = out.getvalue().splitlines()[0]
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
    assert send(url + "/models")[2]["data"][0]["id"] == "m1"
    stop.set()
    worker.join(10)
    assert done == [0]


@contextlib.contextmanager
def fake_server_command(*options: str) -> Iterator[Tuple[subprocess.Popen, str]]:
    """``openai-bindings fake-server`` in a subprocess, and its first line; killed if left running."""
    command = [sys.executable, "-m", "openai_bindings", "fake-server", *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "fake-server printed nothing in 30 s"
        yield process, process.stdout.readline().strip()
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        process.stdout.close()
        process.stderr.close()


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_fake_server_command(how):
    with fake_server_command("--cors", "--model", "m1", "--model", "m2") as (process, url):
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        status, headers, body = send(url + "/models", headers={"Origin": "http://page"})
        assert [m["id"] for m in body["data"]] == ["m1", "m2"]
        assert headers["access-control-allow-origin"] == "http://page"
        process.send_signal(how)
        assert process.wait(timeout=20) == 0


def test_fake_server_command_takes_a_port():
    with FakeOpenAIServer() as probe:  # a port that was free a moment ago
        port = probe.port
    with fake_server_command("--port", str(port)) as (process, url):
        assert url == f"http://127.0.0.1:{port}/v1"
        process.terminate()
        assert process.wait(timeout=20) == 0


def test_the_test_servers_accept_a_burst_of_connections():
    """socketserver listens with a backlog of 5: one async client opening 200 streams at once
    overflowed it and the kernel reset connections (a flaky CI run). Both servers take 300."""
    import socket
    import urllib.parse

    from openai_bindings.testing import LocalServer, ProxyServer
    from openai_bindings.testing import proxy as proxy_module
    from openai_bindings.testing import server as server_module

    assert server_module._Server.request_queue_size >= 256
    assert proxy_module._Server.request_queue_size >= 256
    with LocalServer() as server:
        address = urllib.parse.urlsplit(server.url("/"))
        sockets = [socket.create_connection((address.hostname, address.port), timeout=10) for _ in range(300)]
        try:
            for sock in sockets:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert all(sock.recv(12).startswith(b"HTTP/1.") for sock in sockets)
        finally:
            for sock in sockets:
                sock.close()
    with ProxyServer() as proxy:
        address = urllib.parse.urlsplit(proxy.url)
        sockets = [socket.create_connection((address.hostname, address.port), timeout=10) for _ in range(300)]
        for sock in sockets:
            sock.close()
