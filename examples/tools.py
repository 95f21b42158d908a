"""Tools with tool_choice="required": the model must call get_weather; we answer it."""

import json

import openai_bindings

client = openai_bindings.OpenAI()
session = client.new_chat_session(
    model="gpt-4.1",
    tool_choice="required",
    tools=[
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Get the current weather for a city",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ],
)

reply = session.send("What is the weather like in Paris?")
for call in reply["tool_calls"]:
    city = json.loads(call["function"]["arguments"])["city"]
    print(f"the model asked for the weather in {city}")
    session.append_message({"role": "tool", "tool_call_id": call["id"], "content": f"{city}: 18°C and sunny"})
print(session.generate_response(tool_choice="none"))
