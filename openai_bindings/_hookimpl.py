"""The built-in plugins' ``hookimpl``: pluggy's marker, without importing pluggy.

The built-in transports and providers are plugins like any other, and a plugin
manager reads their hooks exactly as it reads a third party's. But when no other
plugin is installed, a client needs no plugin manager at all (``plugins``), and
importing pluggy (with inspect, ast and dis) is a quarter of what this library adds
to a cold start. So the built-ins mark their hooks with this function, which sets
the attribute ``pluggy.HookimplMarker("openai_bindings")`` sets (a test keeps the
two equal), and pluggy is imported only when a plugin manager is needed.
Third-party plugins use ``openai_bindings.hookimpl``, pluggy's own marker.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, TypeVar

__all__ = ["ATTRIBUTE", "PROJECT", "hookimpl"]

PROJECT = "openai_bindings"
#: Where pluggy looks for a hook implementation's options.
ATTRIBUTE = PROJECT + "_impl"

_F = TypeVar("_F", bound=Callable[..., Any])


def hookimpl(
    function: Optional[_F] = None,
    *,
    wrapper: bool = False,
    hookwrapper: bool = False,
    optionalhook: bool = False,
    tryfirst: bool = False,
    trylast: bool = False,
    specname: Optional[str] = None,
) -> Any:
    """Mark a built-in hook implementation, as ``@hookimpl`` / ``@hookimpl(trylast=True)``."""

    def mark(func: _F) -> _F:
        options = {
            "wrapper": wrapper,
            "hookwrapper": hookwrapper,
            "optionalhook": optionalhook,
            "tryfirst": tryfirst,
            "trylast": trylast,
            "specname": specname,
        }
        setattr(func, ATTRIBUTE, options)
        return func

    return mark if function is None else mark(function)
