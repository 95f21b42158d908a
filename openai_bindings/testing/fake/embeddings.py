"""Embeddings: deterministic unit vectors from a hash of each input (floats or base64)."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import struct
from typing import TYPE_CHECKING, Any, Sequence

from ..server import Action, Reply
from .common import Call, Refused, error
from .script import count_tokens

if TYPE_CHECKING:
    from .common import FakeServer as FakeOpenAIServer


def vector(value: Any, dims: int) -> list:
    """The same input always gives the same unit vector, so similarity tests are stable."""
    digest = hashlib.sha256(json.dumps(value).encode()).digest()
    raw = [(digest[i % len(digest)] - 128) / 128 for i in range(dims)]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    return [round(v / norm, 6) for v in raw]


def create(fake: FakeOpenAIServer, call: Call) -> Action:
    body = call.body
    inputs = body.get("input")
    if inputs in (None, "", []):
        raise Refused(error(400, "'input' is a required property", param="input"))
    texts: Sequence[Any] = inputs if isinstance(inputs, list) else [inputs]
    dims = call.int_param("dimensions", 8, 1, 3072)
    data = []
    for index, text in enumerate(texts):
        embedding: Any = vector(text, dims)
        if body.get("encoding_format") == "base64":
            embedding = base64.b64encode(struct.pack(f"<{dims}f", *embedding)).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = sum(count_tokens(t) for t in texts)
    return Reply(
        body={
            "object": "list",
            "data": data,
            "model": body.get("model") or fake.embedding_model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


ROUTES = {"POST /embeddings": create}
