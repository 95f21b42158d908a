"""A ChatSession that keeps the history, with the second answer streamed."""

import openai_bindings

client = openai_bindings.OpenAI()
session = client.new_chat_session(
    messages=[{"role": "system", "content": "You are an artist who likes colors"}], temperature=0.5
)

print(session.send("List your top 3 favorite colors"))

# streamed: each piece is printed as it arrives
session.send(
    "Excluding the colors you just listed, tell me your favorite color",
    lambda chunk: print(chunk, end="", flush=True),
)
print()

for message in session.messages:  # the whole conversation, kept locally
    print(f"{message['role']}: {message['content']}")
