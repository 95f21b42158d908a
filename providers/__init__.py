"""Built-in providers, registered through the same hook a third-party plugin uses.

Each says what differs between OpenAI-compatible vendors (see ``openai_bindings.Provider``);
each module also has a client class by the vendor's name (``Gemini(api_key)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from openai_bindings._hookimpl import hookimpl
from openai_bindings.plugins import BuiltinTable

if TYPE_CHECKING:
    from .azure import AzureProvider
    from .compatible import CompatibleProvider
    from .gemini import GeminiProvider
    from .openai import OpenAIProvider
    from .openrouter import OpenRouterProvider

__all__ = ["AzureProvider", "CompatibleProvider", "GeminiProvider", "OpenAIProvider", "OpenRouterProvider"]

#: Each built-in provider: (its name, its module here, its class), imported when first used.
BUILTINS = (
    ("openai", "openai", "OpenAIProvider"),
    ("gemini", "gemini", "GeminiProvider"),
    ("azure", "azure", "AzureProvider"),
    ("openrouter", "openrouter", "OpenRouterProvider"),
    ("compatible", "compatible", "CompatibleProvider"),
)
_TABLE = BuiltinTable(__name__, BUILTINS)
__getattr__ = _TABLE.attribute


@hookimpl
def register_providers(register: Callable[[Any], None]) -> None:
    _TABLE.register_all(register)
