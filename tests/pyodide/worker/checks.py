"""Runs inside Pyodide in a web worker (tests/pyodide/worker/): the sync client over the 'xhr'
transport, and AsyncOpenAI beside it. The test scripts the server's answers in this order."""

import openai_bindings
from openai_bindings.plugins import get_registry


async def main():
    out = {"xhr_usable": get_registry().transports["xhr"].usable}
    client = openai_bindings.OpenAI(base_url=API, max_retries=0)  # noqa: F821 (set by the worker)
    out["sync_transport"] = client.transport.name
    status, body, headers = client.create_chat_completion([{"role": "user", "content": "sync hello"}])
    out["plain"] = [status, body["choices"][0]["message"]["content"], headers.get("x-request-id")]
    stream = client.create_chat_completion([{"role": "user", "content": "sync stream"}], stream=True)
    out["stream"] = stream.until_done().text
    try:
        client.create_chat_completion([{"role": "user", "content": "missing"}], model="nope")
    except openai_bindings.APIStatusError as error:
        out["error"] = [type(error).__name__, error.status, error.message]
    slow = openai_bindings.OpenAI(base_url=API, max_retries=0, timeout=openai_bindings.Timeout(0.3, 0.5))  # noqa: F821
    try:
        slow.models()
    except openai_bindings.APIConnectionError as error:
        out["timeout"] = type(error).__name__
    async with openai_bindings.AsyncOpenAI(base_url=API) as aclient:  # noqa: F821
        out["async_transport"] = aclient.transport.name
        status, body, headers = await aclient.create_chat_completion([{"role": "user", "content": "async"}])
        out["async"] = body["choices"][0]["message"]["content"]
    # A sync transport under AsyncOpenAI: no threads here, so it runs inline.
    async with openai_bindings.AsyncOpenAI(base_url=API, transport="xhr") as aclient:  # noqa: F821
        status, body, headers = await aclient.create_chat_completion([{"role": "user", "content": "inline"}])
        out["inline"] = body["choices"][0]["message"]["content"]
    return out
