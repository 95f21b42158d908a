"""The provider contract: everything that differs between OpenAI-compatible vendors.

A provider is a small class registered through the ``register_providers`` hook.
The client asks it for the base URL, the key, the auth header, the URL of a path
and whether an endpoint exists; it never special-cases a vendor itself.
"""

from __future__ import annotations

import os
import urllib.parse
from typing import Any, Callable, ClassVar, Mapping, Optional, Tuple

from .errors import UnsupportedEndpointError

__all__ = ["ENDPOINTS", "Provider"]

#: Endpoint names the client uses; a provider lists the ones it offers in ``endpoints``.
ENDPOINTS = frozenset(
    {
        "chat.completions",
        "chat.completions.stored",
        "completions",
        "embeddings",
        "moderations",
        "responses",
        "models",
        "files",
        "uploads",
        "images.generations",
        "images.edits",
        "images.variations",
        "audio.speech",
        "audio.transcriptions",
        "audio.translations",
        "batches",
        "conversations",
        "vector_stores",
        "assistants",
    }
)


class Provider:
    """Base class of providers: override the class attributes, and the methods for quirks.

    Subclasses keep the base behaviour (OpenAI's) for what they do not override.
    """

    name: ClassVar[str] = "openai"
    #: Where requests go when neither ``base_url=`` nor a base-URL variable is set.
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"
    default_model: ClassVar[Optional[str]] = "gpt-4.1"
    #: Environment variables read for the key, first set wins.
    api_key_env: ClassVar[Tuple[str, ...]] = ("OPENAI_API_KEY",)
    #: Environment variables read for the base URL, first set wins.
    base_url_env: ClassVar[Tuple[str, ...]] = ()
    #: The header that carries the key, and the text before the key in it.
    auth_header: ClassVar[str] = "Authorization"
    auth_prefix: ClassVar[str] = "Bearer "
    #: Default models of other endpoints than chat and responses (which use ``default_model``).
    default_models: ClassVar[Mapping[str, str]] = {
        "embeddings": "text-embedding-3-small",
        "completions": "gpt-3.5-turbo-instruct",
        "audio.speech": "gpt-4o-mini-tts",
        "audio.transcriptions": "gpt-4o-mini-transcribe",
        "audio.translations": "whisper-1",
        "images.edits": "gpt-image-1",
    }
    #: False for servers that usually need no key (the CLI then does not insist on one).
    key_required: ClassVar[bool] = True
    #: Endpoint names offered (see ENDPOINTS); None means all of them.
    endpoints: ClassVar[Optional[frozenset[str]]] = None
    #: Parameters this provider takes beyond the OpenAI API's, by endpoint ("POST /chat/completions",
    #: or "*" for every endpoint). With a mapping (even empty), a parameter neither the API nor this
    #: provider knows is refused before sending, with a did-you-mean; None passes everything through
    #: (the default for plugin providers, and the ``compatible`` provider's choice).
    extra_params: ClassVar[Optional[Mapping[str, Tuple[str, ...]]]] = None

    def __init__(
        self,
        *,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        default_model: Optional[str] = None,
        **options: Any,
    ) -> None:
        if options:
            raise TypeError(
                f"provider {self.name!r} takes no option(s) {', '.join(sorted(options))}; "
                "check the spelling, or pick the provider that takes them"
            )
        self.api_key = api_key if api_key is not None else _first_env(self.api_key_env)
        if self.api_key is not None and not isinstance(self.api_key, str):
            raise TypeError(f"api_key must be a string, got {type(self.api_key).__name__}")
        url = base_url or _first_env(self.base_url_env) or self.default_base_url
        _check_url(url)
        self.base_url = url.rstrip("/")
        if default_model is not None:
            self.default_model = default_model  # type: ignore[misc]

    # -- what the client asks -----------------------------------------------------

    def supports(self, endpoint: str) -> bool:
        return self.endpoints is None or endpoint in self.endpoints

    def model_for(self, endpoint: str) -> Optional[str]:
        """The model sent when the caller gives none (None: send no model, the server picks)."""
        if endpoint in ("chat.completions", "responses"):
            return self.default_model
        return self.default_models.get(endpoint)

    def check_params(self, key: Optional[str], params: Mapping[str, Any]) -> None:
        """Refuse an unknown or mistyped parameter before sending (TypeError), when this provider checks."""
        extra = self.extra_params
        if extra is None or key is None or not params:
            return
        check = _CHECK_PARAMS or _load_check_params()
        check(key, params, extra=extra.get(key, ()) + extra.get("*", ()))

    def check_endpoint(self, endpoint: str) -> None:
        """Raise before anything is sent when this provider has no such endpoint."""
        if not self.supports(endpoint):
            offered = ", ".join(sorted(self.endpoints or ()))
            raise UnsupportedEndpointError(
                f"provider {self.name!r} has no {endpoint!r} endpoint (it offers: {offered}); "
                "use a provider that does, e.g. provider='openai'"
            )

    def url(
        self, path: str, params: Optional[Mapping[str, Any]] = None, *, model: Optional[str] = None
    ) -> str:
        """The full URL of an API path such as ``/chat/completions`` (``model``: the request's, if any)."""
        return self.base_url + path + _query(params)

    def static_auth(self) -> bool:
        """True when ``auth_headers()`` is the same for every request, so the client computes it once.

        A provider whose credentials change per request (a token callable) returns False.
        """
        return True

    def missing_credentials(self) -> Optional[str]:
        """Why a request would go out unauthenticated to a hosted API that needs a key, or None.

        Only for the provider's own hosted base URL: a custom ``base_url`` (a local server, a
        proxy that adds the key) stays keyless-friendly.
        """
        if self.api_key or not self.key_required or not self.default_base_url:
            return None
        if self.base_url != self.default_base_url.rstrip("/"):
            return None
        names = " or ".join(self.api_key_env) or "the provider's key variable"
        return (
            f"no API key for the {self.name!r} provider ({self.base_url}): set {names}, or pass "
            "api_key=...; for a server that needs no key, pass its base_url="
        )

    def auth_headers(self) -> dict[str, str]:
        """Headers that authenticate a request; none without a key (local servers need none)."""
        if not self.api_key:
            return {}
        return {self.auth_header: f"{self.auth_prefix}{self.api_key}"}

    def headers(self) -> dict[str, str]:
        """Extra headers this provider always sends (organisation, project, attribution)."""
        return {}

    def adjust_body(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        """Rewrite a JSON request body for a vendor quirk (the default changes nothing)."""
        return body

    def adjust_event(self, endpoint: str, event: Any) -> Any:
        """Rewrite one decoded stream event for a vendor quirk (the default changes nothing)."""
        return event

    def __repr__(self) -> str:
        key = "set" if self.api_key else "none"
        return f"<{type(self).__name__} {self.name!r} base_url={self.base_url!r} key={key}>"


def _first_env(names: Tuple[str, ...]) -> Optional[str]:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _check_url(url: Any) -> None:
    if not isinstance(url, str):
        raise TypeError(f"base_url must be a string, got {type(url).__name__}")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"base_url must start with http:// or https:// and name a host, got {url!r}")


def _query(params: Optional[Mapping[str, Any]]) -> str:
    """``?a=1&b=2`` for the parameters that are set, or "".

    Lists go as ``key[]=a&key[]=b`` and nested objects as ``key[sub]=v``, as the API reads them.
    """
    if not params:
        return ""
    pairs: list[tuple[str, str]] = []
    _flatten(params, "", pairs)
    return f"?{urllib.parse.urlencode(pairs)}" if pairs else ""


def _flatten(value: Mapping[str, Any], prefix: str, pairs: list[tuple[str, str]]) -> None:
    for key, item in value.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if item is None:
            continue
        if isinstance(item, Mapping):
            _flatten(item, name, pairs)
        elif isinstance(item, (list, tuple)):
            pairs.extend((f"{name}[]", _query_value(v)) for v in item if v is not None)
        else:
            pairs.append((name, _query_value(item)))


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


#: params.check_params, imported on first use (the parameter table is not needed at import);
#: kept here so that each call does not run an import statement.
_CHECK_PARAMS: Optional[Callable[..., None]] = None


def _load_check_params() -> Callable[..., None]:
    global _CHECK_PARAMS
    from .params import check_params

    _CHECK_PARAMS = check_params
    return check_params
