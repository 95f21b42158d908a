"""Legacy function calling: the standard-deviation example, with math done locally."""

import json
import math

import openai_bindings

client = openai_bindings.OpenAI()
session = client.new_chat_session(
    model="gpt-4.1",
    functions=[
        {
            "name": "add",
            "description": "Add two numbers together",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            },
        },
        {
            "name": "divide",
            "description": "Divide two numbers",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            },
        },
        {
            "name": "standard_deviation",
            "description": "Calculate the population standard deviation of a list of numbers",
            "parameters": {
                "type": "object",
                "properties": {"numbers": {"type": "array", "items": {"type": "number"}}},
                "required": ["numbers"],
            },
        },
    ],
)

FUNCTIONS = {
    "add": lambda a, b: a + b,
    "divide": lambda a, b: a / b,
    "standard_deviation": lambda numbers: math.sqrt(
        sum((n - sum(numbers) / len(numbers)) ** 2 for n in numbers) / len(numbers)
    ),
}

reply = session.send("Calculate the standard deviation of the numbers: 2, 8, 28, 92, 9")
while isinstance(reply, dict) and reply.get("function_call"):
    call = reply["function_call"]
    arguments = json.loads(call["arguments"])
    result = FUNCTIONS[call["name"]](**arguments)
    print(f"calling {call['name']}({arguments}) = {result}")
    reply = session.send({"role": "function", "name": call["name"], "content": json.dumps(result)})
print(reply)
