"""What an endpoint returns: status, decoded body, headers; unpacks like the original's three values."""

from __future__ import annotations

import json
from typing import Any, Iterator, Optional

from .http import Headers

__all__ = ["APIResult", "decode_body"]


def decode_body(raw: bytes, headers: Headers) -> Any:
    """JSON when it parses, else the text (else the bytes, for binary file contents)."""
    if not raw:
        return None
    content_type = headers.get("content-type", "")
    looks_json = "json" in content_type or raw[:1] in (b"{", b"[")
    if looks_json:
        try:
            return json.loads(raw)
        except ValueError:
            pass
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


class APIResult:
    """``status, body, headers = client.models()`` works, and so does ``result.body``."""

    __slots__ = ("body", "headers", "request_id", "status")

    def __init__(self, status: int, body: Any, headers: Headers) -> None:
        self.status = status
        self.body = body
        self.headers = headers
        self.request_id: Optional[str] = headers.get("x-request-id")

    def __iter__(self) -> Iterator[Any]:
        return iter((self.status, self.body, self.headers))

    def __getitem__(self, key: Any) -> Any:
        """``result["choices"]`` reads the body, so a result can stand in for it."""
        if isinstance(key, int):
            return (self.status, self.body, self.headers)[key]
        return self.body[key]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, APIResult):
            return (self.status, self.body) == (other.status, other.body)
        if isinstance(other, tuple):
            return tuple(self) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<APIResult status={self.status} request_id={self.request_id!r}>"
