"""Iterating a listing endpoint across pages (``has_more`` / ``after``)."""

from __future__ import annotations

from typing import Any, AsyncIterator, Callable, Dict, Iterator, List, Optional

__all__ = ["AsyncPaginator", "Paginator", "next_page_params"]

#: No listing is followed for more pages than this (a server that always says has_more stops here).
MAX_PAGES = 10_000


def next_page_params(body: Any, params: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The parameters of the next page, or None when this was the last one."""
    if not isinstance(body, dict):
        return None
    data: List[Any] = body.get("data") or []
    if not body.get("has_more") or not data:
        return None
    cursor = body.get("last_id") or (data[-1].get("id") if isinstance(data[-1], dict) else None)
    if not cursor or cursor == params.get("after"):
        return None  # no way forward: stop rather than ask for the same page forever
    return {**params, "after": cursor}


def _items(body: Any) -> List[Any]:
    return list(body.get("data") or []) if isinstance(body, dict) else []


class Paginator:
    """``for item in client.paginate(client.files, limit=100)``: every item of every page."""

    def __init__(self, fetch: Callable[..., Any], params: Dict[str, Any]) -> None:
        self.fetch = fetch
        self.params = params

    def __iter__(self) -> Iterator[Any]:
        params: Optional[Dict[str, Any]] = dict(self.params)
        for _ in range(MAX_PAGES):
            if params is None:
                return
            body = self.fetch(**params).body
            yield from _items(body)
            params = next_page_params(body, params)


class AsyncPaginator:
    """``async for item in client.paginate(client.files)``."""

    def __init__(self, fetch: Callable[..., Any], params: Dict[str, Any]) -> None:
        self.fetch = fetch
        self.params = params

    async def __aiter__(self) -> AsyncIterator[Any]:
        params: Optional[Dict[str, Any]] = dict(self.params)
        for _ in range(MAX_PAGES):
            if params is None:
                return
            body = (await self.fetch(**params)).body
            for item in _items(body):
                yield item
            params = next_page_params(body, params)
