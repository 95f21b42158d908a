"""The error hierarchy.

The names are the ones openai-python users already know, so ``except
openai_bindings.RateLimitError`` reads the same in both libraries. Every
message says what happened and what to do about it, and never holds the key.
"""

from __future__ import annotations

from typing import Any, Mapping

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "OpenAIError",
    "PermissionDeniedError",
    "PluginError",
    "RateLimitError",
    "StreamError",
    "UnprocessableEntityError",
    "UnsupportedEndpointError",
    "status_error",
]


class OpenAIError(Exception):
    """Base of every error this library raises on purpose."""


class PluginError(OpenAIError, LookupError):
    """A transport or provider was asked for that is not registered or cannot run here."""


class UnsupportedEndpointError(OpenAIError, NotImplementedError):
    """The selected provider does not offer the endpoint that was called."""


class APIError(OpenAIError):
    """Something went wrong talking to the API (a status, a stream error, a connection)."""

    message: str
    body: Any
    code: str | None
    type: str | None
    param: str | None

    def __init__(
        self,
        message: str,
        *,
        body: Any = None,
        code: str | None = None,
        type: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.body = body
        self.code = code
        self.type = type
        self.param = param


class StreamError(APIError):
    """The server reported an error inside a stream, or sent a stream that cannot be decoded."""


class APIConnectionError(APIError):
    """The request did not get a complete answer: refused, reset, TLS failure, dropped mid-body."""

    def __init__(self, message: str = "Connection error.", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)


class APITimeoutError(APIConnectionError):
    """Connecting, or waiting for the next bytes of the answer, took longer than the timeout."""

    def __init__(self, message: str = "Request timed out.", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)


class APIStatusError(APIError):
    """The API answered with a non-2xx status."""

    status: int
    headers: Mapping[str, str]
    request_id: str | None

    def __init__(
        self,
        message: str,
        *,
        status: int,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        request_id: str | None = None,
        code: str | None = None,
        type: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message, body=body, code=code, type=type, param=param)
        self.status = status
        self.headers = headers if headers is not None else {}
        self.request_id = request_id

    @property
    def status_code(self) -> int:
        """openai-python's spelling of ``status``."""
        return self.status

    def __str__(self) -> str:
        text = f"Error code: {self.status} - {self.message}"
        if self.code:
            text += f" ({self.code})"
        if self.request_id:
            text += f" [request_id={self.request_id}]"
        return text


class BadRequestError(APIStatusError):
    """400: the request was malformed or used a parameter the model does not take."""


class AuthenticationError(APIStatusError):
    """401: the key is missing, wrong or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not use this resource or region."""


class NotFoundError(APIStatusError):
    """404: unknown model, file, response, or a wrong base URL."""


class ConflictError(APIStatusError):
    """409: the resource changed under the request."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was understood but cannot be processed."""


class RateLimitError(APIStatusError):
    """429: too many requests or tokens, or the quota is used up."""


class InternalServerError(APIStatusError):
    """>= 500: the server failed; usually worth a retry."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}

_HINTS: dict[int, str] = {
    401: "check the API key (argument or the provider's environment variable)",
    403: "check the key's permissions, project and organisation",
    404: "check the model name, the id and the base URL",
    429: "slow down, or check the account's quota",
}


def _describe(status: int, body: Any) -> tuple[str, dict[str, Any]]:
    """Pull the API's message and fields out of any body shape, JSON or not."""
    error: Any = body
    if isinstance(body, list) and body and isinstance(body[0], dict):
        error = body[0]  # Gemini sometimes wraps the error in a list
    if isinstance(error, dict) and "error" in error:
        error = error["error"]
    fields: dict[str, Any] = {}
    message = ""
    if isinstance(error, dict):
        message = str(error.get("message") or "")
        for key in ("code", "type", "param"):
            value = error.get(key)
            if value is None and key == "type":
                value = error.get("status")  # Google's spelling
            fields[key] = None if value is None else str(value)
    elif isinstance(error, str):
        message = error
    if isinstance(body, str) and body.lstrip().startswith("<"):
        # An HTML page from a proxy or load balancer: say so instead of dumping markup.
        message = f"the server sent an HTML page instead of JSON ({len(body)} characters)"
    message = " ".join(message.split())
    if len(message) > 500:
        message = message[:497] + "..."
    if not message:
        message = f"HTTP {status} with no error message"
        if status in _HINTS:
            message += f"; {_HINTS[status]}"
    return message, fields


def status_error(
    status: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
    request_id: str | None = None,
) -> APIStatusError:
    """Build the error class that matches ``status`` from a response."""
    cls = _BY_STATUS.get(status) or (InternalServerError if status >= 500 else APIStatusError)
    message, fields = _describe(status, body)
    return cls(message, status=status, headers=headers, body=body, request_id=request_id, **fields)
