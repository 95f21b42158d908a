"""Test helpers users get too: a real local server with scripted replies and faults.

Standard library only, so they work in the constrained install.
"""

from __future__ import annotations

from .fake import FakeOpenAIServer, RateLimit, sse
from .proxy import ProxyServer
from .recording import RecordingTransport
from .server import Drop, LocalServer, RecordedRequest, Reply, Reset, Stall, tls_ca_path, tls_server_context
from .transport_check import TransportReport, acheck_transport, check_transport

__all__ = [
    "Drop",
    "FakeOpenAIServer",
    "LocalServer",
    "ProxyServer",
    "RateLimit",
    "RecordedRequest",
    "RecordingTransport",
    "Reply",
    "Reset",
    "Stall",
    "TransportReport",
    "acheck_transport",
    "check_transport",
    "sse",
    "tls_ca_path",
    "tls_server_context",
]
