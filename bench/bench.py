"""Benchmarks, as ratios against a baseline measured in the same run (machines here are noisy).

    python bench/bench.py [--quick]

1. SSE: the library's decoder + stream accumulation vs a naive line splitter like the
   original's (which drops events it cannot frame), on the same chat stream in 1 KiB chunks.
2. Requests: the full client (build, send, retry plan, decode) on each transport vs bare
   http.client keep-alive requests, against the same server on 127.0.0.1.
3. Import: ``import openai_bindings`` vs ``import json`` in a fresh interpreter.

Each measurement is the best of several rounds; only the ratios mean anything.
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import time
from typing import Callable, List

from openai_bindings import OpenAI
from openai_bindings.streaming import StreamState
from openai_bindings.testing import LocalServer, Reply


def best_of(rounds: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def chat_stream(events: int) -> bytes:
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": "word "}, "finish_reason": None}],
    }
    line = f"data: {json.dumps(chunk)}\n\n"
    return (line * events + "data: [DONE]\n\n").encode()


def naive(chunks: List[bytes]) -> str:
    """The original's approach: buffer, split on LF, act on 'data: ' lines."""
    buffer = ""
    text = []
    for chunk in chunks:
        buffer += chunk.decode()
        *lines, buffer = buffer.split("\n")
        for line in lines:
            line = line.strip()
            if line.startswith("data: ") and line != "data: [DONE]":
                text.append(json.loads(line[6:])["choices"][0]["delta"]["content"])
    return "".join(text)


def ours(chunks: List[bytes]) -> str:
    state = StreamState("chat")
    for chunk in chunks:
        state.feed(chunk)
    state.end()
    return state.text_of(0)


def bench_sse(quick: bool) -> None:
    body = chat_stream(2_000 if quick else 20_000)
    chunks = [body[i : i + 1024] for i in range(0, len(body), 1024)]
    assert ours(chunks) == naive(chunks)
    rounds = 3 if quick else 5
    base = best_of(rounds, lambda: naive(chunks))
    mine = best_of(rounds, lambda: ours(chunks))
    mb = len(body) / 1e6
    print(
        f"SSE decode + accumulate ({mb:.1f} MB): {mine / base:.2f}x the naive splitter's time "
        f"({mb / mine:.0f} MB/s vs {mb / base:.0f} MB/s)"
    )


def bench_requests(quick: bool) -> None:
    count = 100 if quick else 500
    with LocalServer() as server:
        server.route("POST", "/v1/chat/completions", lambda r: Reply(body={"choices": [], "id": "x"}))
        payload = json.dumps({"messages": [{"role": "user", "content": "hi"}], "model": "m"}).encode()

        def bare() -> None:
            conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
            for _ in range(count):
                conn.request(
                    "POST", "/v1/chat/completions", body=payload, headers={"Content-Type": "application/json"}
                )
                conn.getresponse().read()
            conn.close()

        base = best_of(3, bare)
        for name in ("stdlib", "urllib3"):
            client = OpenAI(base_url=server.url("/v1"), transport=name)
            messages = [{"role": "user", "content": "hi"}]
            mine = best_of(
                3,
                lambda client=client, messages=messages: [
                    client.create_chat_completion(messages, model="m") for _ in range(count)
                ],
            )
            client.close()
            print(
                f"{count} chat requests, {name} transport: {mine / base:.2f}x bare http.client's time "
                f"({count / mine:.0f} req/s vs {count / base:.0f} req/s)"
            )


def bench_import(quick: bool) -> None:
    def fresh(module: str) -> float:
        return best_of(
            3 if quick else 7, lambda: subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
        )

    base = fresh("json")
    mine = fresh("openai_bindings")
    print(f"import openai_bindings: {mine / base:.2f}x the time of a bare interpreter importing json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs, fewer rounds")
    args = parser.parse_args()
    bench_sse(args.quick)
    bench_requests(args.quick)
    bench_import(args.quick)


if __name__ == "__main__":
    main()
