"""Conversations and their items (the state ``create_response(conversation=...)`` appends to)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List

from ..server import Action, Reply
from .common import Call, Refused, error, find, listing, now, remove
from .responses import input_items

if TYPE_CHECKING:
    from .common import FakeServer as FakeOpenAIServer

#: The API's cap on items given at once.
MAX_ITEMS = 20


def _metadata(call: Call) -> Dict[str, Any]:
    metadata = call.body.get("metadata")
    if metadata is None:
        return {}
    if not isinstance(metadata, dict) or len(metadata) > 16:
        raise Refused(
            error(400, "Invalid 'metadata': expected an object of at most 16 pairs.", param="metadata")
        )
    return metadata


def _items(fake: FakeOpenAIServer, call: Call, required: bool) -> List[Dict[str, Any]]:
    given = call.body.get("items")
    if given is None and not required:
        return []
    if not isinstance(given, list) or (required and not given):
        raise Refused(
            error(
                400, "Missing required parameter: 'items'.", param="items", code="missing_required_parameter"
            )
        )
    if len(given) > MAX_ITEMS:
        raise Refused(
            error(
                400,
                f"Invalid 'items': array too long. Expected an array with maximum length {MAX_ITEMS}, "
                f"but got an array with length {len(given)} instead.",
                param="items",
                code="array_above_max_length",
            )
        )
    return input_items(fake, given)


def _get(fake: FakeOpenAIServer, call: Call) -> Dict[str, Any]:
    return find(fake.conversations, call.args["conversation_id"], "Conversation with id '{id}' not found.")


def create(fake: FakeOpenAIServer, call: Call) -> Action:
    metadata = _metadata(call)
    items = _items(fake, call, required=False)
    ident = fake.new_id("conv")
    fake.conversations[ident] = {
        "id": ident,
        "object": "conversation",
        "created_at": now(),
        "metadata": metadata,
    }
    fake.conversation_items[ident] = items
    return Reply(body=fake.conversations[ident])


def retrieve(fake: FakeOpenAIServer, call: Call) -> Action:
    return Reply(body=_get(fake, call))


def update(fake: FakeOpenAIServer, call: Call) -> Action:
    conversation = _get(fake, call)
    conversation["metadata"] = _metadata(call)
    return Reply(body=conversation)


def delete(fake: FakeOpenAIServer, call: Call) -> Action:
    ident = _get(fake, call)["id"]
    return remove("conversation.deleted", ident, fake.conversations, fake.conversation_items)


def list_items(fake: FakeOpenAIServer, call: Call) -> Action:
    ident = _get(fake, call)["id"]
    return listing(call, fake.conversation_items.get(ident, []), order="desc")


def add_items(fake: FakeOpenAIServer, call: Call) -> Action:
    ident = _get(fake, call)["id"]
    items = _items(fake, call, required=True)
    fake.conversation_items.setdefault(ident, []).extend(items)
    return Reply(
        body={
            "object": "list",
            "data": items,
            "first_id": items[0]["id"],
            "last_id": items[-1]["id"],
            "has_more": False,
        }
    )


def _item(fake: FakeOpenAIServer, call: Call) -> Dict[str, Any]:
    items = {str(item.get("id")): item for item in fake.conversation_items.get(_get(fake, call)["id"], [])}
    return find(items, call.args["item_id"], "Item with id '{id}' not found.")


def retrieve_item(fake: FakeOpenAIServer, call: Call) -> Action:
    return Reply(body=_item(fake, call))


def delete_item(fake: FakeOpenAIServer, call: Call) -> Action:
    item = _item(fake, call)
    fake.conversation_items[call.args["conversation_id"]].remove(item)
    return Reply(body=_get(fake, call))


ROUTES = {
    "POST /conversations": create,
    "GET /conversations/{conversation_id}": retrieve,
    "POST /conversations/{conversation_id}": update,
    "DELETE /conversations/{conversation_id}": delete,
    "GET /conversations/{conversation_id}/items": list_items,
    "POST /conversations/{conversation_id}/items": add_items,
    "GET /conversations/{conversation_id}/items/{item_id}": retrieve_item,
    "DELETE /conversations/{conversation_id}/items/{item_id}": delete_item,
}
