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

    def adjust_body(self, endpoint: str, body: Dict[str, Any]) -> Dict[str, Any]:
        """An assistant message that carries tool calls is sent with ``content: ""``, not null:
        llama.cpp's server refuses null there, and every other server takes the empty string."""
        messages = body.get("messages") if endpoint == "chat.completions" else None
        if not messages or not any(_null_with_calls(m) for m in messages):
            return body
        fixed = [{**m, "content": ""} if _null_with_calls(m) else m for m in messages]
        return {**body, "messages": fixed}

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


def _null_with_calls(message: Any) -> bool:
    return (
        isinstance(message, dict)
        and message.get("role") == "assistant"
        and message.get("content") is None
        and bool(message.get("tool_calls") or message.get("function_call"))
    )
