"""Vision with the Responses API (input_image)."""

import openai_bindings

client = openai_bindings.OpenAI()
session = client.new_responses_chat_session(model="gpt-4.1")
response = session.send(
    [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "Describe this image in one sentence."},
                {
                    "type": "input_image",
                    "image_url": "https://upload.wikimedia.org/wikipedia/commons/3/3f/Fronalpstock_big.jpg",
                },
            ],
        }
    ]
)
print(response)
