"""Structured output with Gemini: a JSON schema the answer must follow."""

import json

from openai_bindings.providers.gemini import Gemini

client = Gemini()
schema = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "capital": {"type": "string"},
        "population": {"type": "integer"},
    },
    "required": ["name", "capital", "population"],
}
status, body, headers = client.create_chat_completion(
    [{"role": "user", "content": "Give me facts about France as JSON"}],
    response_format={"type": "json_schema", "json_schema": {"name": "country", "schema": schema}},
)
content = body["choices"][0]["message"]["content"]
try:
    print(json.dumps(json.loads(content), indent=2))
except ValueError:
    print("not JSON:", content)
