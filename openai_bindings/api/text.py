"""The single-purpose endpoints: legacy completions, embeddings, moderations."""

from __future__ import annotations

from typing import Any

from ..validation import check_input
from ._base import Endpoints

__all__ = ["TextEndpoints"]


class TextEndpoints(Endpoints):
    def completion(self, prompt: Any, **params: Any) -> Any:
        """POST /completions (legacy text completions). ``stream=True`` streams them."""
        check_input(prompt, "prompt")
        body = {"prompt": prompt, **params}
        return self._json("POST", "/completions", "completions", body, stream="completion", model=True)

    def embedding(self, input: Any, **params: Any) -> Any:
        """POST /embeddings."""
        check_input(input)
        return self._json("POST", "/embeddings", "embeddings", {"input": input, **params}, model=True)

    def moderation(self, input: Any, **params: Any) -> Any:
        """POST /moderations."""
        check_input(input)
        return self._json("POST", "/moderations", "moderations", {"input": input, **params}, model=True)
