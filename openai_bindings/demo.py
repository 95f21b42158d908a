"""``openai-bindings demo``: the library's main features against a local fake server.

No key, no network: it starts FakeOpenAIServer on 127.0.0.1 and talks to it
through every transport installed here, saying which one it uses.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, List, TextIO

from ._drive import Call, run_async, run_sync
from .client import AsyncOpenAI, BaseClient, OpenAI
from .plugins import get_registry
from .testing import FakeOpenAIServer

__all__ = ["run_demo"]

Say = Callable[[str], None]


def get_weather(city: str) -> dict:
    """The weather in a city (a local function the model may call).

    city: the city's name
    """
    return {"city": city, "forecast": "sunny", "celsius": 21}


def _tour(client: BaseClient, server: FakeOpenAIServer, say: Say) -> Any:
    """One walk through the features, as a plan: the same code drives the sync and async clients."""
    status, body, _ = yield Call(client.create_chat_completion, [{"role": "user", "content": "Say hello"}])
    say(f"  1. chat completion          {status}  {body['choices'][0]['message']['content']!r}")

    pieces: List[str] = []
    session = client.new_chat_session(messages=[{"role": "system", "content": "You are concise."}])
    server.reply_with("Streaming, one piece at a time.")
    yield Call(session.send, "Stream me something", pieces.append)
    say(
        f"  2. streamed ChatSession     {len(pieces)} pieces -> {''.join(map(str, pieces))!r}, "
        f"history of {len(session.messages)} messages"
    )

    server.reply_with_tool_call("get_weather", {"city": "Lisbon"})
    server.reply_with("It is sunny in Lisbon, 21 degrees.")
    calls: List[Any] = []
    answer = yield Call(
        client.new_chat_session().run,
        "Weather in Lisbon?",
        tools={"get_weather": get_weather},
        on_tool_call=calls.append,
    )
    say(
        f"  3. tool call                model asked get_weather({calls[0].arguments}) -> {calls[0].result}; "
        f"answer {answer!r}"
    )

    responses = client.new_responses_chat_session(instructions="Be brief.")
    first = yield Call(responses.send, "Remember the number 7.")
    second = yield Call(responses.send, "Which number?")
    say(
        f"  4. Responses session        {first['id']} -> {second['id']} "
        f"(previous_response_id={second['previous_response_id']})"
    )

    vectors = (yield Call(client.embedding, ["apples", "pears"], dimensions=4)).body["data"]
    say(f"  5. embeddings               {len(vectors)} vectors of {len(vectors[0]['embedding'])} dimensions")


def run_demo(out: TextIO) -> int:
    def say(text: str) -> None:
        out.write(text + "\n")
        out.flush()

    table = get_registry().transports
    usable = [name for name in ("stdlib", "urllib3", "aiohttp") if name in table and table[name].usable]
    with FakeOpenAIServer() as server:
        say(f"openai-bindings demo: a fake OpenAI-compatible server is listening on {server.base_url}")
        say("(no key, no network). Each installed transport walks through the same features.")
        for name in usable:
            if name == "aiohttp":
                continue
            with OpenAI(base_url=server.base_url, transport=name) as client:
                say(f"\nOpenAI(transport={name!r})  sync client, {client.transport.name} transport")
                run_sync(_tour(client, server, say))
        for name in [n for n in ("aiohttp", "stdlib") if n in usable]:

            async def tour(name: str = name) -> None:
                async with AsyncOpenAI(base_url=server.base_url, transport=name) as client:
                    kind = "stdlib transport in worker threads" if name == "stdlib" else f"{name} transport"
                    say(f"\nAsyncOpenAI(transport={name!r})  async client, {kind}")
                    await run_async(_tour(client, server, say))

            asyncio.run(tour())
        say(f"\nDone: {len(server.requests)} requests answered, over {server.connections} connections.")
    return 0
