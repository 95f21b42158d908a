"""Models: the list the server was given, one model, and deleting one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict

from ..server import Action, Reply
from .common import Call, Refused, deleted, error

if TYPE_CHECKING:
    from .common import FakeServer as FakeOpenAIServer


def model_object(name: str) -> Dict[str, Any]:
    return {"id": name, "object": "model", "created": 1686935002, "owned_by": "openai-bindings"}


def unknown_model(name: str) -> Refused:
    return Refused(error(404, f"The model '{name}' does not exist", param="model", code="model_not_found"))


def list_models(fake: FakeOpenAIServer, call: Call) -> Action:
    return Reply(body={"object": "list", "data": [model_object(name) for name in fake.models]})


def retrieve(fake: FakeOpenAIServer, call: Call) -> Action:
    name = call.args["model"]
    if fake.restrict_models and name not in fake.models:
        raise unknown_model(name)
    return Reply(body=model_object(name))


def delete(fake: FakeOpenAIServer, call: Call) -> Action:
    name = call.args["model"]
    if name not in fake.models:
        raise unknown_model(name)
    fake.models.remove(name)
    return deleted(name, "model")


ROUTES = {
    "GET /models": list_models,
    "GET /models/{model}": retrieve,
    "DELETE /models/{model}": delete,
}
