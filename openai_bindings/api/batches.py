"""Batches: the Batch API's endpoints (the job runner, ``run_batch``, builds on them)."""

from __future__ import annotations

from typing import Any

from ._base import Endpoints

__all__ = ["BatchesEndpoints"]


class BatchesEndpoints(Endpoints):
    def create_batch(self, input_file_id: str, endpoint: str, **params: Any) -> Any:
        """POST /batches: run an uploaded JSONL file (``completion_window`` "24h" by default)."""
        if not isinstance(endpoint, str) or not endpoint.startswith("/"):
            raise ValueError("endpoint must be an API path such as '/v1/chat/completions'")
        body = {"input_file_id": input_file_id, "endpoint": endpoint, "completion_window": "24h", **params}
        return self._json("POST", "/batches", "batches", body)

    def batch(self, batch_id: str, **params: Any) -> Any:
        """GET /batches/{batch_id}: its status, request counts and output/error file ids."""
        return self._query("GET", "/batches/{batch_id}", "batches", params, batch_id=batch_id)

    def batches(self, **params: Any) -> Any:
        """GET /batches (``limit=``, ``after=``)."""
        return self._query("GET", "/batches", "batches", params)

    def cancel_batch(self, batch_id: str, **params: Any) -> Any:
        """POST /batches/{batch_id}/cancel."""
        return self._query("POST", "/batches/{batch_id}/cancel", "batches", params, batch_id=batch_id)
