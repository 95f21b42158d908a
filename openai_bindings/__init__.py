"""openai_bindings: the OpenAI HTTP API on pluggable transports and providers.

    import openai_bindings
    client = openai_bindings.OpenAI()            # or openai_bindings.new(api_key)
    status, body, headers = client.create_chat_completion([{"role": "user", "content": "Hi"}])

Importing this package loads no plugin and no optional HTTP library; that
happens when the first client is built.
"""

from __future__ import annotations

import os as _os

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
from .hookspecs import hookimpl, hookspec
from .http import AsyncResponse, Headers, Request, Response, Timeout
from .provider import Provider
from .result import APIResult
from .streaming import AsyncStream, LegacyChunk, Stream

# Installed, setuptools maps the repository's top-level providers/ and transports/ folders
# under this package. Run from a source checkout (its root on sys.path), let this package
# find them there too, so `python -m pytest` or `python -c ...` in the checkout just work.
_root = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if not _os.path.isdir(_os.path.join(__path__[0], "transports")) and _os.path.isfile(
    _os.path.join(_root, "transports", "__init__.py")
):
    __path__.append(_root)

_log_from_environment()

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
    "hookimpl",
    "hookspec",
    "new",
]
