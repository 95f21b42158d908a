"""Function calling with the Responses API: function_call -> function_call_output."""

import openai_bindings

client = openai_bindings.OpenAI()
session = client.new_responses_chat_session(
    model="gpt-4.1",
    tools=[
        {
            "type": "function",
            "name": "multiply",
            "description": "Multiply two integers",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
            },
        }
    ],
)
response = session.send("What is 1231 * 2331? Use the multiply tool.")
while response.function_calls:
    outputs = []
    for call in response.function_calls:
        result = call["arguments"]["a"] * call["arguments"]["b"]
        print(f"{call['name']}({call['arguments']}) = {result}")
        outputs.append({"type": "function_call_output", "call_id": call["call_id"], "output": str(result)})
    response = session.send(outputs)
print(response)
