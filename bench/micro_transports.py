"""Micro-benchmark of the transports alone: CPU per exchange against the raw library floors.

    python bench/micro_transports.py [--quick] [--rounds 9] [--events 1000]

A small asyncio server runs in its own process (its CPU is not counted); it answers
``/small`` with a short JSON body and ``/stream-N/...`` with N server-sent events, one
HTTP chunk (and one socket write) each, as the real API sends them. Every row is client
process CPU (``time.process_time``: all threads, reader threads included) per exchange,
the median of interleaved rounds, so the machine's noise falls on every row alike.

Rows, and what each ratio compares:

- ``stream``: send, every chunk of an N-event body, close. Each transport against the
  same library driven by hand (``raw``); ``stdlib (asyncio)`` is ThreadedAsyncTransport,
  against the first round's design (an executor hop per chunk) and raw aiohttp.
- ``small``: one small JSON request, the body read and released.
- ``client``: ``AsyncOpenAI(transport="stdlib")`` streaming an N-event chat completion
  (decoding and accumulating included), against openai-python's ``AsyncOpenAI`` (when
  installed; a bench-only package, never a dependency) doing the same.

This file is the transports' own; ``bench/run.py`` (when present) is the project's bench.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import multiprocessing
import statistics
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Iterator, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from openai_bindings import AsyncOpenAI, Request, Response, Timeout
from openai_bindings.transport import ThreadedAsyncTransport
from openai_bindings.transports import AiohttpTransport, StdlibTransport, Urllib3Transport

HOST = "127.0.0.1"
TIMEOUT = Timeout(connect=5, read=30)

# -- the server (its own process) --------------------------------------------------------------------


def _answers(events: int) -> Dict[str, List[bytes]]:
    small = json.dumps({"id": "x", "object": "list", "data": [{"id": "m"}]}).encode()
    piece = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": "tok "}, "finish_reason": None}],
    }
    lines = [b"data: " + json.dumps(piece, separators=(",", ":")).encode() + b"\n\n"] * events
    lines.append(b"data: [DONE]\n\n")
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    chunks = [head] + [b"%x\r\n%s\r\n" % (len(line), line) for line in lines]
    chunks[-1] += b"0\r\n\r\n"
    return {
        "small": [
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
            % (len(small), small)
        ],
        "stream": chunks,
    }


class _Protocol(asyncio.Protocol):
    answers: Dict[str, List[bytes]] = {}

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            path = head.split(b" ", 2)[1].decode()
            for piece in self.answers["stream" if path.startswith("/stream") else "small"]:
                self.transport.write(piece)


def _serve(port_queue: Any, events: int) -> None:
    _Protocol.answers = _answers(events)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(_Protocol, HOST, 0)
        port_queue.put(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    asyncio.run(main())


# -- the rows ------------------------------------------------------------------------------------------------


class _PerChunkHops:
    """The first round's ThreadedAsyncTransport: one executor round trip per body chunk (baseline)."""

    def __init__(self, sync: Any) -> None:
        self.sync = sync

    async def send(self, request: Request) -> Response:
        response: Response = await asyncio.to_thread(self.sync.send, request)
        chunks = iter(response.iter_bytes())

        async def body() -> Any:
            while True:
                chunk = await asyncio.to_thread(next, chunks, None)
                if chunk is None:
                    return
                yield chunk

        return Response(response.status, response.headers, body(), lambda: asyncio.to_thread(response.close))

    async def close(self) -> None:
        await asyncio.to_thread(self.sync.close)


def _transport_rows(base: str) -> Iterator[Tuple[str, str, Any, bool]]:
    """(row, compared-with, transport, is_async) for the library's transports."""
    yield "stdlib", "raw http.client", StdlibTransport(trust_env=False), False
    yield "urllib3", "raw urllib3", Urllib3Transport(trust_env=False), False
    yield "aiohttp", "raw aiohttp", AiohttpTransport(trust_env=False), True
    hops = "stdlib (asyncio), hop per chunk"
    yield "stdlib (asyncio)", hops, ThreadedAsyncTransport(StdlibTransport(trust_env=False)), True
    yield hops, "raw aiohttp", _PerChunkHops(StdlibTransport(trust_env=False)), True


def _sync_exchange(transport: Any, url: str) -> int:
    response = transport.send(Request("GET", url, {}, None, TIMEOUT))
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
    return size


async def _async_exchange(transport: Any, url: str) -> int:
    response = await transport.send(Request("GET", url, {}, None, TIMEOUT))
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
    return size


def _raw_http_client(port: int) -> Callable[[str], int]:
    conn = http.client.HTTPConnection(HOST, port)

    def exchange(path: str) -> int:
        conn.request("GET", path)
        raw = conn.getresponse()
        size = 0
        while chunk := raw.read1(65536):
            size += len(chunk)
        raw.close()
        return size

    return exchange


def _raw_urllib3(port: int) -> Callable[[str], int]:
    import urllib3

    pool = urllib3.HTTPConnectionPool(HOST, port, retries=False, maxsize=4)

    def exchange(path: str) -> int:
        raw = pool.urlopen("GET", path, preload_content=False, retries=False, redirect=False)
        size = 0
        while chunk := raw.read1(65536):
            size += len(chunk)
        raw.release_conn()
        return size

    return exchange


def _raw_aiohttp(base: str) -> Tuple[Callable[[str], Awaitable[int]], Callable[[], Awaitable[None]]]:
    import aiohttp

    session: Dict[str, Any] = {}

    async def exchange(path: str) -> int:
        if "s" not in session:
            session["s"] = aiohttp.ClientSession()
        async with session["s"].get(base + path) as raw:
            size = 0
            async for chunk in raw.content.iter_any():
                size += len(chunk)
            return size

    async def close() -> None:
        if "s" in session:
            await session.pop("s").close()

    return exchange, close


def _client_rows(base: str) -> List[Tuple[str, Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]]]]:
    """(row, one streamed call, close) for AsyncOpenAI on the stdlib transport and openai-python."""
    messages = [{"role": "user", "content": "hi"}]
    ours = AsyncOpenAI(api_key="sk-bench", base_url=f"{base}/stream/v1", transport="stdlib", max_retries=0)

    async def ours_call() -> int:
        stream = await ours.create_chat_completion(messages, model="m", stream=True)
        count = 0
        async for _ in stream:
            count += 1
        return count

    rows = [("client: AsyncOpenAI(transport='stdlib')", ours_call, ours.close)]
    try:
        import openai
    except ImportError:
        return rows
    theirs = openai.AsyncOpenAI(api_key="sk-bench", base_url=f"{base}/stream/v1", max_retries=0)

    async def theirs_call() -> int:
        stream = await theirs.chat.completions.create(model="m", messages=messages, stream=True)  # type: ignore[arg-type]
        count = 0
        async for _ in stream:
            count += 1
        return count

    rows.append(("client: openai-python AsyncOpenAI", theirs_call, theirs.close))
    return rows


# -- measuring ---------------------------------------------------------------------------------------------


def _cpu_per_call(call: Callable[[], Any], count: int) -> float:
    started = time.process_time()
    for _ in range(count):
        call()
    return (time.process_time() - started) / count


def _acpu_per_call(loop: asyncio.AbstractEventLoop, call: Callable[[], Awaitable[Any]], count: int) -> float:
    async def many() -> float:
        started = time.process_time()
        for _ in range(count):
            await call()
        return (time.process_time() - started) / count

    return loop.run_until_complete(many())


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one short round: proves the bench still runs")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args(argv)
    rounds, per_round = (1, 2) if args.quick else (args.rounds, 10)
    events = 50 if args.quick else args.events

    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    server = context.Process(target=_serve, args=(ports, events), daemon=True)
    server.start()
    try:
        port = ports.get(timeout=30)
        base = f"http://{HOST}:{port}"
        return _measure(base, port, rounds, per_round, events)
    finally:
        server.kill()
        server.join(5)


def _measure(base: str, port: int, rounds: int, per_round: int, events: int) -> int:
    loop = asyncio.new_event_loop()
    transports = list(_transport_rows(base))
    raw_sync = {"raw http.client": _raw_http_client(port), "raw urllib3": _raw_urllib3(port)}
    raw_aio, raw_aio_close = _raw_aiohttp(base)
    clients = _client_rows(base)
    compared = {name: versus for name, versus, _, _ in transports}
    paths = (("stream", f"/stream-{events}"), ("small", "/small"))
    samples: Dict[Tuple[str, str], List[float]] = {}

    def one_round(count: int, record: bool) -> None:
        for kind, path in paths:
            url = base + path
            costs: Dict[str, float] = {}
            for name, _, transport, is_async in transports:
                if is_async:
                    costs[name] = _acpu_per_call(loop, partial(_async_exchange, transport, url), count)
                else:
                    costs[name] = _cpu_per_call(partial(_sync_exchange, transport, url), count)
            for name, exchange in raw_sync.items():
                costs[name] = _cpu_per_call(partial(exchange, path), count)
            costs["raw aiohttp"] = _acpu_per_call(loop, partial(raw_aio, path), count)
            if record:
                for name, cost in costs.items():
                    samples.setdefault((kind, name), []).append(cost)
        for name, call, _ in clients:
            cost = _acpu_per_call(loop, call, max(1, count // 2))
            if record:
                samples.setdefault(("client", name), []).append(cost)

    try:
        one_round(1, record=False)  # warm every row: pools, sessions, imports
        for _ in range(rounds):
            one_round(per_round, record=True)
    finally:
        for _, _, transport, _ in transports:
            result = transport.close()
            if asyncio.iscoroutine(result):
                loop.run_until_complete(result)
        loop.run_until_complete(raw_aio_close())
        for _, _, close_client in clients:
            loop.run_until_complete(close_client())
        loop.close()
    _print(samples, compared, rounds, events)
    return 0


def _print(
    samples: Dict[Tuple[str, str], List[float]], compared: Dict[str, str], rounds: int, events: int
) -> None:
    medians = {key: statistics.median(values) for key, values in samples.items()}
    theirs = "client: openai-python AsyncOpenAI"
    print(f"Client CPU per exchange, median of {rounds} interleaved rounds; a stream is {events} events.\n")
    print(f"| row | {'transport or client':<40} | {'CPU µs':>9} | ratio | against |")
    print(f"|-----|{'-' * 42}|{'-' * 11}|-------|---------|")
    for (kind, name), value in sorted(medians.items()):
        versus = theirs if kind == "client" and name != theirs else compared.get(name, "")
        against = medians.get((kind, versus))
        ratio = f"{value / against:5.2f}" if against else "     "
        print(f"| {kind} | {name:<40} | {value * 1e6:9.1f} | {ratio} | {versus} |")


if __name__ == "__main__":
    sys.exit(main())
