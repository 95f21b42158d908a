"""The error hierarchy.

The names are the ones openai-python users already know, so ``except
openai_bindings.RateLimitError`` reads the same in both libraries. Every
message says what happened and what to do about it, and never holds the key.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
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
    "error_message",
    "find_request_id",
    "status_error",
]


class OpenAIError(Exception):
    """Base of every error this library raises on purpose."""


class PluginError(OpenAIError, LookupError):
    """A transport or provider was asked for that is not registered or cannot run here."""


class UnsupportedEndpointError(OpenAIError, NotImplementedError):
    """The selected provider does not offer the endpoint that was called."""


class ClientClosedError(OpenAIError):
    """The client was closed: it sends nothing more (make a new client, or don't close it yet)."""


def _rebuild(cls: type[Exception], args: tuple) -> Any:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    return error


class APIError(OpenAIError):
    """Something went wrong talking to the API (a status, a stream error, a connection)."""

    def __reduce__(self) -> Any:
        # Keyword-only fields (status=...) defeat the default pickling of exceptions, and errors
        # travel: a worker process hands them back to its parent.
        return (_rebuild, (type(self), self.args), self.__dict__)

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


class _Answered:
    """What errors about an answer that did arrive carry: its status, headers and request id."""

    status: int
    headers: Mapping[str, str]
    request_id: str | None

    def _answered(self, status: int, headers: Mapping[str, str] | None, request_id: str | None) -> None:
        self.status = status
        self.headers = headers if headers is not None else {}
        self.request_id = request_id

    @property
    def status_code(self) -> int:
        """openai-python's spelling of ``status``."""
        return self.status


class APIResponseValidationError(_Answered, APIError):
    """A 2xx answer that cannot be what it claims: JSON that does not parse, or a body over the cap.

    ``body`` holds the first bytes of the answer, for a look at what came instead.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, body=body)
        self._answered(status, headers, request_id)


class APIStatusError(_Answered, APIError):
    """The API answered with a non-2xx status.

    ``retry_after`` is the wait in seconds the server asked for (``retry-after-ms`` or
    ``Retry-After``), or None when it said nothing usable.
    """

    status: int
    headers: Mapping[str, str]
    request_id: str | None
    retry_after: float | None

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
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, body=body, code=code, type=type, param=param)
        self._answered(status, headers, request_id)
        self.retry_after = retry_after

    def __str__(self) -> str:
        text = f"Error code: {self.status} - {self.message}"
        if self.code:
            text += f" ({self.code})"
        if self.request_id:
            text += f" [request_id={self.request_id}]"
        if self.retry_after is not None:
            text += f"; the server asked to retry after {_seconds(self.retry_after)}"
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

#: Where servers put a request id, most common first (OpenAI, generic, Azure, AWS, Google).
REQUEST_ID_HEADERS = (
    "x-request-id",
    "request-id",
    "x-ms-request-id",
    "apim-request-id",
    "x-amzn-requestid",
    "x-goog-request-id",
    "x-correlation-id",
)


def find_request_id(headers: Mapping[str, str]) -> Optional[str]:
    """The request id from whichever header the server used (None when there is none)."""
    # Every answer comes through here: a Headers is looked up by its lower-cased names at dict
    # speed (seven misses through get() were a measurable share of a small request).
    items = getattr(headers, "_items", None)
    if type(items) is dict:
        for name in REQUEST_ID_HEADERS:
            item = items.get(name)
            if item is not None and item[1]:
                return item[1]
        return None
    get = headers.get
    for name in REQUEST_ID_HEADERS:
        value = get(name)
        if value:
            return value
    return None


def _seconds(value: float) -> str:
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:g} seconds" if value < 120 else f"{value:.0f} seconds ({value / 60:.0f} minutes)"


def _from_sse(text: str) -> Any:
    """An error body framed as Server-Sent Events (``data: {...}``): the first data payload."""
    for line in text.splitlines():
        if line.startswith("data:"):
            data = line[5:].strip()
            try:
                return json.loads(data)
            except ValueError:
                return data
    return text


def error_message(body: Any) -> tuple[str, dict[str, Any]]:
    """The API's message and its code/type/param fields, from any error body shape seen in the wild.

    OpenAI's ``{"error": {...}}``, Gemini's list-wrapped form, FastAPI's ``{"detail": "..."}``
    and ``{"detail": [{"msg": ...}]}``, Ollama's ``{"error": "..."}``, ``{"message": ...}``, an
    SSE-framed body, plain text. The message is "" when the body says nothing usable.
    """
    error: Any = body
    if isinstance(error, str) and error.lstrip().startswith(("data:", "event:")):
        error = _from_sse(error)
    if isinstance(error, list) and error and isinstance(error[0], dict):
        error = error[0]  # Gemini sometimes wraps the error in a list
    if isinstance(error, dict) and "error" in error and error["error"]:
        error = error["error"]
    fields: dict[str, Any] = {}
    message: Any = ""
    if isinstance(error, dict):
        message = error.get("message") or error.get("msg") or ""
        detail = error.get("detail")
        if not message and isinstance(detail, str):
            message = detail
        elif not message and isinstance(detail, list):  # FastAPI / pydantic validation errors
            parts = []
            for item in detail[:5]:
                if isinstance(item, dict):
                    loc = item.get("loc")
                    loc = loc if isinstance(loc, (list, tuple)) else ([] if loc is None else [loc])
                    where = ".".join(str(p) for p in loc if p != "body")
                    text = str(item.get("msg") or item)
                    parts.append(f"{where}: {text}" if where else text)
                else:
                    parts.append(str(item))
            message = "; ".join(parts)
        for key in ("code", "type", "param"):
            value = error.get(key)
            if value is None and key == "type":
                value = error.get("status")  # Google's spelling
            fields[key] = None if value is None or isinstance(value, (dict, list)) else str(value)
    elif isinstance(error, str):
        message = error
        if error.lstrip().startswith("<"):
            # An HTML page from a proxy or load balancer: say so instead of dumping markup.
            message = f"the server sent an HTML page instead of JSON ({len(error)} characters)"
    message = " ".join(str(message).split())
    if len(message) > 500:
        message = message[:497] + "..."
    return message, fields


def status_error(
    status: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
    request_id: str | None = None,
    retry_after: float | None = None,
) -> APIStatusError:
    """Build the error class that matches ``status`` from a response."""
    cls = _BY_STATUS.get(status) or (InternalServerError if status >= 500 else APIStatusError)
    message, fields = error_message(body)
    if 300 <= status < 400:
        location = (headers or {}).get("location")
        message = (
            f"the server redirected to {location!r}, and redirects are never followed (a request "
            "could be re-sent somewhere unexpected, with the key); set base_url to the final address"
            if location
            else "the server answered with a redirect without a Location; check base_url"
        )
    if not message:
        message = f"HTTP {status} with no error message"
        if status in _HINTS:
            message += f"; {_HINTS[status]}"
    if request_id is None and headers is not None:
        request_id = find_request_id(headers)
    return cls(
        message,
        status=status,
        headers=headers,
        body=body,
        request_id=request_id,
        retry_after=retry_after,
        **fields,
    )
