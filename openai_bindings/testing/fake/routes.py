"""The route table: every endpoint the fake serves, keyed as the parameter table keys them.

One handler module per endpoint group (the client's grouping); a key is
"METHOD /path/{template}" relative to the API root, so the same key finds the
endpoint's known parameters in ``openai_bindings._params``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Tuple

from ..server import Action
from . import (
    assistants,
    audio,
    batches,
    chat,
    completions,
    conversations,
    embeddings,
    files,
    images,
    models,
    moderations,
    responses,
    uploads,
    vector_stores,
)
from .common import Call

if TYPE_CHECKING:
    from .common import FakeServer as FakeOpenAIServer

Handler = Callable[["FakeOpenAIServer", Call], Action]

GROUPS = (
    chat,
    completions,
    responses,
    embeddings,
    moderations,
    models,
    files,
    uploads,
    images,
    audio,
    batches,
    conversations,
    vector_stores,
    assistants,
)

ROUTES: Dict[str, Handler] = {key: handler for group in GROUPS for key, handler in group.ROUTES.items()}

#: A template whose last parameter may hold slashes (model names such as "org/model").
_GREEDY = "{model}"

_Template = Tuple[Tuple[Optional[str], ...], List[str], str]


def _build() -> Dict[str, List[_Template]]:
    table: Dict[str, List[_Template]] = {}
    for key in ROUTES:
        method, template = key.split(" ", 1)
        segments = template.strip("/").split("/")
        parts = tuple(None if s.startswith("{") else s for s in segments)
        names = [s[1:-1] for s in segments if s.startswith("{")]
        table.setdefault(method, []).append((parts, names, key))
    for candidates in table.values():  # literal segments win: /responses/input_tokens over /responses/{id}
        candidates.sort(key=lambda c: (-len(c[0]), -sum(p is not None for p in c[0])))
    return table


_TABLE = _build()


def match(method: str, path: str) -> Optional[Tuple[str, Handler, Dict[str, str]]]:
    """(key, handler, path arguments) for a path relative to the API root, or None."""
    segments = path.strip("/").split("/")
    for parts, names, key in _TABLE.get(method.upper(), ()):
        found = segments
        if len(segments) > len(parts) and key.endswith(_GREEDY):
            found = [*segments[: len(parts) - 1], "/".join(segments[len(parts) - 1 :])]
        if len(found) != len(parts):
            continue
        if all(s and (p is None or p == s) for p, s in zip(parts, found, strict=True)):
            values = [s for p, s in zip(parts, found, strict=True) if p is None]
            return key, ROUTES[key], dict(zip(names, values, strict=True))
    return None
