"""The benchmark's own parts work and measure the same thing for every client (nothing here is timed).

bench/ is a folder of scripts, not a package: its directory goes at the end of sys.path so
its module names never shadow anything (its profile.py would shadow the standard library's).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import socket
import sys
from typing import Any, Iterator, List

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
if BENCH not in sys.path:
    sys.path.append(BENCH)

import clients  # noqa: E402
import payloads  # noqa: E402
import run  # noqa: E402
from server import BenchServer  # noqa: E402

needs_openai = pytest.mark.skipif(importlib.util.find_spec("openai") is None, reason="openai not installed")


@pytest.fixture(scope="module")
def server() -> Iterator[BenchServer]:
    with BenchServer() as running:
        yield running


def _exchange(server: BenchServer, raw: bytes, until: bytes = b"", limit: int = 1 << 22) -> bytes:
    """Send raw bytes on a fresh connection; read until ``until`` ends what was received (or EOF)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(raw)
        received = b""
        while not (until and received.endswith(until)) and len(received) < limit:
            data = sock.recv(65536)
            if not data:
                break
            received += data
    return received


def _chunks(body: bytes) -> List[bytes]:
    """The chunks of a chunked body, as framed on the wire."""
    out, position = [], 0
    while True:
        end = body.index(b"\r\n", position)
        size = int(body[position:end], 16)
        if size == 0:
            return out
        out.append(body[end + 2 : end + 2 + size])
        position = end + 2 + size + 2


def test_non_streamed_answers_reuse_one_connection(server: BenchServer) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        for _ in range(3):
            conn.request("POST", "/chat/v1/chat/completions", body=b'{"model": "m"}')
            response = conn.getresponse()
            assert response.status == 200
            assert response.getheader("x-request-id") == "req_bench"
            assert json.loads(response.read()) == payloads.chat_completion()
            assert not response.will_close
    finally:
        conn.close()


def test_a_stream_is_one_http_chunk_per_sse_event(server: BenchServer) -> None:
    request = b"POST /stream-7/v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
    head, _, body = _exchange(server, request, b"0\r\n\r\n").partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    chunks = _chunks(body)
    assert len(chunks) == 8  # 7 events and [DONE]
    assert all(c.startswith(b"data: ") and c.endswith(b"\n\n") and c.count(b"\n\n") == 1 for c in chunks)
    assert chunks[-1] == b"data: [DONE]\n\n"
    events = [json.loads(c[6:]) for c in chunks[:-1]]
    assert events == payloads.stream_events(7)


def test_pipelined_requests_and_chunked_request_bodies_are_served_in_order(server: BenchServer) -> None:
    first = b"POST /chat/v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    first += b"2\r\n{}\r\n0\r\n\r\n"
    second = b"GET /nowhere/v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    received = _exchange(server, first + second)  # the second asks to close: read to the end
    assert received.count(b"HTTP/1.1 ") == 2
    assert received.index(b"200 OK") < received.index(b"404 Not Found")
    assert b"unknown bench scenario 'nowhere'" in received


def test_every_client_does_the_same_work(server: BenchServer) -> None:
    """What run.py relies on: every client gets the same answer from the same request."""
    checks = {}
    for name, (cls, module) in clients.CLIENTS.items():
        if importlib.util.find_spec(module.split(".")[0]) is None or name.endswith("+noop"):
            continue
        client = cls()
        loop = asyncio.new_event_loop() if client.is_async else None

        def call(result: Any, loop: Any = loop) -> Any:
            return loop.run_until_complete(result) if loop is not None else result

        try:
            checks[name] = (
                call(client.request(server.url("chat"), 2)),
                call(client.stream(server.url("stream-12"), 2)),
            )
            if hasattr(client, "accumulate"):
                assert call(client.accumulate(server.url("accum-3"))) == 3 * 1024
            if hasattr(client, "session"):
                assert call(client.session(server.url("chat"), 2, 10)) == checks[name][0]
            if hasattr(client, "concurrent"):
                assert call(client.concurrent(server.url("stream-12"), 6, 3, True)) == 3 * checks[name][1]
        finally:
            call(client.close())
            if loop is not None:
                loop.close()
    assert {"raw-urllib3", "ours-urllib3", "ours-stdlib", "ours-async-stdlib"} <= set(checks)
    assert len(set(checks.values())) == 1, checks


def test_hook_calls_are_counted_for_the_hooks_row(server: BenchServer) -> None:
    pool = run.Pool(60)
    try:
        workers = pool.get(["ours-urllib3", "ours-urllib3+noop"])
        command = {
            "op": "hookcalls",
            "request": server.url("chat"),
            "stream": server.url("stream-5"),
            "count": 2,
        }
        plain = workers["ours-urllib3"].send(command, 60)
        observed = workers["ours-urllib3+noop"].send(command, 60)
    finally:
        pool.close()
    assert plain["calls"] == observed["calls"] == 4
    assert set(plain["pluggy"]) <= set(clients.OBSERVATION_HOOKS)
    # the no-op plugin implements prepare_request at least, so it is called on every call
    assert observed["plugin"].get("prepare_request") == 4


def test_a_quick_run_writes_the_table(tmp_path: Any) -> None:
    assert run.main(["--quick", "--rows", "rss", "--output", str(tmp_path)]) == 0
    table = (tmp_path / "latest.md").read_text()
    assert "`rss-growth`" in table and "machine:" in table
    data = json.loads((tmp_path / "latest.json").read_text())
    assert [row["id"] for row in data["rows"]] == ["rss-peak", "rss-growth"]


def test_rows_select_and_targets_read() -> None:
    assert run.selected_groups("stream-urllib3") == {"stream": ["stream-urllib3"]}
    assert set(run.selected_groups(None)) == set(run.GROUPS)
    assert run.Target("<=", 1.25).holds(1.3) is False
    assert run.Target(">=", 0.95).holds(0.96) is True
    assert run.INFO.holds(5.0) is None
    for row in run.ROWS.values():  # profile.py can run every row that has a client workload
        if row.profile is not None:
            name, workload, _scenario, _args = row.profile
            assert hasattr(clients.CLIENTS[name][0], workload), row.id


def test_the_server_stops_when_the_bench_does() -> None:
    running = BenchServer().start()
    process = running.process
    assert process is not None
    running.stop()
    assert process.returncode == 0  # it left on stdin EOF, it was not killed
