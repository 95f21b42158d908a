"""Raw streaming of a chat completion: each decoded event, as it arrives."""

import openai_bindings

client = openai_bindings.OpenAI()
stream = client.create_chat_completion(
    [{"role": "user", "content": "Tell me a joke"}], stream=True, stream_options={"include_usage": True}
)
for event in stream:
    for choice in event["choices"]:
        print(choice["delta"].get("content") or "", end="", flush=True)
print()
print("finish reason:", stream.finish_reason, "| usage:", stream.usage)
