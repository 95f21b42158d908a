"""Generate an image and save it as a PNG: python image_generation.py [out.png]"""

import base64
import sys

import openai_bindings

path = sys.argv[1] if len(sys.argv) > 1 else "image.png"
client = openai_bindings.OpenAI()
status, body, headers = client.image_generation(
    prompt="A watercolor painting of a lighthouse at dawn",
    model="gpt-image-1",
    size="1024x1024",
    response_format="b64_json",
)
with open(path, "wb") as handle:
    handle.write(base64.b64decode(body["data"][0]["b64_json"]))
print(f"saved {path}")
