"""Basic chat completion (the original's first example).

Key: OPENAI_API_KEY; OPENAI_BASE_URL points it at another server.
"""

import openai_bindings

client = openai_bindings.OpenAI()
status, response, headers = client.create_chat_completion(
    [
        {"role": "system", "content": "You are a Lua programmer"},
        {"role": "user", "content": "Write a 'Hello world' program in Lua"},
    ],
    model="gpt-4.1",
)
if status == 200:
    print(response["choices"][0]["message"]["content"])
