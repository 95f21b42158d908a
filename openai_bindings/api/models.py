"""Models: list, retrieve, delete (a fine-tuned model of one's own)."""

from __future__ import annotations

from typing import Any

from ._base import Endpoints

__all__ = ["ModelsEndpoints"]


class ModelsEndpoints(Endpoints):
    def models(self, **params: Any) -> Any:
        """GET /models."""
        return self._query("GET", "/models", "models", params)

    def model(self, model_id: str, **params: Any) -> Any:
        """GET /models/{model}."""
        return self._query("GET", "/models/{model}", "models", params, model=model_id)

    def delete_model(self, model_id: str, **params: Any) -> Any:
        """DELETE /models/{model}: a fine-tuned model the organisation owns."""
        return self._query("DELETE", "/models/{model}", "models", params, model=model_id)
