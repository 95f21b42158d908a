"""An Ollama provider for openai-bindings: a complete, installable example of a provider plugin.

Ollama serves an OpenAI-compatible API on localhost:11434/v1 with no key. The
provider says so (base URL, variables, default model, endpoints), and shows the
quirk hooks: it maps ``max_completion_tokens`` to the ``max_tokens`` Ollama reads.
"""

from __future__ import annotations

from typing import Any, Dict

from openai_bindings import Provider, hookimpl


class OllamaProvider(Provider):
    name = "ollama"
    default_base_url = "http://localhost:11434/v1"
    default_model = "llama3.2"
    api_key_env = ("OLLAMA_API_KEY",)  # none needed locally; a proxy in front may want one
    base_url_env = ("OLLAMA_BASE_URL",)
    default_models = {"embeddings": "nomic-embed-text"}
    endpoints = frozenset({"chat.completions", "completions", "embeddings", "models"})

    def adjust_body(self, endpoint: str, body: Dict[str, Any]) -> Dict[str, Any]:
        if "max_completion_tokens" in body and "max_tokens" not in body:
            body = dict(body)
            body["max_tokens"] = body.pop("max_completion_tokens")
        return body


@hookimpl
def register_providers(register):
    register(OllamaProvider)
