"""The hooks a plugin may implement (pluggy project ``openai_bindings``).

Built-in transports and providers use these same hooks, so they double as the
reference plugins (see ``openai_bindings.transports`` and ``.providers``).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import pluggy

PROJECT = "openai_bindings"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_transports(register: Callable[[type], None]) -> None:
    """Call ``register(transport_class)`` for each transport this plugin offers."""


@hookspec
def register_providers(register: Callable[[type], None]) -> None:
    """Call ``register(provider_class)`` for each provider this plugin offers."""


@hookspec(firstresult=True)
def choose_transport(is_async: bool, provider: str) -> Optional[str]:
    """Name the transport to use when the caller named none, or return None to pass."""


@hookspec
def prepare_request(request: Any, provider: str) -> None:
    """See each Request just before it is sent; add or change headers in ``request.headers``."""


@hookspec
def on_response(request: Any, response: Any, elapsed: float, attempt: int) -> None:
    """Each attempt, once the status and headers arrived (``elapsed``: seconds since it was sent;
    ``attempt``: 1 for the first, 2 for the first retry...). The body is not read yet: leave it."""


@hookspec
def on_error(request: Any, error: Any, elapsed: float, attempt: int, final: bool) -> None:
    """Each failed attempt (an APIConnectionError or an APIStatusError), and a stream that fails
    midway (``elapsed``: seconds since the attempt was sent). ``final`` is True when no retry
    follows: the call raises ``error`` (a tracer ends its span there)."""


@hookspec
def on_complete(request: Any, body: Any, elapsed: float) -> None:
    """Once per successful call, with the decoded body; for a stream, when it ends, with what it
    adds up to (the chat.completion, the final response). ``elapsed``: seconds since the first
    attempt was sent."""
