"""Google Gemini through its OpenAI-compatible endpoint."""

from __future__ import annotations

from typing import ClassVar, Mapping, Tuple

from openai_bindings.client import AsyncOpenAI, OpenAI
from openai_bindings.provider import Provider

__all__ = ["AsyncGemini", "Gemini", "GeminiProvider"]


class GeminiProvider(Provider):
    """generativelanguage.googleapis.com/v1beta/openai, keyed by GEMINI_API_KEY (or GOOGLE_API_KEY)."""

    name = "gemini"
    default_base_url = "https://generativelanguage.googleapis.com/v1beta/openai"
    default_model = "gemini-2.5-flash"
    api_key_env = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    base_url_env = ("GEMINI_BASE_URL",)
    #: Gemini's own options travel in extra_body={"google": {...}}, so nothing beyond the API's.
    extra_params: ClassVar[Mapping[str, Tuple[str, ...]]] = {}
    default_models = {"embeddings": "gemini-embedding-001"}
    #: What the OpenAI-compatible endpoint serves (batches run on uploaded JSONL files).
    endpoints = frozenset(
        {"chat.completions", "embeddings", "models", "images.generations", "files", "batches"}
    )


class Gemini(OpenAI):
    """``OpenAI(provider="gemini")``, by name: ``Gemini(api_key)``."""

    default_provider = "gemini"


class AsyncGemini(AsyncOpenAI):
    """``AsyncOpenAI(provider="gemini")``."""

    default_provider = "gemini"
