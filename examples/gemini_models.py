"""The models Gemini offers."""

from openai_bindings.providers.gemini import Gemini

status, body, headers = Gemini().models()
for model in body["data"]:
    print(model["id"])
