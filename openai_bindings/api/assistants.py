"""The original's Assistants calls, for servers that still serve the (deprecated) Assistants API."""

from __future__ import annotations

from typing import Any

from ._base import Endpoints

__all__ = ["AssistantsEndpoints"]

#: The Assistants API answers only requests that opt in to its version.
BETA = {"OpenAI-Beta": "assistants=v2"}


class AssistantsEndpoints(Endpoints):
    def assistants(self, **params: Any) -> Any:
        """GET /assistants."""
        return self._query("GET", "/assistants", "assistants", params, headers=BETA)

    def threads(self, **params: Any) -> Any:
        """GET /threads (as the original calls it)."""
        return self._query("GET", "/threads", "assistants", params, headers=BETA)

    def thread_messages(self, thread_id: str, **params: Any) -> Any:
        """GET /threads/{thread_id}/messages."""
        return self._query(
            "GET", "/threads/{thread_id}/messages", "assistants", params, headers=BETA, thread_id=thread_id
        )

    def delete_thread(self, thread_id: str, **params: Any) -> Any:
        """DELETE /threads/{thread_id}."""
        return self._query(
            "DELETE", "/threads/{thread_id}", "assistants", params, headers=BETA, thread_id=thread_id
        )
