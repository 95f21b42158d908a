"""Moderations: every category the API reports, flagged by a few trigger words."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List

from ..server import Action, Reply
from .common import Call, Refused, error

if TYPE_CHECKING:
    from .common import FakeServer as FakeOpenAIServer

#: Each category, the words that flag it, and the input types it applies to.
CATEGORIES: Dict[str, tuple] = {
    "harassment": (("idiot",), ["text"]),
    "harassment/threatening": (("or else",), ["text"]),
    "hate": (("hate",), ["text"]),
    "hate/threatening": ((), ["text"]),
    "illicit": (("steal",), ["text"]),
    "illicit/violent": (("bomb",), ["text"]),
    "self-harm": (("self-harm",), ["text", "image"]),
    "self-harm/intent": ((), ["text", "image"]),
    "self-harm/instructions": ((), ["text", "image"]),
    "sexual": ((), ["text", "image"]),
    "sexual/minors": ((), ["text"]),
    "violence": (("kill", "hurt"), ["text", "image"]),
    "violence/graphic": (("gore",), ["text", "image"]),
}


def _text_of(item: Any) -> str:
    if isinstance(item, dict):
        return str(item.get("text") or "")
    return str(item)


def create(fake: FakeOpenAIServer, call: Call) -> Action:
    body = call.body
    inputs = body.get("input")
    if inputs is None or inputs == "":
        raise Refused(
            error(
                400, "Missing required parameter: 'input'.", param="input", code="missing_required_parameter"
            )
        )
    items: List[Any] = inputs if isinstance(inputs, list) else [inputs]
    if items and all(isinstance(i, dict) for i in items):
        items = [" ".join(_text_of(i) for i in items)]  # multimodal parts are one input
    results = []
    for item in items:
        text = _text_of(item).lower()
        categories = {name: any(word in text for word in words) for name, (words, _) in CATEGORIES.items()}
        results.append(
            {
                "flagged": any(categories.values()),
                "categories": categories,
                "category_scores": {name: 0.9 if hit else 0.0001 for name, hit in categories.items()},
                "category_applied_input_types": {
                    name: (["text"] if categories[name] else []) for name in CATEGORIES
                },
            }
        )
    return Reply(
        body={
            "id": fake.new_id("modr", "-"),
            "model": body.get("model") or "omni-moderation-latest",
            "results": results,
        }
    )


ROUTES = {"POST /moderations": create}
