"""The library's logger, ``openai_bindings``: silent by default, one switch to see what happened.

Libraries must not configure logging for their users, so the logger gets a
``NullHandler`` and nothing else. ``OPENAI_BINDINGS_LOG=debug|info`` (read at
import) or ``enable("debug")`` (what the CLI's ``--debug`` calls) attaches one
stderr handler. Records never hold a body, a key or a secret header.
"""

from __future__ import annotations

import logging
import os
from typing import Optional, TextIO

__all__ = ["LOG_ENV", "enable", "logger"]

LOG_ENV = "OPENAI_BINDINGS_LOG"
logger = logging.getLogger("openai_bindings")
logger.addHandler(logging.NullHandler())

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
_handler: Optional[logging.Handler] = None


def enable(level: str = "debug", stream: Optional[TextIO] = None) -> logging.Handler:
    """Attach (once) a stderr handler at ``level`` ("debug" or "info"); returns it.

    Calling it again changes the level (and the stream, when given) instead of adding a handler.
    """
    global _handler
    value = _LEVELS.get(level.strip().lower())
    if value is None:
        raise ValueError(f"log level must be one of {', '.join(_LEVELS)}, got {level!r}")
    if _handler is None:
        _handler = logging.StreamHandler(stream)
        _handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s", "%H:%M:%S"))
        logger.addHandler(_handler)
    elif stream is not None and isinstance(_handler, logging.StreamHandler):
        _handler.setStream(stream)
    _handler.setLevel(value)
    logger.setLevel(value)
    return _handler


def _from_environment() -> None:
    value = os.environ.get(LOG_ENV)
    if value and value.strip().lower() in _LEVELS:
        enable(value)
