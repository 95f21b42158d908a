"""Vision: ask about an image by URL."""

import openai_bindings

client = openai_bindings.OpenAI()
session = client.new_chat_session(model="gpt-4.1")
print(
    session.send(
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this image?"},
                {
                    "type": "image_url",
                    "image_url": {
                        "url": "https://upload.wikimedia.org/wikipedia/commons/3/3f/Fronalpstock_big.jpg"
                    },
                },
            ],
        }
    )
)
