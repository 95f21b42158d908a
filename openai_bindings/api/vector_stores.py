"""Vector stores: create, list, get, delete, search, and the files in them."""

from __future__ import annotations

from typing import Any

from ._base import Endpoints

__all__ = ["VectorStoresEndpoints"]

_ONE = "/vector_stores/{vector_store_id}"


class VectorStoresEndpoints(Endpoints):
    def create_vector_store(self, **params: Any) -> Any:
        """POST /vector_stores (``name=``, ``file_ids=``, ``expires_after=``...)."""
        return self._json("POST", "/vector_stores", "vector_stores", params)

    def vector_store(self, vector_store_id: str, **params: Any) -> Any:
        """GET /vector_stores/{vector_store_id}."""
        return self._query("GET", _ONE, "vector_stores", params, vector_store_id=vector_store_id)

    def vector_stores(self, **params: Any) -> Any:
        """GET /vector_stores (``limit=``, ``after=``, ``order=``)."""
        return self._query("GET", "/vector_stores", "vector_stores", params)

    def delete_vector_store(self, vector_store_id: str, **params: Any) -> Any:
        """DELETE /vector_stores/{vector_store_id}."""
        return self._query("DELETE", _ONE, "vector_stores", params, vector_store_id=vector_store_id)

    def search_vector_store(self, vector_store_id: str, query: Any, **params: Any) -> Any:
        """POST /vector_stores/{vector_store_id}/search: the chunks that best match ``query``."""
        if not query:
            raise ValueError("search_vector_store needs a query (a string or a list of strings)")
        body = {"query": query, **params}
        return self._json("POST", _ONE + "/search", "vector_stores", body, vector_store_id=vector_store_id)

    def add_vector_store_file(self, vector_store_id: str, file_id: str, **params: Any) -> Any:
        """POST /vector_stores/{vector_store_id}/files: index an uploaded file in the store."""
        body = {"file_id": file_id, **params}
        return self._json("POST", _ONE + "/files", "vector_stores", body, vector_store_id=vector_store_id)

    def vector_store_files(self, vector_store_id: str, **params: Any) -> Any:
        """GET /vector_stores/{vector_store_id}/files."""
        return self._query("GET", _ONE + "/files", "vector_stores", params, vector_store_id=vector_store_id)
