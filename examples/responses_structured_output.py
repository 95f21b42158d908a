"""Structured output with the Responses API (text.format)."""

import json

import openai_bindings

client = openai_bindings.OpenAI()
schema = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "ingredients": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["title", "ingredients"],
    "additionalProperties": False,
}
status, body, headers = client.create_response(
    "Give me a simple pancake recipe",
    model="gpt-4.1",
    text={"format": {"type": "json_schema", "name": "recipe", "schema": schema, "strict": True}},
)
response_text = "".join(
    part["text"] for item in body["output"] if item["type"] == "message" for part in item["content"]
)
try:
    print(json.dumps(json.loads(response_text), indent=2))
except ValueError:
    print("not JSON:", response_text)
