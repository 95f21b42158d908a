"""The async client: the same methods, awaited; several requests at once."""

import asyncio

import openai_bindings


async def main() -> None:
    async with openai_bindings.AsyncOpenAI() as client:
        questions = ["Name a red fruit", "Name a green vegetable", "Name a blue flower"]
        results = await asyncio.gather(
            *(client.create_chat_completion([{"role": "user", "content": q}]) for q in questions)
        )
        for question, result in zip(questions, results, strict=True):
            print(question, "->", result.body["choices"][0]["message"]["content"])
        stream = await client.create_chat_completion([{"role": "user", "content": "Count to 3"}], stream=True)
        async for event in stream:
            print(event["choices"][0]["delta"].get("content") or "", end="", flush=True) if event[
                "choices"
            ] else None
        print()


asyncio.run(main())
