"""client.submit: calls in the background, callbacks on the host's own thread."""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable, List, Tuple

import pytest

import openai_bindings
from openai_bindings import ClientClosedError, NotFoundError
from openai_bindings.testing import Reply

HI = [{"role": "user", "content": "hi"}]


class HostLoop:
    """A stand-in for Tk's mainloop: one thread running what is dispatched to it, in order."""

    def __init__(self) -> None:
        self.jobs: queue.Queue[Callable[[], Any]] = queue.Queue()
        self.ran: List[Tuple[str, int]] = []
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def dispatch(self, job: Callable[[], Any]) -> None:
        self.jobs.put(job)

    def _loop(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            job()

    def record(self, what: str) -> Callable[..., None]:
        def seen(*args: Any) -> None:
            self.ran.append((what if not args else f"{what}:{args[0]}", threading.get_ident()))

        return seen

    def stop(self) -> None:
        self.jobs.put(None)  # type: ignore[arg-type]
        self.thread.join(5)


@pytest.fixture
def host():
    loop = HostLoop()
    yield loop
    loop.stop()


def test_callbacks_run_on_the_host_thread(fake, host):
    done = threading.Event()
    with openai_bindings.OpenAI(base_url=fake.base_url, transport="stdlib") as client:
        future = client.submit(
            "create_chat_completion",
            HI,
            callback=lambda result: (host.record("done")(result.status), done.set()),
            dispatch=host.dispatch,
        )
        assert future.result(10).status == 200
        assert done.wait(10)
    assert host.ran == [("done:200", host.thread.ident)]


def test_a_stream_calls_back_piece_by_piece_in_order_then_once_finished(fake, host):
    done = threading.Event()
    fake.reply_with("one two three")
    pieces: List[str] = []
    threads = set()

    def piece(event: Any) -> None:
        pieces.append(event["choices"][0]["delta"].get("content") or "")
        threads.add(threading.get_ident())

    with openai_bindings.OpenAI(base_url=fake.base_url) as client:
        future = client.submit(
            client.create_chat_completion,
            HI,
            stream=True,
            stream_callback=piece,
            callback=lambda stream: done.set(),
            dispatch=host.dispatch,
        )
        stream = future.result(10)
        assert done.wait(10)
    assert stream.text == "one two three" and stream.closed
    assert "".join(pieces) == "one two three"
    assert threads == {host.thread.ident}


def test_errors_go_to_error_callback_on_the_host_thread(fake, host):
    failed = threading.Event()
    errors: List[Any] = []
    fake.queue(Reply(status=404, body={"error": {"message": "no such model"}}))
    with openai_bindings.OpenAI(base_url=fake.base_url, max_retries=0) as client:
        future = client.submit(
            "models",
            error_callback=lambda error: (errors.append((error, threading.get_ident())), failed.set()),
            dispatch=host.dispatch,
        )
        with pytest.raises(NotFoundError):
            future.result(10)
        assert failed.wait(10)
    assert isinstance(errors[0][0], NotFoundError) and errors[0][1] == host.thread.ident


def test_sessions_and_plain_futures(fake):
    with openai_bindings.OpenAI(base_url=fake.base_url) as client:
        session = client.new_chat_session()
        assert client.submit(session.send, "hello").result(10) == "echo: hello"
        callers = []
        client.submit("models", callback=lambda result: callers.append(threading.get_ident())).result(10)
    assert callers and callers[0] != threading.get_ident()  # without dispatch: the worker's thread


def test_bad_submissions_are_refused_at_once(fake):
    client = openai_bindings.OpenAI(base_url=fake.base_url)
    with pytest.raises(AttributeError, match="no method 'chatt'"):
        client.submit("chatt", HI)
    with pytest.raises(TypeError, match="callback must be callable"):
        client.submit("models", callback="print")
    client.close()
    with pytest.raises(ClientClosedError):
        client.submit("models")
    assert fake.requests == []
