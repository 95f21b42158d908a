"""An OpenAI-shaped HTTP server for the benchmarks, fast enough never to be what is measured.

    python bench/server.py [--port 0]      # prints "READY <host> <port>", stops on stdin EOF

asyncio protocols over raw sockets, every answer encoded once and cached, keep-alive, and
streams sent as the real API sends them: one HTTP chunk (and one socket write) per SSE event.
``BenchServer`` runs it in its own process, so its CPU never counts as the client's; it
stops when the bench ends, whatever happens (its stdin closes when its parent dies).

The answer is chosen by the first path segment, so every client sends the very same
request and the server never parses JSON:

    /chat/v1/chat/completions           a non-streamed chat.completion
    /stream-N/v1/chat/completions       a stream of N events (role, N-2 contents, finish), [DONE]
    /paced-N/v1/chat/completions        the same, each event after a short pause, so that each
                                        arrives in its own read as from the real API
    /accum-K/v1/chat/completions        a stream whose content and tool-call arguments add up
                                        to K KiB, in 1 KiB deltas (the accumulation rows)
    GET /_stats                         {"cpu": seconds of server CPU, "requests": count}
    GET /_prepare/SCENARIO              encode that answer now (before the measured rounds)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
from typing import Any, Dict, Iterator, List, Optional, Tuple

from payloads import accumulation_events, chat_completion, stream_events

HOST = "127.0.0.1"
#: Seconds between two events of a paced stream (the loop is blocked: paced rows run one client at a time).
PACE = 0.0001
MAX_HEAD = 65536

_COMMON_HEADERS = (
    "openai-organization: bench\r\n"
    "openai-processing-ms: 1\r\n"
    "openai-version: 2020-10-01\r\n"
    "x-ratelimit-limit-requests: 10000\r\n"
    "x-ratelimit-remaining-requests: 9999\r\n"
    "x-ratelimit-reset-requests: 6ms\r\n"
    "x-request-id: req_bench\r\n"
)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _head(status: str, content_type: str, length: Optional[int]) -> bytes:
    framing = "transfer-encoding: chunked\r\n" if length is None else f"content-length: {length}\r\n"
    return (f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n{framing}{_COMMON_HEADERS}\r\n").encode()


def _sse_chunks(events: List[Dict[str, Any]]) -> List[bytes]:
    """The response as one HTTP chunk per SSE event, then [DONE] and the last chunk."""
    out = [_head("200 OK", "text/event-stream; charset=utf-8", None)]
    for data in [*(_dumps(e) for e in events), b"[DONE]"]:
        line = b"data: " + data + b"\n\n"
        out.append(b"%x\r\n%s\r\n" % (len(line), line))
    out[-1] += b"0\r\n\r\n"
    return out


def _json_answer(status: str, body: Dict[str, Any]) -> List[bytes]:
    data = _dumps(body)
    return [_head(status, "application/json", len(data)) + data]


class Answers:
    """Every answer encoded once, on first use, and kept: a request costs a dict lookup."""

    def __init__(self) -> None:
        self._cache: Dict[str, Tuple[List[bytes], bool]] = {}

    def get(self, scenario: str) -> Tuple[List[bytes], bool]:
        """The chunks to write, and whether to pause between them."""
        found = self._cache.get(scenario)
        if found is None:
            found = self._cache[scenario] = self._build(scenario)
        return found

    @staticmethod
    def _build(scenario: str) -> Tuple[List[bytes], bool]:
        kind, _, size = scenario.partition("-")
        if kind == "chat" and not size:
            return _json_answer("200 OK", chat_completion()), False
        if kind in ("stream", "paced", "accum") and size.isdigit():
            events = accumulation_events(int(size)) if kind == "accum" else stream_events(int(size))
            return _sse_chunks(events), kind == "paced"
        error = {
            "error": {"message": f"unknown bench scenario {scenario!r}", "type": "invalid_request_error"}
        }
        return _json_answer("404 Not Found", error), False


class _Stats:
    requests = 0


def _stats_answer() -> List[bytes]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return _json_answer("200 OK", {"cpu": usage.ru_utime + usage.ru_stime, "requests": _Stats.requests})


class HTTPServerProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive and pipelining; request bodies are read and ignored."""

    def __init__(self, answers: Answers) -> None:
        self.answers = answers
        self.buffer = bytearray()
        self.transport: Optional[asyncio.Transport] = None
        self.pending: Optional[Iterator[bytes]] = None
        self.paced = False
        self.paused = False
        self.close_after = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._serve()

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self._pump()
        self._serve()  # requests that arrived while this answer was being written

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.pending = None
        self.transport = None

    def _serve(self) -> None:
        """Answer every complete request in the buffer, one at a time."""
        while self.pending is None and self.transport is not None:
            parsed = self._parse()
            if parsed is None:
                return
            method, path = parsed
            _Stats.requests += 1
            if method == "GET" and path == "/_stats":
                chunks, self.paced = _stats_answer(), False
            elif method == "GET" and path.startswith("/_prepare/"):
                self.answers.get(path[len("/_prepare/") :])
                chunks, self.paced = _json_answer("200 OK", {"prepared": True}), False
            else:
                chunks, self.paced = self.answers.get(path.lstrip("/").split("/", 1)[0])
            self.pending = iter(chunks)
            self._pump()

    def _parse(self) -> Optional[Tuple[str, str]]:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_HEAD:
                self._fail()
            return None
        lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        length, chunked = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                chunked = "chunked" in value.lower()
            elif name == "connection":
                self.close_after = value.strip().lower() == "close"
        start = end + 4
        body_end = _chunked_end(self.buffer, start) if chunked else start + length
        if body_end < 0 or len(self.buffer) < body_end:
            return None
        del self.buffer[:body_end]
        return method, path

    def _pump(self) -> None:
        transport = self.transport
        while self.pending is not None and transport is not None and not self.paused:
            chunk = next(self.pending, None)
            if chunk is None:
                self.pending = None
                if self.close_after:
                    transport.close()
                return
            transport.write(chunk)
            if self.paced:
                time.sleep(PACE)

    def _fail(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _chunked_end(buffer: bytearray, start: int) -> int:
    """Where a chunked body that starts at ``start`` ends, or -1 while it is incomplete."""
    position = start
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return -1
        size = int(bytes(buffer[position:line_end]).split(b";")[0], 16)
        position = line_end + 2
        if size == 0:
            trailer_end = buffer.find(b"\r\n\r\n", position - 2)
            return -1 if trailer_end < 0 else trailer_end + 4
        position += size + 2
        if position > len(buffer):
            return -1


async def serve(port: int = 0, ready: Any = None) -> None:
    """Serve until stdin closes (the parent is done, or died)."""
    loop = asyncio.get_running_loop()
    answers = Answers()
    server = await loop.create_server(lambda: HTTPServerProtocol(answers), HOST, port, backlog=1024)
    stop = asyncio.Event()

    def wait_for_eof() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait_for_eof, daemon=True).start()
    bound = server.sockets[0].getsockname()[1]
    print(f"READY {HOST} {bound}", flush=True)
    async with server:
        await stop.wait()


class BenchServer:
    """The server in its own process: ``with BenchServer() as server: server.url("stream-1000")``."""

    def __init__(self, timeout: float = 20.0) -> None:
        self.timeout = timeout
        self.process: Optional[subprocess.Popen[str]] = None
        self.port = 0

    def start(self) -> BenchServer:
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = _readline(self.process.stdout, self.timeout)
        if not line.startswith("READY "):
            self.stop()
            raise RuntimeError(f"the bench server did not start: {line!r}")
        self.port = int(line.split()[2])
        return self

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url(self, scenario: str) -> str:
        """The base URL (ending in /v1) a client uses for one scenario."""
        return f"{self.base}/{scenario}/v1"

    def _get(self, path: str) -> Any:
        import http.client

        conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
        try:
            conn.request("GET", path)
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def cpu(self) -> float:
        """The server's CPU seconds so far (to show it is not the bottleneck)."""
        return float(self._get("/_stats")["cpu"])

    def prepare(self, base: str) -> None:
        """Have the answer for a scenario's base URL (from ``url``) encoded before it is measured."""
        self._get("/_prepare/" + base[len(self.base) :].strip("/").split("/")[0])

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        try:
            if process.stdin is not None:
                process.stdin.close()
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        finally:
            if process.stdout is not None:
                process.stdout.close()

    def __enter__(self) -> BenchServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _readline(stream: Any, timeout: float) -> str:
    """One line from a child's pipe, or "" after ``timeout`` seconds (a wait that always ends)."""
    result: List[str] = []
    reader = threading.Thread(target=lambda: result.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return result[0] if result else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 (default) picks a free port")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
