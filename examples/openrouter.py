"""OpenRouter: another vendor's model through one API. Key: OPENROUTER_API_KEY."""

from openai_bindings.providers.openrouter import OpenRouter

client = OpenRouter(app_name="openai-bindings example")
session = client.new_chat_session(model="anthropic/claude-sonnet-4")
session.send("Write a haiku about HTTP", lambda chunk: print(chunk, end="", flush=True))
print()
