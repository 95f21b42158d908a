"""Embeddings with Gemini."""

from openai_bindings.providers.gemini import Gemini

client = Gemini()
status, body, headers = client.embedding(["Hello world", "Bonjour le monde"], model="gemini-embedding-001")
for item in body["data"]:
    print(item["index"], len(item["embedding"]), item["embedding"][:3])
