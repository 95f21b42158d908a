"""Checks for optional libraries that never import them (import time stays small)."""

from __future__ import annotations

import importlib.util


def importable(module: str) -> bool:
    """True when ``import module`` would find something, without running it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent missing, or sys.modules[name] is None
        return False
