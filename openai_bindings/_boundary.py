"""The one error boundary between the core and any transport, built-in or third-party.

Whatever a transport raises from ``send``, from its body iterator or from
``close`` reaches the user as the library's own error: an ``OpenAIError`` it
raised itself passes (cleaned), anything else becomes ``APIConnectionError``
(``APITimeoutError`` for timeouts). On the way, nothing that could hold the API
key survives in the exception chain: a link whose ``repr``, ``str``, ``args``
or attributes mention a secret is replaced by a ``RedactedError`` that keeps its
type name, its message (scrubbed) and its traceback. aiohttp's errors, for
one, keep the request headers; a plugin's may do anything.

This only runs when something failed, so it may take its time; the success path
never comes here.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Iterable, List, Optional, Tuple

from .errors import APIConnectionError, APIError, APITimeoutError, OpenAIError
from .http import SECRET_HEADERS, Request

__all__ = ["Guard", "RedactedError", "scrub"]

REDACTED = "<redacted>"
#: How deep a chain is followed (a chain is short; a loop in a buggy one must not hang us).
_MAX_LINKS = 32


class RedactedError(Exception):
    """Stands in an exception chain for an exception that held a secret (its type and message kept)."""

    def __init__(self, message: str, original_type: str) -> None:
        super().__init__(message)
        self.original_type = original_type


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ``<redacted>``."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _secret_values(request: Optional[Request], extra: Tuple[str, ...]) -> List[str]:
    values = [value for value in extra if value]
    if request is not None:
        for name, value in request.headers.items():
            if name.lower() in SECRET_HEADERS and value:
                values.append(value)
                scheme, _, token = value.partition(" ")
                if token and scheme.lower() in ("bearer", "basic", "token"):
                    values.append(token.strip())
    # Longest first, so a token inside "Bearer <token>" never leaves a tail behind.
    return sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)


def _text_of(error: BaseException) -> str:
    """Everything about an exception a user could print: repr, str, args and attributes."""
    parts: List[str] = []
    for get in (lambda: repr(error), lambda: str(error), lambda: repr(error.args)):
        try:
            parts.append(get())
        except Exception:  # a broken __repr__ must not break the boundary
            parts.append("")
    try:
        attributes = vars(error)
    except TypeError:
        attributes = {}
    for value in attributes.values():
        with contextlib.suppress(Exception):
            parts.append(repr(value))
    return "\n".join(parts)


def _mentions(error: BaseException, secrets: List[str]) -> bool:
    text = _text_of(error)
    return any(secret in text for secret in secrets)


def _safe_message(error: BaseException, secrets: List[str]) -> str:
    try:
        text = str(error)
    except Exception:
        text = ""
    return scrub(text, secrets)


def _type_name(error: BaseException) -> str:
    cls = type(error)
    module = cls.__module__
    return cls.__qualname__ if module in ("builtins", "__main__") else f"{module}.{cls.__qualname__}"


def _clean_chain(error: BaseException, secrets: List[str]) -> None:
    """Make every link of ``error``'s chain safe to show, replacing the links that hold a secret."""
    current: BaseException = error
    seen = {id(error)}
    for _ in range(_MAX_LINKS):
        following: Optional[BaseException] = None
        for attribute in ("__cause__", "__context__"):
            link = getattr(current, attribute)
            if link is None:
                continue
            if id(link) in seen:
                setattr(current, attribute, None)  # a loop in the chain: cut it
                continue
            seen.add(id(link))
            if secrets and _mentions(link, secrets):
                surrogate = RedactedError(
                    f"{_type_name(link)}: {_safe_message(link, secrets)}", _type_name(link)
                ).with_traceback(link.__traceback__)
                setattr(current, attribute, surrogate)
                link = surrogate
            following = following or link
        if following is None:
            return
        current = following


def _is_timeout(error: BaseException) -> bool:
    if isinstance(error, TimeoutError):  # socket.timeout and asyncio's on 3.11+ are TimeoutError
        return True
    asyncio = sys.modules.get("asyncio")
    if asyncio is not None and isinstance(error, asyncio.TimeoutError):
        return True
    # urllib3's ReadTimeoutError, httpx's ReadTimeout, requests' Timeout, aiohttp's ServerTimeoutError...
    return any("Timeout" in cls.__name__ for cls in type(error).__mro__)


def _where(request: Optional[Request]) -> str:
    if request is None:
        return "the request"
    return f"{request.method} {request.url.split('?', 1)[0]}"


class Guard:
    """A client's boundary: its own secrets (key, proxy password) and its transport's name."""

    __slots__ = ("secrets", "transport")

    def __init__(self, secrets: Iterable[Optional[str]], transport: str) -> None:
        self.secrets: Tuple[str, ...] = tuple(s for s in secrets if s)
        self.transport = transport

    def error(self, error: BaseException, request: Optional[Request], phase: str = "send") -> BaseException:
        """The exception to raise for ``error`` from a transport (raise it outside the except block).

        ``phase`` says where it came from: "send", "body" or "close", for the message.
        """
        if not isinstance(error, Exception):
            return error  # KeyboardInterrupt, CancelledError, GeneratorExit: never ours to change
        secrets = _secret_values(request, self.secrets)
        if isinstance(error, OpenAIError):
            if secrets:
                message = _safe_message(error, secrets)
                error.args = (message,)
                if isinstance(error, APIError):
                    error.message = scrub(error.message, secrets)
            _clean_chain(error, secrets)
            return error
        cls = APITimeoutError if _is_timeout(error) else APIConnectionError
        what = {"send": "sending", "body": "reading the answer of", "close": "closing"}.get(phase, phase)
        detail = _safe_message(error, secrets)
        wrapped = cls(
            f"{_where(request)}: the {self.transport!r} transport failed while {what} the request: "
            f"{_type_name(error)}" + (f": {detail}" if detail else "")
        )
        safe: BaseException = error
        if secrets and _mentions(error, secrets):
            safe = RedactedError(f"{_type_name(error)}: {detail}", _type_name(error)).with_traceback(
                error.__traceback__
            )
        else:
            _clean_chain(error, secrets)
        wrapped.__cause__ = safe
        wrapped.__suppress_context__ = True
        return wrapped

    def clean_status_message(self, message: str, request: Optional[Request]) -> str:
        """A server's error message, with any secret it echoed back (a key, say) removed."""
        return scrub(message, _secret_values(request, self.secrets))
