"""``openai-bindings demo``: the library's main features against a local fake server.

No key, no network: it starts FakeOpenAIServer on 127.0.0.1 and talks to it
through every transport installed here, saying which one it uses.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, List, TextIO

from .client import AsyncOpenAI, OpenAI
from .plugins import get_registry
from .testing import FakeOpenAIServer

__all__ = ["run_demo"]

USER = [{"role": "user", "content": "Say hello to the demo"}]


def _usable(names: List[str]) -> List[str]:
    table = get_registry().transports
    return [name for name in names if name in table and table[name].usable]


def _sync_tour(client: OpenAI, say: Callable[[str], None]) -> None:
    status, body, headers = client.create_chat_completion(USER)
    say(f"    chat completion     -> {status}: {body['choices'][0]['message']['content']!r}")
    pieces: List[str] = []
    stream = client.create_chat_completion(
        USER,
        stream=True,
        stream_callback=lambda e: pieces.extend(
            c["delta"].get("content") or "" for c in e.get("choices", [])
        ),
    )
    say(f"    streamed completion -> {len(pieces)} pieces: {stream.text!r}")


async def _async_tour(client: AsyncOpenAI, say: Callable[[str], None]) -> None:
    result = await client.create_chat_completion(USER)
    say(f"    chat completion     -> {result.status}: {result.body['choices'][0]['message']['content']!r}")
    stream = await client.create_chat_completion(USER, stream=True)
    count = 0
    async for _ in stream:
        count += 1
    say(f"    streamed completion -> {count} events: {stream.text!r}")


def run_demo(out: TextIO) -> int:
    def say(text: str) -> None:
        out.write(text + "\n")
        out.flush()

    with FakeOpenAIServer() as server:
        say(f"A fake OpenAI-compatible server is listening on {server.base_url} (no key, no network).")
        for name in _usable(["stdlib", "urllib3"]):
            with OpenAI(base_url=server.base_url, transport=name) as client:
                say(f"\nOpenAI(transport={name!r}) - sync client on the {client.transport.name} transport")
                _sync_tour(client, say)
        for name in _usable(["aiohttp", "stdlib"]):

            async def tour(name: str = name) -> Any:
                async with AsyncOpenAI(base_url=server.base_url, transport=name) as client:
                    kind = client.transport.name
                    say(f"\nAsyncOpenAI(transport={name!r}) - async client on the {kind} transport")
                    await _async_tour(client, say)

            asyncio.run(tour())
        say(f"\nDone: {len(server.requests)} requests answered by the fake server.")
    return 0
