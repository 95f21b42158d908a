"""What worker processes run in test_travel: importable by a spawned child (kept light)."""

from __future__ import annotations

import asyncio
import os
from typing import Any, Tuple


def ask(client: Any, text: str) -> Tuple[int, str, str]:
    """One chat call with a client that travelled here: (pid, answer, transport name)."""
    if client.is_async:

        async def go() -> Any:
            try:
                return await client.create_chat_completion([{"role": "user", "content": text}])
            finally:
                await client.close()

        result = asyncio.run(go())
    else:
        with client:
            messages = [{"role": "user", "content": text}]
            if hasattr(client, "submit"):  # background calls too: their threads must be this process's
                result = client.submit("create_chat_completion", messages).result(timeout=30)
            else:
                result = client.create_chat_completion(messages)
    return os.getpid(), result.body["choices"][0]["message"]["content"], client.transport.name


def report(client: Any, text: str, queue: Any) -> None:
    """A process target: ask, and put the outcome (or the error, as text) on the queue."""
    try:
        queue.put(ask(client, text))
    except BaseException as error:
        queue.put(f"{type(error).__name__}: {error}")
