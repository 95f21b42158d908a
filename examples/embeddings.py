"""Embeddings for a few texts, and which two are closest."""

import math

import openai_bindings

client = openai_bindings.OpenAI()
texts = ["The cat sat on the mat", "A feline rested on the rug", "Stock prices fell sharply"]
status, body, headers = client.embedding(texts, model="text-embedding-3-small")
vectors = [item["embedding"] for item in body["data"]]


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b, strict=True)) / (
        math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    )


print(f"{len(vectors)} vectors of {len(vectors[0])} dimensions")
for i in range(len(texts)):
    for j in range(i + 1, len(texts)):
        print(f"{cosine(vectors[i], vectors[j]):+.3f}  {texts[i]!r} ~ {texts[j]!r}")
