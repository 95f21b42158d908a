"""FakeOpenAIServer: the OpenAI API on 127.0.0.1, for tests and for hosts that cannot reach the real one.

A route table (``routes``) over one handler module per endpoint group, with the
client's grouping: chat, completions, responses, embeddings, moderations,
models, files, uploads, images, audio, batches, conversations, vector_stores,
assistants. ``serve()`` runs one from the shell (``openai-bindings fake-server``).
"""

from __future__ import annotations

from .common import sse
from .core import FakeOpenAIServer
from .ratelimit import RateLimit
from .script import ScriptedToolCall
from .serve import serve

__all__ = ["FakeOpenAIServer", "RateLimit", "ScriptedToolCall", "serve", "sse"]
