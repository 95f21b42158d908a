"""Helpers shared by the test modules (importable because pytest puts tests/ on sys.path)."""

from __future__ import annotations

import asyncio

import openai_bindings

#: The names a client selects transports by, with the client flavour: every pairing that exists.
CLIENT_TRANSPORTS = [("stdlib", False), ("urllib3", False), ("stdlib", True), ("aiohttp", True)]


class Caller:
    """Calls a client method the same way whether the client is sync or async."""

    def __init__(self, transport: str, is_async: bool, **options) -> None:
        self.is_async = is_async
        cls = openai_bindings.AsyncOpenAI if is_async else openai_bindings.OpenAI
        self.client = cls(transport=transport, **options)
        self.loop = asyncio.new_event_loop() if is_async else None

    def __call__(self, method: str, *args, **kwargs):
        result = getattr(self.client, method)(*args, **kwargs)
        return self.loop.run_until_complete(result) if self.is_async else result

    def events(self, stream) -> list:
        if not self.is_async:
            return list(stream)

        async def collect():
            return [event async for event in stream]

        return self.loop.run_until_complete(collect())

    def close(self) -> None:
        if self.is_async:
            self.loop.run_until_complete(self.client.close())
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()
        else:
            self.client.close()
