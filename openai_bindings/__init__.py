"""openai_bindings: the OpenAI HTTP API on pluggable transports and providers.

    import openai_bindings
    client = openai_bindings.OpenAI()            # or openai_bindings.new(api_key)
    status, body, headers = client.create_chat_completion([{"role": "user", "content": "Hi"}])

Importing this package loads no plugin and no optional HTTP library; that
happens when the first client is built.
"""

from __future__ import annotations

import os as _os
from typing import TYPE_CHECKING, Any

from ._logging import _from_environment as _log_from_environment
from ._version import __version__
from .client import AsyncOpenAI, OpenAI, new
from .errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    OpenAIError,
    PermissionDeniedError,
    PluginError,
    RateLimitError,
    StreamError,
    UnprocessableEntityError,
    UnsupportedEndpointError,
)
from .http import AsyncResponse, Headers, Request, Response, Timeout
from .provider import Provider
from .result import APIResult

# Installed, setuptools maps the repository's top-level providers/ and transports/ folders
# under this package. Run from a source checkout (its root on sys.path), let this package
# find them there too, so `python -m pytest` or `python -c ...` in the checkout just work.
_root = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if not _os.path.isdir(_os.path.join(__path__[0], "transports")) and _os.path.isfile(
    _os.path.join(_root, "transports", "__init__.py")
):
    __path__.append(_root)

_log_from_environment()

if TYPE_CHECKING:
    from .accumulate import LegacyChunk
    from .hookspecs import hookimpl, hookspec
    from .parts import audio_part, file_part, image_part, input_file, input_image
    from .streaming import AsyncStream, Stream
    from .structured import json_schema

# Loaded on first use, so that importing the package stays light: hookimpl / hookspec bring
# pluggy (and inspect with it), which a client loads anyway, but a plain import need not; the
# stream classes (with the SSE decoder and the accumulator) come with the first stream.
_LAZY = {
    "AsyncStream": "streaming",
    "LegacyChunk": "accumulate",
    "Stream": "streaming",
    "hookimpl": "hookspecs",
    "hookspec": "hookspecs",
    "audio_part": "parts",
    "file_part": "parts",
    "image_part": "parts",
    "input_file": "parts",
    "input_image": "parts",
    "json_schema": "structured",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'openai_bindings' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIResult",
    "APIStatusError",
    "APITimeoutError",
    "AsyncOpenAI",
    "AsyncResponse",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConflictError",
    "Headers",
    "InternalServerError",
    "LegacyChunk",
    "NotFoundError",
    "OpenAI",
    "OpenAIError",
    "PermissionDeniedError",
    "PluginError",
    "Provider",
    "RateLimitError",
    "Request",
    "Response",
    "Stream",
    "StreamError",
    "Timeout",
    "UnprocessableEntityError",
    "UnsupportedEndpointError",
    "__version__",
    "audio_part",
    "file_part",
    "hookimpl",
    "hookspec",
    "image_part",
    "input_file",
    "input_image",
    "json_schema",
    "new",
]
