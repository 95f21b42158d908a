"""Input checks that run before anything is sent, with messages that say what to fix."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

__all__ = ["ROLES", "ValidatedMessages", "check_id", "check_input", "validate_message", "validate_messages"]

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
#: Roles a message with plain text content needs nothing more for.
_PLAIN_ROLES = frozenset({"system", "developer", "user", "assistant"})
CONTENT_PARTS = ("text", "image_url", "input_audio", "file", "refusal")


def _where(index: int | None) -> str:
    return "message" if index is None else f"messages[{index}]"


class ValidatedMessages(list):
    """Messages already checked one by one (a session's history): not checked again on every send."""


def validate_message(message: Any, index: int | None = None) -> None:
    """Check one chat message; raise TypeError/ValueError naming its index and the problem."""
    if type(message) is dict:  # the common case, answered without the Mapping ABC's isinstance
        role = message.get("role")
        content = message.get("content")
        if (
            role in _PLAIN_ROLES
            and (content is None or type(content) is str)
            and "tool_calls" not in message
            and "function_call" not in message
        ):
            return
    where = _where(index)
    if not isinstance(message, Mapping):
        raise TypeError(
            f"{where} must be a dict such as {{'role': 'user', 'content': 'Hi'}}, "
            f"got {type(message).__name__}"
        )
    role = message.get("role")
    if role is None:
        raise ValueError(f"{where} has no 'role'; use one of: {', '.join(ROLES)}")
    if role not in ROLES:
        raise ValueError(f"{where} has unknown role {role!r}; use one of: {', '.join(ROLES)}")
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        if not isinstance(content, Sequence) or isinstance(content, (bytes, bytearray)):
            raise TypeError(
                f"{where}['content'] must be a string, None or a list of content parts, "
                f"got {type(content).__name__}"
            )
        for number, part in enumerate(content):
            kind = part.get("type") if isinstance(part, Mapping) else None
            if kind not in CONTENT_PARTS:
                raise ValueError(
                    f"{where}['content'][{number}] must be a dict whose 'type' is one of "
                    f"{', '.join(CONTENT_PARTS)}; got {part!r:.80}"
                )
            if kind not in part:
                raise ValueError(f"{where}['content'][{number}] of type {kind!r} needs a {kind!r} member")
    if role == "tool" and not message.get("tool_call_id"):
        raise ValueError(f"{where} has role 'tool' but no 'tool_call_id' (the id of the call it answers)")
    if role == "function" and not message.get("name"):
        raise ValueError(f"{where} has role 'function' but no 'name' (the function whose result it is)")
    tool_calls = message.get("tool_calls")
    if tool_calls is not None:
        if role != "assistant":
            raise ValueError(
                f"{where} has 'tool_calls' but role {role!r}; only assistant messages carry them"
            )
        if not isinstance(tool_calls, Sequence) or isinstance(tool_calls, str):
            raise TypeError(f"{where}['tool_calls'] must be a list")
        for number, call in enumerate(tool_calls):
            function = call.get("function") if isinstance(call, Mapping) else None
            if not isinstance(function, Mapping) or not function.get("name"):
                raise ValueError(
                    f"{where}['tool_calls'][{number}] needs 'function': {{'name': ..., 'arguments': '...'}}"
                )
            if not isinstance(function.get("arguments", ""), str):
                raise TypeError(
                    f"{where}['tool_calls'][{number}]['function']['arguments'] must be a JSON string"
                )


def validate_messages(messages: Any, start: int = 0) -> None:
    """Check a message list; ``start`` numbers them as they will stand in a longer history."""
    if type(messages) is ValidatedMessages:
        return
    if type(messages) not in (list, tuple) and (  # the ABC check costs more than validating one message
        isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence)
    ):
        raise TypeError(
            "messages must be a list of dicts such as [{'role': 'user', 'content': 'Hi'}], "
            f"got {type(messages).__name__}"
        )
    for offset, message in enumerate(messages):
        validate_message(message, start + offset)


def check_input(value: Any, name: str = "input") -> None:
    if value is None or (isinstance(value, (str, list, tuple)) and len(value) == 0):
        raise ValueError(f"{name} is required and must not be empty")


def check_id(value: Any, what: str, *, allow_slash: bool = False) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string id, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{what} must not be empty")
    if (not allow_slash and "/" in value) or "?" in value or "#" in value or ".." in value:
        raise ValueError(f"{what} {value!r} contains '/', '?', '#' or '..', which no id does")
    return value
