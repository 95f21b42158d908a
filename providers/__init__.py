"""Built-in providers, registered through the same hook a third-party plugin uses."""

from __future__ import annotations

from typing import Callable

from openai_bindings.hookspecs import hookimpl

from .gemini import GeminiProvider
from .openai import OpenAIProvider

__all__ = ["GeminiProvider", "OpenAIProvider"]


@hookimpl
def register_providers(register: Callable[[type], None]) -> None:
    register(OpenAIProvider)
    register(GeminiProvider)
