"""The Responses API: create (plain or streamed), stored responses, their input items, token counts."""

from __future__ import annotations

from typing import Any, Dict

from ._base import Endpoints

__all__ = ["ResponsesEndpoints"]


class ResponsesEndpoints(Endpoints):
    def create_response(self, input: Any = None, **params: Any) -> Any:
        """POST /responses. ``stream=True`` returns a stream of typed events.

        No default model is added when ``prompt=`` names a stored prompt: the prompt's own
        model must win.
        """
        if input is None and "previous_response_id" not in params and "prompt" not in params:
            raise ValueError("create_response needs input= (a string or a list of input items)")
        body: Dict[str, Any] = {"input": input, **params} if input is not None else dict(params)
        return self._json(
            "POST", "/responses", "responses", body, stream="responses", model="prompt" not in params
        )

    def response(self, response_id: str, **params: Any) -> Any:
        """GET /responses/{response_id}: a stored response (``include=[...]`` as a list)."""
        return self._query("GET", "/responses/{response_id}", "responses", params, response_id=response_id)

    def delete_response(self, response_id: str, **params: Any) -> Any:
        """DELETE /responses/{response_id}."""
        return self._query("DELETE", "/responses/{response_id}", "responses", params, response_id=response_id)

    def cancel_response(self, response_id: str, **params: Any) -> Any:
        """POST /responses/{response_id}/cancel (background responses)."""
        return self._query(
            "POST", "/responses/{response_id}/cancel", "responses", params, response_id=response_id
        )

    def response_input_items(self, response_id: str, **params: Any) -> Any:
        """GET /responses/{response_id}/input_items: what a stored response was given."""
        return self._query(
            "GET", "/responses/{response_id}/input_items", "responses", params, response_id=response_id
        )

    def count_input_tokens(self, **params: Any) -> Any:
        """POST /responses/input_tokens: how many input tokens a request would use, without running it."""
        return self._json("POST", "/responses/input_tokens", "responses", params, model=True)

    def compact_response(self, **params: Any) -> Any:
        """POST /responses/compact: a conversation compacted into fewer items for the next turn."""
        return self._json("POST", "/responses/compact", "responses", params, model=True)
