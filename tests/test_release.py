"""Connections are let go of: abandoned streams, closed clients, cancelled tasks, many failures.

The server counts its open connections; every check waits for it to see the
connection closed, with the cyclic garbage collector switched off, so nothing
here passes by luck of a collection.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import threading
from typing import Any, Iterator

import pytest

from openai_bindings import APIConnectionError, AsyncOpenAI, ClientClosedError, OpenAI
from openai_bindings.testing import Drop, Reply

pytestmark = pytest.mark.timeout(120)

HI = [{"role": "user", "content": "hi"}]
CHAT = "/v1/chat/completions"
SSE = {"Content-Type": "text/event-stream"}


def endless_stream(events: int = 4000, delay: float = 0.005) -> Reply:
    """A stream that keeps generating tokens for a while, as a model does: only a close stops it."""
    piece = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "tok "}}]}
    data = f"data: {json.dumps(piece)}\n\n".encode()
    return Reply(chunks=[data] * events, chunk_delay=delay, headers=SSE)


@pytest.fixture
def no_gc() -> Iterator[None]:
    """Nothing may depend on the cyclic collector: switch it off for the test."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


# -- abandoned streams --------------------------------------------------------------------------


async def _cancel_then_see_the_connection_closed(task: Any, server: Any) -> None:
    """Cancel a call mid-body: it raises CancelledError, and its connection closes at once."""
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.05)
    assert await asyncio.to_thread(server.wait_for_closed, 3)


def test_breaking_out_of_an_unnamed_stream_closes_its_connection(make_caller, server, no_gc):
    call = make_caller(base_url=server.url("/v1"), max_retries=0)
    server.queue(endless_stream(), path=CHAT)
    if call.is_async:

        async def consume() -> None:
            async for _ in await call.client.create_chat_completion(HI, stream=True):
                break
            await asyncio.sleep(0.05)  # a close scheduled on the loop gets its turn

        call.wait(consume())
    else:
        for _ in call.client.create_chat_completion(HI, stream=True):
            break
    assert server.wait_for_closed(3), "the abandoned stream's connection is still open"


def test_a_named_stream_is_released_when_its_name_goes(make_caller, server, no_gc):
    call = make_caller(base_url=server.url("/v1"), max_retries=0)
    server.queue(endless_stream(), path=CHAT)

    def read_one() -> None:
        stream = call("create_chat_completion", HI, stream=True)
        call.next_event(stream)  # then the function returns: `stream` goes out of scope

    read_one()
    if call.is_async:
        call.wait(asyncio.sleep(0.05))
    assert server.wait_for_closed(3)


def test_closing_the_client_closes_its_open_streams(make_caller, server, no_gc):
    call = make_caller(base_url=server.url("/v1"), max_retries=0)
    server.queue(endless_stream(), endless_stream(), path=CHAT)
    streams = [call("create_chat_completion", HI, stream=True) for _ in range(2)]
    for stream in streams:
        call.next_event(stream)
    call.wait(call.client.close())
    assert server.wait_for_closed(3)
    for stream in streams:
        with pytest.raises(ClientClosedError):
            call.next_event(stream)
    with pytest.raises(ClientClosedError):
        call("models")


def test_closing_the_client_stops_a_stream_with_events_still_queued(make_caller, server, no_gc):
    """One chunk can bring several events; after client.close() the next read raises, even
    when some of them were not handed out yet (under load, the reader thread of AsyncOpenAI
    on stdlib coalesced chunks and the stream went on with queued events: a flaky CI run)."""
    call = make_caller(base_url=server.url("/v1"), max_retries=0)
    piece = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "tok "}}]}
    burst = f"data: {json.dumps(piece)}\n\n".encode() * 3  # three events in one chunk
    server.queue(Reply(chunks=[burst] + [burst] * 400, chunk_delay=0.01, headers=SSE), path=CHAT)
    stream = call("create_chat_completion", HI, stream=True)
    call.next_event(stream)  # the first of three: two wait in the stream
    call.wait(call.client.close())
    with pytest.raises(ClientClosedError):
        call.next_event(stream)
    assert server.wait_for_closed(3)


def test_a_cancelled_task_lets_go_of_its_stream(server, no_gc):
    server.queue(endless_stream(), path=CHAT)
    started = asyncio.Event()

    async def consume(client: AsyncOpenAI) -> None:
        async for _ in await client.create_chat_completion(HI, stream=True):
            started.set()

    async def main() -> None:
        async with AsyncOpenAI(base_url=server.url("/v1"), max_retries=0) as client:
            task = asyncio.create_task(consume(client))
            await asyncio.wait_for(started.wait(), 5)
            await _cancel_then_see_the_connection_closed(task, server)

    asyncio.run(main())


@pytest.mark.parametrize("transport", ["stdlib", "urllib3"])
def test_break_then_request_again_a_hundred_times(server, transport):
    """urllib3 used to give the dead connection back to its pool: the next request failed."""
    with OpenAI(base_url=server.url("/v1"), transport=transport, max_retries=0) as client:
        for _ in range(100):
            server.queue(endless_stream(events=50, delay=0.0005), path=CHAT)
            for _ in client.create_chat_completion(HI, stream=True):
                break
            assert client.models().status == 200


# -- nothing accumulates ------------------------------------------------------------------------------


def test_failing_and_succeeding_requests_leave_no_descriptor_behind(make_caller, server):
    call = make_caller(base_url=server.url("/v1"), max_retries=0)
    call("models")  # warm up: the pool, the event loop, lazy imports
    baseline = fd_count()
    for round_ in range(200):
        if round_ % 2:
            server.queue(Drop(sent=b'{"cut', headers={"Content-Type": "application/json"}))
            with pytest.raises(APIConnectionError):
                call("models")
        else:
            assert call("models").status == 200
    call.close()
    assert server.wait_for_closed(5)
    assert fd_count() <= baseline  # the pooled connection of the warm-up is gone too


# -- many callers at once -------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["stdlib", "urllib3"])
def test_one_sync_client_shared_by_16_threads(fake, transport):
    errors: list = []
    with OpenAI(base_url=fake.base_url, transport=transport, max_retries=0) as client:

        def worker(number: int) -> None:
            try:
                for turn in range(50):
                    if (number + turn) % 3 == 0:
                        stream = client.create_chat_completion(HI, stream=True).until_done()
                        assert stream.text == "echo: hi"
                    else:
                        result = client.create_chat_completion(HI)
                        assert result.body["choices"][0]["message"]["content"] == "echo: hi"
            except BaseException as error:  # reported below, in the main thread
                errors.append(error)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
    assert not errors, errors[:3]
    assert len(fake.requests) == 16 * 50
    # Bounded by the callers, with room for connections the client closed (a full urllib3 pool
    # discards extra ones) that the server has not yet seen go.
    assert fake.max_open_connections <= 32, fake.max_open_connections


@pytest.mark.parametrize("transport", ["aiohttp", "stdlib"])
def test_one_async_client_with_200_concurrent_streams(fake, transport):
    async def one(client: AsyncOpenAI, number: int) -> str:
        stream = await client.create_chat_completion([{"role": "user", "content": f"n{number}"}], stream=True)
        await stream.until_done()
        return stream.text

    async def main() -> list:
        async with AsyncOpenAI(base_url=fake.base_url, transport=transport, max_retries=0) as client:
            return await asyncio.gather(*(one(client, n) for n in range(200)))

    texts = asyncio.run(main())
    assert texts == [f"echo: n{n}" for n in range(200)]
    assert fake.max_open_connections <= (100 if transport == "aiohttp" else 200)
    assert fake.wait_for_closed(5)


@pytest.mark.parametrize("transport", ["aiohttp", "stdlib"])
def test_a_task_cancelled_while_a_body_is_read_lets_go_of_the_connection(server, no_gc, transport):
    """Not only streams: a plain call cancelled mid-body must not leave its connection behind."""
    piece = b'{"object": "list", "data": [' + b'{"id": "m"},' * 50
    server.queue(
        Reply(
            chunks=[piece] * 400 + [b'{"id": "z"}]}'],
            chunk_delay=0.01,
            headers={"Content-Type": "application/json"},
        )
    )

    async def main() -> None:
        async with AsyncOpenAI(base_url=server.url("/v1"), transport=transport, max_retries=0) as client:
            task = asyncio.create_task(client.models())
            await asyncio.sleep(0.3)  # the body is arriving
            await _cancel_then_see_the_connection_closed(task, server)

    asyncio.run(main())
