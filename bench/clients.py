"""The clients the bench measures: each does the same work, with the same request, its own way.

A client has up to five workloads, each returning a check value (characters received) that
run.py compares across clients, so no client can look fast by doing less:

    request(base, count)            count non-streamed chat completions
    stream(base, count)             count streamed chat completions, the text accumulated
    concurrent(base, count, width, stream)   async only: count calls, ``width`` at a time
    session(base, count, history)   count sends on a chat history of ``history`` messages
    accumulate(base)                one stream; content and tool-call arguments accumulated

``base`` is the server's base URL for a scenario (``.../stream-1000/v1``). Raw floors drive
their HTTP library by hand with ``json`` and one hand-written SSE line loop (``RawSSE``).
Libraries are imported when a client is built, so a worker loads only its client's.
"""

from __future__ import annotations

import json
import types
from typing import Any, Dict, List, Optional
from urllib.parse import urlsplit

from payloads import MESSAGES, MODEL

KEY = "sk-bench-not-a-secret"
HEADERS = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json", "Accept": "application/json"}
#: Observation hooks the no-op plugin implements when the installed hookspecs declare them.
OBSERVATION_HOOKS = ("prepare_request", "on_response", "on_error", "on_complete")
#: Calls the no-op plugin received, by hook (its only work: one increment per call).
NOOP_CALLS: Dict[str, int] = {}


def history(size: int) -> List[Dict[str, Any]]:
    """A chat history of ``size`` messages: a system prompt, then user and assistant in turn."""
    messages = [{"role": "system", "content": "You are a helpful assistant. Answer briefly."}]
    for i in range(1, size):
        role = "user" if i % 2 else "assistant"
        messages.append({"role": role, "content": f"Message {i}: some words about the weather today."})
    return messages


def _payload(stream: bool, messages: Optional[List[Dict[str, Any]]] = None) -> Dict[str, Any]:
    payload: Dict[str, Any] = {"messages": messages or MESSAGES, "model": MODEL}
    if stream:
        payload["stream"] = True
    return payload


def _encode(payload: Dict[str, Any]) -> bytes:
    """A floor's request body, encoded per call: a hand-written client encodes each request's
    JSON, as this library and openai-python do (one encoded once per loop would be a floor
    doing less than the work it is the floor of)."""
    return json.dumps(payload).encode()


class RawSSE:
    """The floor's SSE parser: split lines, parse each ``data:`` event's JSON, keep the pieces."""

    __slots__ = ("arguments", "buffer", "done", "texts")

    def __init__(self) -> None:
        self.buffer = b""
        self.texts: List[str] = []
        self.arguments: List[str] = []
        self.done = False

    def feed(self, chunk: bytes) -> None:
        lines = (self.buffer + chunk).split(b"\n")
        self.buffer = lines.pop()
        for line in lines:
            if self.done or line[:6] != b"data: ":
                continue
            data = line[6:]
            if data == b"[DONE]":
                self.done = True
                continue
            for choice in json.loads(data)["choices"]:
                delta = choice["delta"]
                content = delta.get("content")
                if content:
                    self.texts.append(content)
                for call in delta.get("tool_calls") or ():
                    arguments = call["function"].get("arguments")
                    if arguments:
                        self.arguments.append(arguments)

    def size(self) -> int:
        return len("".join(self.texts)) + len("".join(self.arguments))


def _reply_text(body: bytes) -> int:
    return len(json.loads(body)["choices"][0]["message"]["content"])


# -- the loops, written once ----------------------------------------------------------------


class _Target:
    """What a client's ``_one`` (one call) and ``_one_stream`` (one stream) are given: by default
    a URL and the request's payload (encoded per call); a library client for the libraries
    (``_PerBase``)."""

    is_async = False

    def _target(self, base: str, stream: bool) -> Any:
        return base + "/chat/completions", _payload(stream)


class _Calls(_Target):
    """The ``request`` and ``stream`` loops, over ``_one`` and ``_one_stream``."""

    def _one(self, target: Any) -> int:
        raise NotImplementedError

    def _one_stream(self, target: Any) -> int:
        raise NotImplementedError

    def request(self, base: str, count: int) -> int:
        target = self._target(base, False)
        return sum(self._one(target) for _ in range(count))

    def stream(self, base: str, count: int) -> int:
        target = self._target(base, True)
        return sum(self._one_stream(target) for _ in range(count))


class _AsyncCalls(_Target):
    """The async twin, plus ``concurrent``: ``width`` tasks sharing ``count`` calls."""

    is_async = True

    async def _one(self, target: Any) -> int:
        raise NotImplementedError

    async def _one_stream(self, target: Any) -> int:
        raise NotImplementedError

    async def request(self, base: str, count: int) -> int:
        target = self._target(base, False)
        return sum([await self._one(target) for _ in range(count)])

    async def stream(self, base: str, count: int) -> int:
        target = self._target(base, True)
        return sum([await self._one_stream(target) for _ in range(count)])

    async def concurrent(self, base: str, count: int, width: int, stream: bool) -> int:
        import asyncio

        target = self._target(base, stream)
        one = self._one_stream if stream else self._one
        left = [count]

        async def lane() -> int:
            total = 0
            while left[0] > 0:
                left[0] -= 1
                total += await one(target)
            return total

        return sum(await asyncio.gather(*(lane() for _ in range(width))))


class _PerBase:
    """A library client per scenario base URL, built on first use (``_build``), closed at the end."""

    def __init__(self) -> None:
        self.clients: Dict[str, Any] = {}

    def _build(self, base: str) -> Any:
        raise NotImplementedError

    def _target(self, base: str, stream: bool) -> Any:
        client = self.clients.get(base)
        if client is None:
            client = self.clients[base] = self._build(base)
        return client

    def close(self) -> Any:
        """Close every client; for async clients, a coroutine that does (the worker awaits it)."""
        closing = [client.close() for client in self.clients.values()]
        if not getattr(self, "is_async", False):
            return None

        async def wait() -> None:
            for done in closing:
                await done

        return wait()


# -- raw floors ----------------------------------------------------------------------------


class RawUrllib3(_Calls):
    """urllib3 + json, by hand."""

    def __init__(self) -> None:
        import urllib3

        self.pool = urllib3.PoolManager(maxsize=10, retries=False)

    def _one(self, target: Any) -> int:
        url, payload = target
        return _reply_text(self.pool.request("POST", url, body=_encode(payload), headers=HEADERS).data)

    def _one_stream(self, target: Any) -> int:
        url, payload = target
        sse = RawSSE()
        body = _encode(payload)
        response = self.pool.request("POST", url, body=body, headers=HEADERS, preload_content=False)
        while chunk := response.read1(65536):
            sse.feed(chunk)
        response.release_conn()
        return sse.size()

    def accumulate(self, base: str) -> int:
        return self._one_stream(self._target(base, True))

    def session(self, base: str, count: int, size: int) -> int:
        url, messages, total = base + "/chat/completions", history(size), 0
        for _ in range(count):
            messages.append({"role": "user", "content": "Say hello"})
            data = json.dumps({"messages": messages, "model": MODEL}).encode()
            reply = json.loads(self.pool.request("POST", url, body=data, headers=HEADERS).data)
            message = reply["choices"][0]["message"]
            messages.append({"role": message["role"], "content": message["content"]})
            total += len(message["content"])
            del messages[size:]
        return total

    def close(self) -> None:
        self.pool.clear()


class RawHttpClient(_Calls):
    """http.client + json, by hand, one kept-alive connection."""

    def __init__(self) -> None:
        self.conn: Any = None

    def _post(self, target: Any) -> Any:
        import http.client

        url, payload = target
        body = _encode(payload)
        parts = urlsplit(url)
        if self.conn is None:
            self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        self.conn.request("POST", parts.path, body=body, headers=HEADERS)
        return self.conn.getresponse()

    def _one(self, target: Any) -> int:
        return _reply_text(self._post(target).read())

    def _one_stream(self, target: Any) -> int:
        sse, response = RawSSE(), self._post(target)
        while chunk := response.read1(65536):
            sse.feed(chunk)
        return sse.size()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


class RawAiohttp(_AsyncCalls):
    """aiohttp + json, by hand, one ClientSession."""

    def __init__(self) -> None:
        self.http: Any = None

    def _session(self) -> Any:
        import aiohttp

        if self.http is None:
            self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
        return self.http

    async def _one(self, target: Any) -> int:
        url, payload = target
        async with self._session().post(url, data=_encode(payload), headers=HEADERS) as response:
            return _reply_text(await response.read())

    async def _one_stream(self, target: Any) -> int:
        url, payload = target
        sse = RawSSE()
        async with self._session().post(url, data=_encode(payload), headers=HEADERS) as response:
            async for chunk in response.content.iter_any():
                sse.feed(chunk)
        return sse.size()

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()


# -- this library ----------------------------------------------------------------------------


class _Ours(_PerBase):
    """openai_bindings on one transport."""

    transport = "urllib3"
    is_async = False

    def __init__(self) -> None:
        super().__init__()
        import openai_bindings  # noqa: F401  (at start, as every worker imports its library)

    def _build(self, base: str) -> Any:
        import openai_bindings

        factory = openai_bindings.AsyncOpenAI if self.is_async else openai_bindings.OpenAI
        return factory(api_key=KEY, base_url=base, transport=self.transport)


class OursSync(_Ours, _Calls):
    def __init__(self) -> None:
        super().__init__()
        self.sessions: Dict[int, Any] = {}

    def _one(self, client: Any) -> int:
        return len(
            client.create_chat_completion(MESSAGES, model=MODEL).body["choices"][0]["message"]["content"]
        )

    def _one_stream(self, client: Any) -> int:
        with client.create_chat_completion(MESSAGES, model=MODEL, stream=True) as stream:
            for _event in stream:
                pass
            return len(stream.text)

    def accumulate(self, base: str) -> int:
        with self._target(base, True).create_chat_completion(MESSAGES, model=MODEL, stream=True) as stream:
            for _event in stream:
                pass
            message = stream.message
        return len(message["content"]) + len(message["tool_calls"][0]["function"]["arguments"])

    def session(self, base: str, count: int, size: int) -> int:
        session = self.sessions.get(size)
        if session is None:
            client = self._target(base, False)
            session = self.sessions[size] = client.new_chat_session(history(size), model=MODEL)
        total = 0
        for _ in range(count):
            total += len(session.send("Say hello"))
            del session.messages[size:]
        return total


class OursUrllib3(OursSync):
    transport = "urllib3"


class OursStdlib(OursSync):
    transport = "stdlib"


class OursNoopPlugin(OursUrllib3):
    """The urllib3 client with a plugin that implements every observation hook and does nothing."""

    def __init__(self) -> None:
        super().__init__()
        from openai_bindings.plugins import get_plugin_manager

        get_plugin_manager().register(noop_plugin(), name="bench-noop-observer")


def noop_plugin() -> Any:
    """A plugin implementing the observation hooks the installed hookspecs declare (none else)."""
    from openai_bindings import hookimpl, hookspecs

    impls: Dict[str, Any] = {}
    for name in OBSERVATION_HOOKS:
        if hasattr(hookspecs, name):
            NOOP_CALLS[name] = 0

            def observe(_name: str = name) -> None:
                NOOP_CALLS[_name] += 1

            observe.__name__ = name
            impls[name] = hookimpl(observe)
    return types.SimpleNamespace(**impls)


class _OursAsync(_Ours, _AsyncCalls):
    is_async = True

    async def _one(self, client: Any) -> int:
        result = await client.create_chat_completion(MESSAGES, model=MODEL)
        return len(result.body["choices"][0]["message"]["content"])

    async def _one_stream(self, client: Any) -> int:
        async with await client.create_chat_completion(MESSAGES, model=MODEL, stream=True) as stream:
            async for _event in stream:
                pass
            return len(stream.text)


class OursAiohttp(_OursAsync):
    transport = "aiohttp"


class OursAsyncStdlib(_OursAsync):
    transport = "stdlib"


# -- openai-python ---------------------------------------------------------------------------


class _OpenAIPython(_PerBase):
    is_async = False

    def __init__(self) -> None:
        super().__init__()
        import openai  # noqa: F401  (at start, as every worker imports its library)

    def _build(self, base: str) -> Any:
        import openai

        factory = openai.AsyncOpenAI if self.is_async else openai.OpenAI
        return factory(api_key=KEY, base_url=base)


class OpenAIPythonSync(_OpenAIPython, _Calls):
    def _one(self, client: Any) -> int:
        return len(client.chat.completions.create(messages=MESSAGES, model=MODEL).choices[0].message.content)

    def _one_stream(self, client: Any) -> int:
        texts = []
        for chunk in client.chat.completions.create(messages=MESSAGES, model=MODEL, stream=True):
            if chunk.choices and chunk.choices[0].delta.content:
                texts.append(chunk.choices[0].delta.content)
        return len("".join(texts))


class OpenAIPythonAsync(_OpenAIPython, _AsyncCalls):
    is_async = True

    async def _one(self, client: Any) -> int:
        completion = await client.chat.completions.create(messages=MESSAGES, model=MODEL)
        return len(completion.choices[0].message.content)

    async def _one_stream(self, client: Any) -> int:
        texts = []
        async for chunk in await client.chat.completions.create(messages=MESSAGES, model=MODEL, stream=True):
            if chunk.choices and chunk.choices[0].delta.content:
                texts.append(chunk.choices[0].delta.content)
        return len("".join(texts))


#: Every client by the name run.py and profile.py use; the module each needs installed.
CLIENTS: Dict[str, tuple[type, str]] = {
    "raw-urllib3": (RawUrllib3, "urllib3"),
    "raw-http.client": (RawHttpClient, "http.client"),
    "raw-aiohttp": (RawAiohttp, "aiohttp"),
    "ours-urllib3": (OursUrllib3, "urllib3"),
    "ours-stdlib": (OursStdlib, "http.client"),
    "ours-aiohttp": (OursAiohttp, "aiohttp"),
    "ours-async-stdlib": (OursAsyncStdlib, "http.client"),
    "ours-urllib3+noop": (OursNoopPlugin, "urllib3"),
    "openai-python": (OpenAIPythonSync, "openai"),
    "openai-python-async": (OpenAIPythonAsync, "openai"),
}
