"""What an endpoint returns (status, decoded body, headers), and how bodies are decoded and checked."""

from __future__ import annotations

import json
from typing import Any, Generic, Iterator, Mapping, Optional, TypeVar

from .errors import APIResponseValidationError, find_request_id
from .http import Headers, Request

__all__ = ["APIResult", "decode_body", "decode_success", "expected_length", "find_request_id"]

#: The body's type: a TypedDict of openai_bindings.types for the typed endpoints, else Any.
BodyT = TypeVar("BodyT")

#: How much of a bad body an APIResponseValidationError keeps, to show what came instead.
SHOWN_BYTES = 1024
#: The C JSON scanner json.loads ends in: (value, end index), StopIteration when nothing parses.
#: Used without json.loads' two Python layers for 2xx bodies here and stream events (accumulate).
_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def expected_length(headers: Mapping[str, str], request: Optional[Request] = None) -> Optional[int]:
    """The body size the headers promise, when they promise one that can be checked.

    Not when the body was decoded on the way (``Content-Encoding``: the transport un-gzipped
    it), nor for answers that have no body (HEAD, 1xx, 204, 304).
    """
    length = headers.get("content-length")
    if length is None or (request is not None and request.method == "HEAD"):
        return None
    encoding = headers.get("content-encoding")
    if encoding and encoding.strip().lower() != "identity":
        return None
    try:
        value = int(length.split(",")[0])
    except ValueError:
        return None
    return value if value >= 0 else None


def decode_body(raw: bytes, headers: Mapping[str, str]) -> Any:
    """Lenient: JSON when it parses, else the text (else the bytes). For error bodies."""
    if not raw:
        return None
    content_type = headers.get("content-type", "")
    if "json" in content_type or raw[:1] in (b"{", b"["):
        try:
            return json.loads(raw)
        except ValueError:
            pass
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def decode_success(raw: bytes, status: int, headers: Mapping[str, str]) -> Any:
    """Strict for a 2xx body that says it is JSON: it must parse, or it is not a success."""
    if not raw:
        return None
    content_type = headers.get("content-type", "")
    if "json" in content_type and "jsonl" not in content_type:
        try:
            if raw[:1] == b"{":  # the usual answer: the C scanner, without json.loads' two layers
                try:
                    text = raw.decode("utf-8")
                    value, end = _scan(text, 0)
                except (StopIteration, ValueError):  # (a truncated value stops the scan)
                    pass  # json.loads below says what is wrong, as it words it
                else:
                    if end == len(text) or not text[end:].strip():
                        return value
            return json.loads(raw)  # anything else (BOM, UTF-16, trailing data) as json.loads sees it
        except ValueError as error:  # UnicodeDecodeError included: not UTF-8
            raise APIResponseValidationError(
                f"the server answered {status} with a JSON content type, but the body is not valid "
                f"JSON ({error}; {len(raw)} bytes); the answer was cut short or mangled on the way",
                status=status,
                headers=headers,
                body=raw[:SHOWN_BYTES],
                request_id=find_request_id(headers),
            ) from None
    return decode_body(raw, headers)


class APIResult(Generic[BodyT]):
    """``status, body, headers = client.models()`` works, and so does ``result.body``.

    With ``response_format=`` / ``text_format=`` a Python type, ``parsed`` is the answer as an
    instance of it (None when the model refused, and then ``refusal`` says why).
    Generic in the body's type only for type checkers (``APIResult[ChatCompletion]``): since
    Python 3.9, ``Generic`` adds no work to building or reading a result.
    """

    __slots__ = ("_parsed", "_request_id", "body", "headers", "output_type", "status")

    def __init__(self, status: int, body: Any, headers: Headers, output_type: Any = None) -> None:
        self.status = status
        self.body: BodyT = body
        self.headers = headers
        self.output_type = output_type
        self._parsed: Any = None
        self._request_id: Any = False  # not looked for yet (None: there is none)

    @property
    def request_id(self) -> Optional[str]:
        """The server's id for this request (worked out when first asked: most callers never do)."""
        found = self._request_id
        if found is False:
            self._request_id = found = find_request_id(self.headers)
        return found

    @request_id.setter
    def request_id(self, value: Optional[str]) -> None:
        self._request_id = value

    def _structured(self) -> tuple[Any, Optional[str]]:
        if self.output_type is None:
            return None, None
        if self._parsed is None:
            from .structured import parse_body

            self._parsed = parse_body(self.output_type, self.body)
        return self._parsed

    @property
    def parsed(self) -> Any:
        """The answer parsed into the requested type (None without one, or when the model refused)."""
        return self._structured()[0]

    @property
    def refusal(self) -> Optional[str]:
        """The model's refusal, when it declined to answer in the requested format."""
        return self._structured()[1]

    def __iter__(self) -> Iterator[Any]:
        return iter((self.status, self.body, self.headers))

    def __getitem__(self, key: Any) -> Any:
        """``result["choices"]`` reads the body, so a result can stand in for it."""
        if isinstance(key, int):
            return (self.status, self.body, self.headers)[key]
        return self.body[key]  # type: ignore[index]  # a body that is not a dict raises as before

    def __eq__(self, other: object) -> bool:
        if isinstance(other, APIResult):
            return (self.status, self.body) == (other.status, other.body)
        if isinstance(other, tuple):
            return tuple(self) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<APIResult status={self.status} request_id={self.request_id!r}>"
