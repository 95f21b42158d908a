"""Chat completions: create (plain or streamed), the original's ``chat``, and stored completions."""

from __future__ import annotations

from typing import Any, Dict

from ..validation import validate_messages
from ._base import Endpoints

__all__ = ["ChatEndpoints"]


class ChatEndpoints(Endpoints):
    def create_chat_completion(self, messages: Any, **params: Any) -> Any:
        """POST /chat/completions. ``stream=True`` returns a stream of chunks."""
        validate_messages(messages)
        body: Dict[str, Any] = {"messages": list(messages), **params}
        return self._json("POST", "/chat/completions", "chat.completions", body, stream="chat", model=True)

    def chat(self, messages: Any, **params: Any) -> Any:
        """The original's ``chat``: create_chat_completion whose streamed chunks are ``{content, index}``."""
        validate_messages(messages)
        body: Dict[str, Any] = {"messages": list(messages), **params}
        return self._json(
            "POST", "/chat/completions", "chat.completions", body, stream="chat", legacy=True, model=True
        )

    # -- stored chat completions (``store=True``) ------------------------------------------------

    def chat_completions(self, **params: Any) -> Any:
        """GET /chat/completions: stored completions (``model=``, ``metadata=``, ``limit=``, ``after=``)."""
        return self._query("GET", "/chat/completions", "chat.completions.stored", params)

    def chat_completion(self, completion_id: str, **params: Any) -> Any:
        """GET /chat/completions/{completion_id}: one stored completion."""
        return self._query(
            "GET",
            "/chat/completions/{completion_id}",
            "chat.completions.stored",
            params,
            completion_id=completion_id,
        )

    def update_chat_completion(self, completion_id: str, **params: Any) -> Any:
        """POST /chat/completions/{completion_id}: change a stored completion's ``metadata``."""
        return self._json(
            "POST",
            "/chat/completions/{completion_id}",
            "chat.completions.stored",
            params,
            completion_id=completion_id,
        )

    def delete_chat_completion(self, completion_id: str, **params: Any) -> Any:
        """DELETE /chat/completions/{completion_id}."""
        return self._query(
            "DELETE",
            "/chat/completions/{completion_id}",
            "chat.completions.stored",
            params,
            completion_id=completion_id,
        )

    def chat_completion_messages(self, completion_id: str, **params: Any) -> Any:
        """GET /chat/completions/{completion_id}/messages: the messages a stored completion was given."""
        return self._query(
            "GET",
            "/chat/completions/{completion_id}/messages",
            "chat.completions.stored",
            params,
            completion_id=completion_id,
        )
