"""Runs inside Pyodide in the page: streams a chat answer into it through the 'fetch' transport.

The page sets ``API`` (the server's base URL) before running this file, then awaits
``ask(question)`` for each question. Nothing here is browser-specific but the DOM
writes: the client picks the ``fetch`` transport by itself under Pyodide.
"""

from js import document

import openai_bindings

# A key in a page is readable by anyone who opens it: point API at a server of your own
# (a local fake, or a proxy that adds the key), never put a real key here.
client = openai_bindings.AsyncOpenAI(base_url=API, api_key="sk-local-demo")  # noqa: F821 (set by the page)


async def ask(question: str) -> int:
    """Stream the answer into #answer as it arrives; return how many pieces came."""
    answer = document.getElementById("answer")
    answer.textContent = ""
    pieces = 0
    stream = await client.create_chat_completion([{"role": "user", "content": question}], stream=True)
    async for event in stream:
        for choice in event.get("choices") or []:
            text = (choice.get("delta") or {}).get("content")
            if text:
                answer.append(text)
                pieces += 1
    return pieces
