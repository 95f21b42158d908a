"""What the commands share: usage errors, the client the flags describe (with its key), plain errors."""

from __future__ import annotations

import argparse
import os
from typing import Any, Optional

from ..errors import APIConnectionError, APIStatusError, AuthenticationError
from ..keys import get_key, keys_path

__all__ = ["UsageError", "describe", "make_client"]


class UsageError(Exception):
    """A mistake in how the command was called (exit code 2)."""


def make_client(args: argparse.Namespace, *, needs_key: bool = True, provider: Optional[str] = None) -> Any:
    """The client the connection flags describe (``provider`` when the flags name none).

    The key: ``--api-key``, else the provider's environment variable, else the keys
    file (the key named after the provider, or the one ``--key NAME`` picks).
    """
    from ..client import OpenAI

    name = args.provider or provider or "openai"
    key = args.api_key or _stored_key(name, args.key)
    client = OpenAI(key, provider=name, transport=args.transport, base_url=args.base_url or None)
    found = client.provider
    local = found.base_url.startswith(("http://127.", "http://localhost", "http://[::1]"))
    if needs_key and found.key_required and not local and not found.auth_headers():
        variables = " or ".join(found.api_key_env) or "the provider's key variable"
        raise UsageError(
            f"no API key for the {found.name!r} provider: set {variables}, store one with "
            f"`openai-bindings keys set {found.name}`, or pass --api-key "
            "(a local server needs none: --base-url http://localhost:PORT/v1)"
        )
    return client


def _stored_key(provider: str, chosen: Optional[str]) -> Optional[str]:
    """The keys file's key when neither the argument nor the environment gives one."""
    if chosen:  # --key NAME is asked for by name, so it wins over the environment
        key = get_key(chosen)
        if key is None:
            raise UsageError(
                f"no key named {chosen!r} in {keys_path()}; "
                f"store one with `openai-bindings keys set {chosen}`"
            )
        return key
    from ..plugins import get_registry

    entry = get_registry().providers.get(provider)
    if entry is None:  # the client names the providers there are
        return None
    if any(os.environ.get(variable) for variable in getattr(entry.cls, "api_key_env", ())):
        return None
    return get_key(provider)


def describe(error: BaseException, args: argparse.Namespace) -> str:
    """An error as a person would write it: what happened, and what was tried."""
    if isinstance(error, AuthenticationError):
        return f"the server refused the API key ({error.status}): {error.message}"
    if isinstance(error, APIStatusError):
        return str(error)
    if isinstance(error, APIConnectionError):
        where = getattr(args, "base_url", None) or "the provider's API"
        transport = getattr(args, "transport", None) or "default"
        return f"could not get an answer from {where} over the {transport} transport: {error}"
    return str(error)
