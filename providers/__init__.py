"""Built-in providers, registered through the same hook a third-party plugin uses.

Each says what differs between OpenAI-compatible vendors (see ``openai_bindings.Provider``);
each module also has a client class by the vendor's name (``Gemini(api_key)``).
"""

from __future__ import annotations

from typing import Callable

from openai_bindings._hookimpl import hookimpl

from .azure import AzureProvider
from .compatible import CompatibleProvider
from .gemini import GeminiProvider
from .openai import OpenAIProvider
from .openrouter import OpenRouterProvider

__all__ = ["AzureProvider", "CompatibleProvider", "GeminiProvider", "OpenAIProvider", "OpenRouterProvider"]


@hookimpl
def register_providers(register: Callable[[type], None]) -> None:
    for provider in (OpenAIProvider, GeminiProvider, AzureProvider, OpenRouterProvider, CompatibleProvider):
        register(provider)
