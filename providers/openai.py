"""OpenAI itself: https://api.openai.com/v1."""

from __future__ import annotations

import os
from typing import Any, ClassVar, Mapping, Optional, Tuple

from openai_bindings.provider import Provider

__all__ = ["OpenAIProvider"]


class OpenAIProvider(Provider):
    """The reference provider; ``OPENAI_BASE_URL`` points it at any compatible server."""

    name = "openai"
    default_base_url = "https://api.openai.com/v1"
    default_model = "gpt-4.1"
    api_key_env = ("OPENAI_API_KEY",)
    base_url_env = ("OPENAI_BASE_URL",)
    extra_params: ClassVar[Mapping[str, Tuple[str, ...]]] = {}  # the API's own, nothing more

    def __init__(
        self, *, organization: Optional[str] = None, project: Optional[str] = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.organization = organization or os.environ.get("OPENAI_ORG_ID") or None
        self.project = project or os.environ.get("OPENAI_PROJECT_ID") or None

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.organization:
            headers["OpenAI-Organization"] = self.organization
        if self.project:
            headers["OpenAI-Project"] = self.project
        return headers
