"""Refuse an unknown or mistyped API parameter before anything is sent.

The real API answers a typo (``temprature=0.2``) with a 400 after a round trip,
and some OpenAI-compatible servers silently ignore it; openai-python makes it a
``TypeError`` at the call. ``check_params`` does the same from the table that
``tools/gen_params.py`` generates from OpenAI's published OpenAPI document
(``openai_bindings/_params.py``). The table is loaded on the first check, not
at import, and each endpoint's lookup structures are built once.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Mapping, Optional, Tuple

__all__ = ["check_params", "endpoint_key", "known_params"]

#: The scalars whose type is checked: the ones people get wrong (a string "0.2", a float token count).
#: Their expected type comes from the table, so it follows the spec endpoint by endpoint.
COMMON_SCALARS = (
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "max_output_tokens",
    "n",
    "model",
    "stream",
)

_IS: Dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}
_ARTICLE = {"string": "a string", "number": "a number", "integer": "an integer", "boolean": "True or False"}


class _Endpoint:
    """One endpoint's known names and scalar checks, built once from its table row."""

    __slots__ = ("checks", "key", "names")

    def __init__(self, key: str, row: Mapping[str, str]) -> None:
        self.key = key
        self.names: FrozenSet[str] = frozenset(row)
        self.checks: Dict[str, Tuple[str, Callable[[Any], bool]]] = {}
        for name in COMMON_SCALARS:
            kinds = [kind for kind in row.get(name, "").split("|") if kind in _IS]
            if len(kinds) == 1:  # a plain scalar (maybe nullable); a union of several is left alone
                self.checks[name] = (_ARTICLE[kinds[0]], _IS[kinds[0]])


_TABLE: Optional[Mapping[str, Mapping[str, str]]] = None
_ENDPOINTS: Dict[str, Optional[_Endpoint]] = {}


def _table() -> Mapping[str, Mapping[str, str]]:
    global _TABLE
    if _TABLE is None:
        from ._params import PARAMS

        _TABLE = PARAMS
    return _TABLE


def _endpoint(key: str) -> Optional[_Endpoint]:
    try:
        return _ENDPOINTS[key]
    except KeyError:
        row = _table().get(key)
        endpoint = _ENDPOINTS[key] = None if row is None else _Endpoint(key, row)
        return endpoint


def known_params(key: str) -> Optional[FrozenSet[str]]:
    """The parameter names the table knows for ``key`` ("POST /chat/completions"); None when unlisted."""
    endpoint = _endpoint(key)
    return None if endpoint is None else endpoint.names


def check_params(key: str, params: Mapping[str, Any], *, extra: Iterable[str] = ()) -> None:
    """Raise TypeError for a parameter ``key``'s endpoint does not know, or a common scalar of the wrong type.

    ``key`` is "METHOD /path/template" as in the table; an endpoint the table does
    not list is not checked. ``params`` are the API parameters only (the client's
    own options such as ``timeout`` or ``extra_body`` split off first). ``extra``
    names parameters a provider adds to the API's. ``None`` is never refused: the
    client and sessions treat it as "not given".
    """
    endpoint = _ENDPOINTS.get(key) or _endpoint(key)
    if endpoint is None:
        return
    names = endpoint.names
    checks = endpoint.checks
    allowed: Optional[FrozenSet[str]] = None
    for name, value in params.items():
        if name not in names:
            if allowed is None:
                allowed = frozenset(extra)
            if name not in allowed:
                raise TypeError(_unknown(endpoint, name, allowed))
            continue
        check = checks.get(name)
        if check is not None and value is not None and not check[1](value):
            raise TypeError(f"{name} must be {check[0]} for {key}, got {type(value).__name__} {value!r:.40}")


def _unknown(endpoint: _Endpoint, name: str, extra: FrozenSet[str]) -> str:
    import difflib  # only for a mistake: a cold start need not load it

    candidates = sorted(endpoint.names | extra)
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else f" (it knows: {', '.join(candidates) or 'none'})."
    return (
        f"unknown parameter {name!r} for {endpoint.key}{hint} "
        f"Pass extra_body={{{name!r}: ...}} to send it anyway"
    )


# -- from a concrete path to its table key -------------------------------------------------

_ROUTES: Optional[Dict[Tuple[str, int], List[Tuple[Tuple[Optional[str], ...], str]]]] = None


def endpoint_key(method: str, path: str) -> Optional[str]:
    """The table key of a concrete request: ("GET", "/responses/resp_1/input_items") ->
    "GET /responses/{response_id}/input_items"; None when the table has no such endpoint.

    ``path`` is relative to the API root (no ``/v1``); a query string is ignored. When
    several templates fit, the one with the most literal segments wins
    (``/responses/input_tokens`` over ``/responses/{response_id}``).
    """
    global _ROUTES
    if _ROUTES is None:
        routes: Dict[Tuple[str, int], List[Tuple[Tuple[Optional[str], ...], str]]] = {}
        for key in _table():
            verb, template = key.split(" ", 1)
            parts = tuple(None if p.startswith("{") else p for p in template.strip("/").split("/"))
            routes.setdefault((verb, len(parts)), []).append((parts, key))
        for candidates in routes.values():
            candidates.sort(key=lambda item: -sum(p is not None for p in item[0]))
        _ROUTES = routes
    segments = path.split("?", 1)[0].strip("/").split("/")
    for parts, key in _ROUTES.get((method.upper(), len(segments)), ()):
        if all((p is None and s) or p == s for p, s in zip(parts, segments, strict=True)):
            return key
    return None
