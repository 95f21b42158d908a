"""The tool loop: plain Python functions as tools; the session runs them until the model answers."""

import openai_bindings


def get_weather(city: str, unit: str = "celsius") -> dict:
    """Current weather for a city.

    city: the city's name
    unit: celsius or fahrenheit
    """
    return {"city": city, "temperature": 21 if city == "Rome" else 17, "unit": unit}


client = openai_bindings.OpenAI()
session = client.new_chat_session(model="gpt-4.1")
answer = session.run(
    "Is it warmer in Paris or in Rome today?",
    tools={"get_weather": get_weather},
    on_tool_call=lambda call: print(f"  tool {call.name}({call.arguments}) -> {call.error or call.result}"),
)
print(answer)
