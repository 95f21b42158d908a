"""A chat session with Gemini through its OpenAI-compatible endpoint. Key: GEMINI_API_KEY."""

from openai_bindings.providers.gemini import Gemini

client = Gemini()  # the original's require("openai.compat.gemini")
session = client.new_chat_session(messages=[{"role": "system", "content": "You are a helpful assistant."}])
print(session.send("Say hello in three languages"))
session.send("Now in two more", lambda chunk: print(chunk, end="", flush=True))
print()
