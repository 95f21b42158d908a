"""Any OpenAI-compatible server (Ollama, vLLM, llama.cpp, LM Studio...) by its base URL."""

from __future__ import annotations

from typing import Any, ClassVar, Dict, Optional

from openai_bindings.client import AsyncOpenAI, OpenAI
from openai_bindings.provider import Provider

__all__ = ["AsyncCompatible", "Compatible", "CompatibleProvider"]


class CompatibleProvider(Provider):
    """``base_url=`` (or ``OPENAI_COMPATIBLE_BASE_URL``) is required; the key is optional.

    No model is sent unless given (``default_model=`` or per call): local servers
    often serve one. Streams whose chunks lack ``object`` are decoded like any other.
    """

    name = "compatible"
    default_base_url = ""
    default_model = None
    api_key_env = ("OPENAI_COMPATIBLE_API_KEY",)
    base_url_env = ("OPENAI_COMPATIBLE_BASE_URL",)
    default_models: ClassVar[Dict[str, str]] = {}
    key_required = False

    def __init__(self, *, base_url: Optional[str] = None, **kwargs: Any) -> None:
        import os

        if not (base_url or os.environ.get("OPENAI_COMPATIBLE_BASE_URL")):
            raise ValueError(
                "the compatible provider needs the server's address: base_url='http://localhost:11434/v1' "
                "(Ollama), or set OPENAI_COMPATIBLE_BASE_URL"
            )
        super().__init__(base_url=base_url, **kwargs)


class Compatible(OpenAI):
    """``OpenAI(provider="compatible")``, by name: ``Compatible(api_key)``."""

    default_provider = "compatible"


class AsyncCompatible(AsyncOpenAI):
    """``AsyncOpenAI(provider="compatible")``."""

    default_provider = "compatible"
