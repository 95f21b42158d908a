"""Azure OpenAI: deployment paths and api-version, or the v1 GA paths; api-key or Entra ID tokens."""

from __future__ import annotations

import os
from typing import Any, Callable, ClassVar, Dict, Mapping, Optional, Tuple, Union

from openai_bindings.client import AsyncOpenAI, OpenAI
from openai_bindings.provider import Provider, _query

__all__ = ["AsyncAzureOpenAI", "AzureOpenAI", "AzureProvider"]

#: The api-version sent with deployment-style paths when neither argument nor variable names one.
DEFAULT_API_VERSION = "2024-10-21"
#: Endpoints whose requests name a model, and so go to /openai/deployments/{deployment}/...
_DEPLOYED = frozenset(
    {
        "/chat/completions",
        "/completions",
        "/embeddings",
        "/images/generations",
        "/images/edits",
        "/images/variations",
        "/audio/speech",
        "/audio/transcriptions",
        "/audio/translations",
    }
)


class AzureProvider(Provider):
    """``AZURE_OPENAI_ENDPOINT`` (https://NAME.openai.azure.com), ``AZURE_OPENAI_API_KEY`` as ``api-key``.

    ``path_style="deployments"`` (the default) sends ``/openai/deployments/{deployment}/chat/completions
    ?api-version=...`` with the deployment defaulting to the request's model;
    ``path_style="v1"`` sends the GA ``/openai/v1/...`` paths, where the model names the deployment.
    Instead of a key, ``azure_ad_token`` takes an Entra ID token, or a callable that returns a
    fresh one for every request (``azure.identity.get_bearer_token_provider`` gives such a callable).
    """

    name = "azure"
    default_base_url = ""
    default_model = None
    api_key_env = ("AZURE_OPENAI_API_KEY",)
    base_url_env = ("AZURE_OPENAI_ENDPOINT",)
    #: Azure's "On Your Data" extension to chat completions.
    extra_params: ClassVar[Mapping[str, Tuple[str, ...]]] = {"POST /chat/completions": ("data_sources",)}
    auth_header = "api-key"
    auth_prefix = ""
    default_models: ClassVar[Dict[str, str]] = {}

    def __init__(
        self,
        *,
        api_version: Optional[str] = None,
        deployment: Optional[str] = None,
        azure_ad_token: Union[str, Callable[[], str], None] = None,
        path_style: str = "deployments",
        base_url: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        if path_style not in ("deployments", "v1"):
            raise ValueError("path_style must be 'deployments' or 'v1'")
        endpoint = base_url or os.environ.get("AZURE_OPENAI_ENDPOINT")
        if not endpoint:
            raise ValueError(
                "the azure provider needs the resource endpoint: "
                "pass base_url='https://NAME.openai.azure.com' "
                "or set AZURE_OPENAI_ENDPOINT"
            )
        super().__init__(base_url=endpoint, **kwargs)
        self.base_url = self.base_url.removesuffix("/openai/v1").removesuffix("/openai")
        self.path_style = path_style
        self.deployment = deployment
        self.api_version = (
            api_version
            or os.environ.get("OPENAI_API_VERSION")
            or (DEFAULT_API_VERSION if path_style == "deployments" else None)
        )
        self.azure_ad_token = azure_ad_token or os.environ.get("AZURE_OPENAI_AD_TOKEN") or None
        if self.azure_ad_token is not None and not (
            isinstance(self.azure_ad_token, str) or callable(self.azure_ad_token)
        ):
            raise TypeError("azure_ad_token must be a token string or a callable that returns one")

    def url(self, path: str, params: Any = None, *, model: Optional[str] = None) -> str:
        query = dict(params or {})
        if self.api_version and "api-version" not in query:
            query["api-version"] = self.api_version
        if self.path_style == "v1":
            return f"{self.base_url}/openai/v1{path}{_query(query)}"
        if path in _DEPLOYED:
            deployment = self.deployment or model
            if not deployment:
                raise ValueError(
                    "Azure needs a deployment name: pass model= (the deployment) or deployment= to the client"
                )
            return f"{self.base_url}/openai/deployments/{deployment}{path}{_query(query)}"
        return f"{self.base_url}/openai{path}{_query(query)}"

    def static_auth(self) -> bool:
        return not callable(self.azure_ad_token)  # a token provider is asked for every request

    def auth_headers(self) -> dict[str, str]:
        token = self.azure_ad_token
        if token is not None:
            value = token() if callable(token) else token
            if not isinstance(value, str) or not value:
                raise ValueError("the azure_ad_token callable returned no token")
            return {"Authorization": f"Bearer {value}"}
        return super().auth_headers()


class AzureOpenAI(OpenAI):
    """``OpenAI(provider="azure")``, by name: ``AzureOpenAI(api_key)``."""

    default_provider = "azure"


class AsyncAzureOpenAI(AsyncOpenAI):
    """``AsyncOpenAI(provider="azure")``."""

    default_provider = "azure"
