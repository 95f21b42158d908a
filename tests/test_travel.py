"""Clients that travel: pickled copies and forked children get their own connections, every transport."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import time
from typing import Any, Iterator

import pytest
import travellers
from support import Caller

import openai_bindings
from openai_bindings.testing import FakeOpenAIServer
from openai_bindings.transport import ThreadedAsyncTransport
from openai_bindings.transports import StdlibTransport

#: Every built-in transport, in each client it serves.
CLIENTS = [("stdlib", False), ("urllib3", False), ("stdlib", True), ("aiohttp", True)]
IDS = [f"{'async' if a else 'sync'}-{n}" for n, a in CLIENTS]
CONTEXTS = [c for c in ("spawn", "fork") if c in multiprocessing.get_all_start_methods()]


@pytest.fixture
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        yield running


def make(is_async: bool, **options: Any) -> Caller:
    """A client behind one calling API; an async one keeps one event loop for all its calls."""
    return Caller(options.pop("transport", None), is_async, **options)


def settings(client: Any) -> dict:
    transport = client.transport
    inner = transport.sync if isinstance(transport, ThreadedAsyncTransport) else transport
    return {
        "class": type(client),
        "provider": (type(client.provider), client.provider.name),
        "api_key": client.api_key,
        "base_url": client.base_url,
        "default_model": client.default_model,
        "transport": (transport.name, type(transport), type(inner)),
        "timeout": client.timeout,
        "max_retries": client.max_retries,
        "max_retry_wait": client.max_retry_wait,
        "max_response_size": client.max_response_size,
        "default_headers": dict(client.default_headers),
        "organization": client.provider.organization,
        "closed": client.closed,
    }


def use(caller: Caller, text: str, client: Any = None) -> str:
    """One call in this process (a sync client's connection then waits in its pool)."""
    client = client or caller.client
    result = caller.wait(client.create_chat_completion([{"role": "user", "content": text}]))
    return result.body["choices"][0]["message"]["content"]


@pytest.mark.parametrize(("name", "is_async"), CLIENTS, ids=IDS)
def test_a_pickled_client_is_equivalent_with_fresh_connections(
    fake: FakeOpenAIServer, name: str, is_async: bool
) -> None:
    caller = make(
        is_async,
        api_key="sk-travels",
        base_url=fake.base_url,
        transport=name,
        timeout=(3, 40),
        max_retries=5,
        max_retry_wait=7,
        max_response_size=10_000_000,
        default_headers={"X-Team": "search"},
        default_model="model-1",
        organization="org-1",
    )
    client = caller.client
    try:
        assert use(caller, "before") == "echo: before"
        data = pickle.dumps(client)
        assert b"sk-travels" in data  # the key travels (documented): keep pickles as secret as the key
        copy = pickle.loads(data)
        assert settings(copy) == settings(client)
        assert copy.transport is not client.transport  # its own, with its own connections
        assert use(caller, "after", copy) == "echo: after"
        sent = fake.requests[-1].headers
        assert sent["authorization"] == "Bearer sk-travels" and sent["x-team"] == "search"
        assert sent["openai-organization"] == "org-1"
        assert fake.requests[-1].connection != fake.requests[0].connection
        caller.wait(copy.close())
    finally:
        caller.close()


def test_the_chosen_transport_and_a_class_travel_as_themselves(fake: FakeOpenAIServer) -> None:
    chosen = openai_bindings.OpenAI(base_url=fake.base_url)
    by_class = openai_bindings.OpenAI(base_url=fake.base_url, transport=StdlibTransport)
    with chosen, by_class:
        assert pickle.loads(pickle.dumps(chosen)).transport.name == chosen.transport.name
        assert type(pickle.loads(pickle.dumps(by_class)).transport) is StdlibTransport
        closed = openai_bindings.OpenAI(base_url=fake.base_url)
        closed.close()
        assert pickle.loads(pickle.dumps(closed)).closed  # closed stays closed


class Plain:
    """A third-party transport with no state: it can travel as an instance."""

    name = "plain"

    def send(self, request: Any) -> Any:
        return openai_bindings.Response(200, {"content-type": "application/json"}, b'{"object": "list"}')


def test_a_transport_instance_travels_only_when_it_can_be_pickled(fake: FakeOpenAIServer) -> None:
    client = openai_bindings.OpenAI(base_url=fake.base_url, transport=Plain())
    copy = pickle.loads(pickle.dumps(client))
    assert isinstance(copy.transport, Plain) and copy.models().body == {"object": "list"}
    pooled = openai_bindings.OpenAI(base_url=fake.base_url, transport=StdlibTransport())
    with pooled, pytest.raises(TypeError, match="pass transport= as a name"):
        pickle.dumps(pooled)


def _in_process(context: str, client: Any, text: str) -> Any:
    """Run travellers.ask in a new process: with spawn the client is pickled, with fork inherited."""
    ctx = multiprocessing.get_context(context)
    queue = ctx.Queue()
    process = ctx.Process(target=travellers.report, args=(client, text, queue))
    process.start()
    try:
        return queue.get(timeout=60)
    finally:
        process.join(30)
        if process.is_alive():
            process.kill()
            process.join(5)


@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize(("name", "is_async"), CLIENTS, ids=IDS)
def test_clients_work_in_worker_processes(
    fake: FakeOpenAIServer, context: str, name: str, is_async: bool
) -> None:
    caller = make(is_async, base_url=fake.base_url, transport=name)
    client = caller.client
    try:
        assert use(caller, "parent") == "echo: parent"
        parent_connection = fake.requests[-1].connection
        outcome = _in_process(context, client, "child")
        assert isinstance(outcome, tuple), outcome  # else the child's error, as text
        pid, text, transport = outcome
        assert pid != os.getpid() and text == "echo: child" and transport == name
        child = next(r for r in fake.requests if r.json and r.json["messages"][0]["content"] == "child")
        assert child.connection != parent_connection  # the child opened its own
        assert use(caller, "parent again") == "echo: parent again"
        # the parent's pooled connection was left alone, so it is reused
        assert fake.requests[-1].connection == parent_connection
    finally:
        caller.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_stream_open_at_fork_is_not_read_by_the_child(fake: FakeOpenAIServer) -> None:
    client = openai_bindings.OpenAI(base_url=fake.base_url)
    try:
        stream = client.create_chat_completion([{"role": "user", "content": "one two three"}], stream=True)
        first = next(stream)
        assert first is not None
        pid = os.fork()
        if pid == 0:  # the child: the parent's stream must refuse, not read the parent's socket
            code = 1
            try:
                next(stream)
            except openai_bindings.ClientClosedError as error:
                code = 0 if "before os.fork()" in str(error) else 2
            except BaseException:
                code = 3
            finally:
                os._exit(code)
        deadline = time.monotonic() + 30
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        assert done and os.waitstatus_to_exitcode(status) == 0
        assert "".join(
            str(c["choices"][0]["delta"].get("content", "")) for c in stream
        )  # the parent reads on
    finally:
        client.close()


def test_a_client_that_ran_background_calls_travels_and_forks(fake: FakeOpenAIServer) -> None:
    """client.submit's worker threads stay behind: the copy (and a forked child) make their own."""
    with openai_bindings.OpenAI(base_url=fake.base_url) as client:
        assert client.submit("models").result(timeout=30).status == 200
        copy = pickle.loads(pickle.dumps(client))
        assert copy.submit("models").result(timeout=30).status == 200
        copy.close()
        if "fork" in CONTEXTS:
            outcome = _in_process("fork", client, "after submit")
            assert isinstance(outcome, tuple) and outcome[1] == "echo: after submit", outcome
