"""Vector stores: create, list, retrieve, delete, add and list files, and a keyword search over them.

Search scores each chunk (a paragraph of an attached file) by the share of the
query's words it contains, so results are deterministic and explainable.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Dict, List

from ..server import Action, Reply
from .common import Call, Refused, error, find, listing, now, remove
from .files import get as get_file

if TYPE_CHECKING:
    from .common import FakeServer as FakeOpenAIServer

STATIC_CHUNKING = {"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}}


def _get(fake: FakeOpenAIServer, call: Call) -> Dict[str, Any]:
    return find(fake.vector_stores, call.args["vector_store_id"], "No vector store found with id '{id}'.")


def _attach(fake: FakeOpenAIServer, store: Dict[str, Any], file_id: Any, call: Call) -> Dict[str, Any]:
    if not isinstance(file_id, str) or not file_id:
        raise Refused(
            error(
                400,
                "Missing required parameter: 'file_id'.",
                param="file_id",
                code="missing_required_parameter",
            )
        )
    found = get_file(fake, file_id)
    attached = {
        "id": file_id,
        "object": "vector_store.file",
        "created_at": now(),
        "usage_bytes": found["bytes"],
        "vector_store_id": store["id"],
        "status": "completed",
        "last_error": None,
        "attributes": call.body.get("attributes") or {},
        "chunking_strategy": call.body.get("chunking_strategy") or STATIC_CHUNKING,
    }
    files = fake.vector_store_files.setdefault(store["id"], {})
    files[file_id] = attached
    counts = {"in_progress": 0, "completed": len(files), "failed": 0, "cancelled": 0, "total": len(files)}
    store.update(
        file_counts=counts, usage_bytes=sum(f["usage_bytes"] for f in files.values()), last_active_at=now()
    )
    return attached


def create(fake: FakeOpenAIServer, call: Call) -> Action:
    body = call.body
    ident = fake.new_id("vs")
    created = now()
    expires_after = body.get("expires_after")
    days = expires_after.get("days") if isinstance(expires_after, dict) else None
    store: Dict[str, Any] = {
        "id": ident,
        "object": "vector_store",
        "created_at": created,
        "name": body.get("name") or "",
        "description": body.get("description"),
        "usage_bytes": 0,
        "file_counts": {"in_progress": 0, "completed": 0, "failed": 0, "cancelled": 0, "total": 0},
        "status": "completed",
        "expires_after": expires_after,
        "expires_at": created + int(days) * 86400 if isinstance(days, int) else None,
        "last_active_at": created,
        "metadata": body.get("metadata") or {},
    }
    file_ids = body.get("file_ids") or []
    for file_id in file_ids:
        get_file(fake, file_id)  # refuse an unknown file before creating anything
    fake.vector_stores[ident] = store
    for file_id in file_ids:
        _attach(fake, store, file_id, call)
    return Reply(body=store)


def list_stores(fake: FakeOpenAIServer, call: Call) -> Action:
    return listing(call, list(fake.vector_stores.values()))


def retrieve(fake: FakeOpenAIServer, call: Call) -> Action:
    return Reply(body=_get(fake, call))


def delete(fake: FakeOpenAIServer, call: Call) -> Action:
    ident = _get(fake, call)["id"]
    return remove("vector_store.deleted", ident, fake.vector_stores, fake.vector_store_files)


def add_file(fake: FakeOpenAIServer, call: Call) -> Action:
    return Reply(body=_attach(fake, _get(fake, call), call.body.get("file_id"), call))


def list_files(fake: FakeOpenAIServer, call: Call) -> Action:
    ident = _get(fake, call)["id"]
    wanted = call.query.get("filter")
    files = [
        f for f in fake.vector_store_files.get(ident, {}).values() if not wanted or f["status"] == wanted
    ]
    return listing(call, files)


# -- search ------------------------------------------------------------------------------------

_COMPARE = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and a > b,
    "gte": lambda a, b: a is not None and a >= b,
    "lt": lambda a, b: a is not None and a < b,
    "lte": lambda a, b: a is not None and a <= b,
    "in": lambda a, b: a in b,
    "nin": lambda a, b: a not in b,
}


def matches(attributes: Dict[str, Any], rule: Any) -> bool:
    """The API's attribute filters: comparisons (eq, ne, gt, ...) and compound and/or."""
    if not isinstance(rule, dict):
        return True
    kind = rule.get("type")
    if kind in ("and", "or"):
        results = [matches(attributes, sub) for sub in rule.get("filters") or ()]
        return all(results) if kind == "and" else any(results)
    compare = _COMPARE.get(str(kind))
    if compare is None:
        raise Refused(error(400, f"Invalid filter type: {kind!r}.", param="filters", code="invalid_value"))
    try:
        return bool(compare(attributes.get(str(rule.get("key"))), rule.get("value")))
    except TypeError:
        return False


def _terms(text: str) -> List[str]:
    return re.findall(r"\w+", text.lower())


def search(fake: FakeOpenAIServer, call: Call) -> Action:
    store = _get(fake, call)
    query = call.require("query")
    queries = [query] if isinstance(query, str) else [q for q in query if isinstance(q, str)]
    terms = {t for q in queries for t in _terms(q)}
    most = call.int_param("max_num_results", 10, 1, 50)
    threshold = (call.body.get("ranking_options") or {}).get("score_threshold") or 0.0
    results = []
    for file_id, attached in fake.vector_store_files.get(store["id"], {}).items():
        if not matches(attached["attributes"], call.body.get("filters")):
            continue
        text = fake.file_contents.get(file_id, b"").decode("utf-8", "replace")
        for chunk in (c.strip() for c in re.split(r"\n\s*\n", text)):
            if not chunk:
                continue
            score = len(terms & set(_terms(chunk))) / (len(terms) or 1)
            if score > 0 and score >= threshold:
                results.append(
                    {
                        "file_id": file_id,
                        "filename": fake.files.get(file_id, {}).get("filename", ""),
                        "score": round(score, 4),
                        "attributes": attached["attributes"],
                        "content": [{"type": "text", "text": chunk}],
                    }
                )
    results.sort(key=lambda r: -r["score"])
    return Reply(
        body={
            "object": "vector_store.search_results.page",
            "search_query": queries,
            "data": results[:most],
            "has_more": False,
            "next_page": None,
        }
    )


ROUTES = {
    "POST /vector_stores": create,
    "GET /vector_stores": list_stores,
    "GET /vector_stores/{vector_store_id}": retrieve,
    "DELETE /vector_stores/{vector_store_id}": delete,
    "POST /vector_stores/{vector_store_id}/search": search,
    "POST /vector_stores/{vector_store_id}/files": add_file,
    "GET /vector_stores/{vector_store_id}/files": list_files,
}
