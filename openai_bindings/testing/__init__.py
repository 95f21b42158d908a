"""Test helpers users get too: a real local server with scripted replies and faults.

Standard library only, so they work in the constrained install.
"""

from __future__ import annotations

from .fake import FakeOpenAIServer, RateLimit, sse
from .recording import RecordingTransport
from .server import Drop, LocalServer, RecordedRequest, Reply, Reset, Stall

__all__ = [
    "Drop",
    "FakeOpenAIServer",
    "LocalServer",
    "RateLimit",
    "RecordedRequest",
    "RecordingTransport",
    "Reply",
    "Reset",
    "Stall",
    "sse",
]
