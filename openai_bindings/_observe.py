"""Calling the observation hooks: only those some plugin implements, and never to the call's harm.

Which hooks have implementations is worked out once per plugin load, so a
client with no observing plugin pays one ``is None`` test per attempt. A hook
that raises is reported (a ``PluginHookWarning`` and a log record) and the call
goes on: tracing must never break the traffic it traces.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

from ._logging import logger

__all__ = ["Observers", "PluginHookWarning"]


class PluginHookWarning(UserWarning):
    """A plugin's hook raised; the call went on without it."""


class Observers:
    """The implemented hooks of one plugin manager, as callers (None where nobody implements one)."""

    __slots__ = ("after", "complete", "error", "prepare", "response")

    def __init__(self, manager: Any) -> None:
        """``manager=None``: no plugin manager yet, so nothing observes (every hook None)."""
        hook = manager.hook if manager is not None else None

        def caller(name: str) -> Optional[Any]:
            found = getattr(hook, name, None)
            return found if found is not None and found.get_hookimpls() else None

        self.prepare = caller("prepare_request")
        self.response = caller("on_response")
        self.error = caller("on_error")
        self.complete = caller("on_complete")
        #: True when anything after the send is observed (the plan times attempts only then).
        self.after = bool(self.response or self.error or self.complete)

    @staticmethod
    def call(hook: Any, **arguments: Any) -> None:
        try:
            hook(**arguments)
        except Exception as error:
            text = f"an openai_bindings plugin's {hook.name} hook raised {type(error).__name__}: {error}"
            logger.warning("%s; the call goes on", text)
            warnings.warn(f"{text}; the call went on without it", PluginHookWarning, stacklevel=2)
