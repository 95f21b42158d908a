"""OpenRouter: many vendors' models behind one OpenAI-compatible API."""

from __future__ import annotations

import os
from typing import Any, ClassVar, Mapping, Optional, Tuple

from openai_bindings.client import AsyncOpenAI, OpenAI
from openai_bindings.provider import Provider

__all__ = ["AsyncOpenRouter", "OpenRouter", "OpenRouterProvider"]


class OpenRouterProvider(Provider):
    """https://openrouter.ai/api/v1, ``OPENROUTER_API_KEY``; optional app attribution headers.

    ``app_url`` / ``app_name`` (or ``OPENROUTER_APP_URL`` / ``OPENROUTER_APP_NAME``) are sent as
    ``HTTP-Referer`` / ``X-Title``. Its SSE comments (``: OPENROUTER PROCESSING``) are skipped
    by the decoder like any comment.
    """

    name = "openrouter"
    default_base_url = "https://openrouter.ai/api/v1"
    default_model = "openai/gpt-4.1"
    api_key_env = ("OPENROUTER_API_KEY",)
    base_url_env = ("OPENROUTER_BASE_URL",)
    #: OpenRouter's routing and sampling options, beyond the API's.
    extra_params: ClassVar[Mapping[str, Tuple[str, ...]]] = {
        "*": (
            "provider",
            "models",
            "route",
            "transforms",
            "plugins",
            "reasoning",
            "usage",
            "top_k",
            "min_p",
            "top_a",
            "repetition_penalty",
        )
    }
    default_models = {"embeddings": "openai/text-embedding-3-small"}
    endpoints = frozenset({"chat.completions", "completions", "embeddings", "models", "responses"})

    def __init__(
        self, *, app_url: Optional[str] = None, app_name: Optional[str] = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.app_url = app_url or os.environ.get("OPENROUTER_APP_URL") or None
        self.app_name = app_name or os.environ.get("OPENROUTER_APP_NAME") or None

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.app_url:
            headers["HTTP-Referer"] = self.app_url
        if self.app_name:
            headers["X-Title"] = self.app_name
        return headers


class OpenRouter(OpenAI):
    """``OpenAI(provider="openrouter")``, by name: ``OpenRouter(api_key)``."""

    default_provider = "openrouter"


class AsyncOpenRouter(AsyncOpenAI):
    """``AsyncOpenAI(provider="openrouter")``."""

    default_provider = "openrouter"
