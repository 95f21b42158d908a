"""What every handler of the fake shares: the parsed call, OpenAI-shaped errors, listings, forms.

Handlers build answers from a ``Call`` and raise ``Refused`` to answer with an
error from anywhere below them, so a check is one line where it belongs.
"""

from __future__ import annotations

import email.message
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, TypeVar

from ..server import RecordedRequest, Reply

__all__ = [
    "Call",
    "FilePart",
    "Refused",
    "deleted",
    "error",
    "find",
    "listing",
    "now",
    "parse_form",
    "parse_query",
    "remove",
    "sse",
]

T = TypeVar("T")

#: What the real API says when a JSON body does not parse.
BAD_JSON = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
    "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. "
    "If you have trouble figuring out how to fix this, please contact us through our help center at "
    "help.openai.com.)"
)


def now() -> int:
    return int(time.time())


def error(
    status: int,
    message: str,
    *,
    code: Optional[str] = None,
    param: Optional[str] = None,
    kind: Optional[str] = None,
    headers: Optional[Dict[str, str]] = None,
) -> Reply:
    """An answer with the API's error envelope: ``{"error": {message, type, param, code}}``."""
    kind = kind or ("server_error" if status >= 500 else "invalid_request_error")
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return Reply(status=status, body=body, headers=dict(headers or {}))


class Refused(Exception):
    """Raised by a handler (or the checks before it) to answer with ``reply`` instead."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def find(store: Mapping[str, T], ident: str, message: str) -> T:
    """``store[ident]``, else the API's 404 with ``message`` (``{id}`` in it names the id)."""
    found = store.get(ident)
    if found is None:
        raise Refused(error(404, message.format(id=ident)))
    return found


def deleted(ident: str, kind: str) -> Reply:
    """The API's answer to a delete: ``{"id", "object": kind, "deleted": true}``."""
    return Reply(body={"id": ident, "object": kind, "deleted": True})


def remove(kind: str, ident: str, store: Dict[str, Any], *children: Dict[str, Any]) -> Reply:
    """Delete ``ident`` from ``store`` and what hangs from it in ``children``; answer as the API does."""
    del store[ident]
    for child in children:
        child.pop(ident, None)
    return deleted(ident, kind)


def sse(*events: Any, done: bool = True) -> bytes:
    """Encode events as a Server-Sent Events body; ``(name, payload)`` tuples get an ``event:`` line."""
    out = []
    for event in events:
        if isinstance(event, tuple):
            name, payload = event
            out.append(f"event: {name}\ndata: {json.dumps(payload)}\n\n")
        else:
            out.append(f"data: {json.dumps(event)}\n\n")
    if done:
        out.append("data: [DONE]\n\n")
    return "".join(out).encode()


@dataclass
class FilePart:
    """One file of a multipart body."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Call:
    """A request matched to a route: its table key, path arguments and decoded parameters.

    ``body`` is the JSON object, or the text fields of a multipart form (nested
    ``key[sub]`` fields as dicts, ``key[]`` as lists); ``files`` the form's file
    parts by field name (``image[]`` is filed under ``image``).
    """

    request: RecordedRequest
    key: str
    args: Dict[str, str]
    body: Dict[str, Any] = field(default_factory=dict)
    files: Dict[str, List[FilePart]] = field(default_factory=dict)
    query: Dict[str, Any] = field(default_factory=dict)
    form: bool = False

    @classmethod
    def parse(cls, request: RecordedRequest, key: str, args: Dict[str, str]) -> Call:
        call = cls(request, key, args, query=parse_query(request.query))
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            call.form = True
            call.body, call.files = parse_form(content_type, request.body)
        elif request.body.strip():
            try:
                decoded = json.loads(request.body)
            except ValueError:
                raise Refused(error(400, BAD_JSON)) from None
            if not isinstance(decoded, dict):
                raise Refused(
                    error(
                        400,
                        "Invalid type for request body: expected an object, "
                        f"but got {_kind(decoded)} instead.",
                    )
                )
            call.body = decoded
        return call

    @property
    def stream(self) -> bool:
        value = self.body.get("stream")
        return value is True or (isinstance(value, str) and value.lower() == "true")

    def int_param(self, name: str, default: int, low: int = 1, high: int = 2**31) -> int:
        """A form or query integer, refused with the API's wording when it is not one or out of range."""
        raw = self.body.get(name, self.query.get(name))
        if raw is None:
            return default
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise Refused(
                error(
                    400,
                    f"Invalid '{name}': expected an integer, but got {raw!r} instead.",
                    param=name,
                    code="invalid_type",
                )
            ) from None
        if value < low:
            raise Refused(
                error(
                    400,
                    f"Invalid '{name}': integer below minimum value. "
                    f"Expected a value >= {low}, but got {value} instead.",
                    param=name,
                    code="integer_below_min_value",
                )
            )
        if value > high:
            raise Refused(
                error(
                    400,
                    f"Invalid '{name}': integer above maximum value. "
                    f"Expected a value <= {high}, but got {value} instead.",
                    param=name,
                    code="integer_above_max_value",
                )
            )
        return value

    def require(self, name: str) -> Any:
        value = self.body.get(name)
        if value is None or value == "":
            raise Refused(
                error(
                    400,
                    f"Missing required parameter: '{name}'.",
                    param=name,
                    code="missing_required_parameter",
                )
            )
        return value


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", int: "an integer", float: "a number", bool: "a boolean"}.get(
        type(value), "null"
    )


# -- listings ---------------------------------------------------------------------------------


def listing(
    call: Call,
    items: Sequence[Dict[str, Any]],
    *,
    order: str = "desc",
    limit: int = 20,
    high: int = 100,
    extra: Optional[Mapping[str, Any]] = None,
) -> Reply:
    """A page of ``items`` (oldest first) as the API lists: ``limit``, ``order``, ``after``, ``before``.

    The page carries ``has_more``, ``first_id`` and ``last_id``, so a client can
    walk every page with ``after=last_id``.
    """
    chosen = call.query.get("order", call.body.get("order")) or order
    if chosen not in ("asc", "desc"):
        raise Refused(
            error(
                400,
                f"Invalid value for 'order': expected one of 'asc' or 'desc', but got {chosen!r} instead.",
                param="order",
                code="invalid_value",
            )
        )
    size = call.int_param("limit", limit, 1, high)
    ordered = list(items) if chosen == "asc" else list(reversed(items))
    ids = [item.get("id") for item in ordered]
    after = call.query.get("after", call.body.get("after"))
    before = call.query.get("before", call.body.get("before"))
    if after:
        ordered = ordered[ids.index(after) + 1 :] if after in ids else []
    if before:
        ids = [item.get("id") for item in ordered]
        ordered = ordered[: ids.index(before)] if before in ids else []
    page = ordered[:size]
    return Reply(
        body={
            "object": "list",
            "data": page,
            "first_id": page[0].get("id") if page else None,
            "last_id": page[-1].get("id") if page else None,
            "has_more": len(ordered) > size,
            **(extra or {}),
        }
    )


# -- query strings and forms ------------------------------------------------------------------

_NAME = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def _assign(target: Dict[str, Any], name: str, value: Any) -> None:
    """Put ``value`` at ``name`` with the brackets the client encodes: ``a[]`` a list, ``a[b]`` a dict."""
    match = _NAME.match(name)
    if match is None or not match.group(2):
        target[name] = value
        return
    keys = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
    node: Dict[str, Any] = target
    for position, key in enumerate(keys[:-1]):
        if keys[position + 1] == "":
            if position + 2 != len(keys):  # a[][b]: not an encoding the client uses; keep it as named
                target[name] = value
                return
            existing = node.get(key)
            node[key] = (existing if isinstance(existing, list) else []) + [value]
            return
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[keys[-1]] = value


def base_name(name: str) -> str:
    """``include[]`` -> ``include``; ``expires_after[anchor]`` -> ``expires_after``."""
    return name.split("[", 1)[0]


def parse_query(raw: Mapping[str, List[str]]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for name, values in raw.items():
        if name.endswith("[]"):
            for value in values:
                _assign(out, name, value)
        else:
            _assign(out, name, values[-1])
    return out


def _disposition(value: str) -> Tuple[Optional[str], Optional[str]]:
    message = email.message.Message()
    message["content-disposition"] = value
    name = message.get_param("name", header="content-disposition")
    filename = message.get_filename()
    return (str(name) if name is not None else None), filename


def parse_form(content_type: str, body: bytes) -> Tuple[Dict[str, Any], Dict[str, List[FilePart]]]:
    """Split a multipart/form-data body into text fields and file parts (binary-safe, in memory)."""
    message = email.message.Message()
    message["content-type"] = content_type
    boundary = message.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise Refused(error(400, "Invalid multipart body: the Content-Type header has no boundary."))
    fields: Dict[str, Any] = {}
    files: Dict[str, List[FilePart]] = {}
    delimiter = b"--" + boundary.encode("latin-1")
    for section in body.split(delimiter)[1:]:
        if section.startswith(b"--"):
            break
        head, found, data = section.partition(b"\r\n\r\n")
        if not found:
            raise Refused(error(400, "Invalid multipart body: a part has no blank line after its headers."))
        if data.endswith(b"\r\n"):
            data = data[:-2]
        headers: Dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, colon, value = line.partition(":")
            if colon:
                headers[key.strip().lower()] = value.strip()
        name, filename = _disposition(headers.get("content-disposition", ""))
        if name is None:
            raise Refused(
                error(400, "Invalid multipart body: a part has no name in its Content-Disposition.")
            )
        if filename is not None:
            part = FilePart(filename, headers.get("content-type", "application/octet-stream"), data)
            files.setdefault(base_name(name), []).append(part)
        else:
            _assign(fields, name, data.decode("utf-8", "replace"))
    return fields, files


#: The server as a handler sees it: ``core.FakeOpenAIServer``, which imports the handlers through
#: the route table, so a handler names it by this alias instead of importing the core.
FakeServer = Any
