"""Conversations (the Responses API's server-side state) and their items."""

from __future__ import annotations

from typing import Any

from ._base import Endpoints

__all__ = ["ConversationsEndpoints"]

_ONE = "/conversations/{conversation_id}"


class ConversationsEndpoints(Endpoints):
    def create_conversation(self, **params: Any) -> Any:
        """POST /conversations (``items=``, ``metadata=``)."""
        return self._json("POST", "/conversations", "conversations", params)

    def conversation(self, conversation_id: str, **params: Any) -> Any:
        """GET /conversations/{conversation_id}."""
        return self._query("GET", _ONE, "conversations", params, conversation_id=conversation_id)

    def update_conversation(self, conversation_id: str, **params: Any) -> Any:
        """POST /conversations/{conversation_id}: change its ``metadata``."""
        return self._json("POST", _ONE, "conversations", params, conversation_id=conversation_id)

    def delete_conversation(self, conversation_id: str, **params: Any) -> Any:
        """DELETE /conversations/{conversation_id}."""
        return self._query("DELETE", _ONE, "conversations", params, conversation_id=conversation_id)

    def conversation_items(self, conversation_id: str, **params: Any) -> Any:
        """GET /conversations/{conversation_id}/items (``limit=``, ``after=``, ``include=[...]``)."""
        return self._query("GET", _ONE + "/items", "conversations", params, conversation_id=conversation_id)

    def create_conversation_items(self, conversation_id: str, items: Any, **params: Any) -> Any:
        """POST /conversations/{conversation_id}/items: add items (messages, tool outputs...)."""
        if isinstance(items, (str, bytes)) or not isinstance(items, (list, tuple)) or not items:
            raise TypeError("items must be a non-empty list of conversation items")
        body = {"items": list(items), **params}
        return self._json("POST", _ONE + "/items", "conversations", body, conversation_id=conversation_id)

    def conversation_item(self, conversation_id: str, item_id: str, **params: Any) -> Any:
        """GET /conversations/{conversation_id}/items/{item_id}."""
        return self._query(
            "GET",
            _ONE + "/items/{item_id}",
            "conversations",
            params,
            conversation_id=conversation_id,
            item_id=item_id,
        )

    def delete_conversation_item(self, conversation_id: str, item_id: str, **params: Any) -> Any:
        """DELETE /conversations/{conversation_id}/items/{item_id}."""
        return self._query(
            "DELETE",
            _ONE + "/items/{item_id}",
            "conversations",
            params,
            conversation_id=conversation_id,
            item_id=item_id,
        )
