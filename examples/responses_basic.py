"""The Responses API: a session whose state the server keeps (previous_response_id)."""

import openai_bindings

client = openai_bindings.OpenAI()
session = client.new_responses_chat_session(model="gpt-4.1", instructions="You are a helpful assistant.")
response = session.send("Hello! My name is Ada.")
print(response.output_text, f"({response['id']})")
session.send("What is my name?", lambda chunk: print(chunk, end="", flush=True))
print()
print("chained:", [r["id"] for r in session.response_history])
