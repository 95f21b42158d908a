"""Files: upload (multipart), list, retrieve, content, delete; and the store other groups write to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional

from ..server import Action, Reply
from .common import Call, Refused, error, find, listing, now, remove

if TYPE_CHECKING:
    from .common import FakeServer as FakeOpenAIServer

PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")


def store_file(
    fake: FakeOpenAIServer, filename: str, purpose: str, data: bytes, expires_at: Optional[int] = None
) -> Dict[str, Any]:
    """Keep ``data`` as a File (uploads, batch output and error files all come through here)."""
    ident = fake.new_id("file", "-")
    created = now()
    fake.files[ident] = {
        "id": ident,
        "object": "file",
        "bytes": len(data),
        "created_at": created,
        "expires_at": expires_at,
        "filename": filename,
        "purpose": purpose,
        "status": "processed",
        "status_details": None,
    }
    fake.file_contents[ident] = data
    return fake.files[ident]


def check_purpose(purpose: Any) -> str:
    if purpose not in PURPOSES:
        allowed = ", ".join(f"'{p}'" for p in PURPOSES[:-1]) + f", and '{PURPOSES[-1]}'"
        raise Refused(
            error(
                400,
                f"Invalid value: {purpose!r}. Supported values are: {allowed}.",
                param="purpose",
                code="invalid_value",
            )
        )
    return str(purpose)


def expiry(call: Call, created: int) -> Optional[int]:
    expires_after = call.body.get("expires_after")
    if not isinstance(expires_after, dict):
        return None
    try:
        return created + int(expires_after.get("seconds"))  # type: ignore[arg-type]  # TypeError refused
    except (TypeError, ValueError):
        raise Refused(
            error(
                400, "Invalid 'expires_after[seconds]': expected an integer.", param="expires_after[seconds]"
            )
        ) from None


def upload(fake: FakeOpenAIServer, call: Call) -> Action:
    if not call.form:
        raise Refused(
            error(400, "Invalid Content-Type header (application/json), expected multipart/form-data.")
        )
    parts = call.files.get("file")
    if not parts:
        raise Refused(
            error(400, "Missing required parameter: 'file'.", param="file", code="missing_required_parameter")
        )
    purpose = check_purpose(call.require("purpose"))
    part = parts[0]
    return Reply(body=store_file(fake, part.filename, purpose, part.data, expiry(call, now())))


def get(fake: FakeOpenAIServer, ident: str) -> Dict[str, Any]:
    return find(fake.files, ident, "No such File object: {id}")


def list_files(fake: FakeOpenAIServer, call: Call) -> Action:
    purpose = call.query.get("purpose")
    items = [f for f in fake.files.values() if not purpose or f["purpose"] == purpose]
    return listing(call, items, limit=10000, high=10000)


def retrieve(fake: FakeOpenAIServer, call: Call) -> Action:
    return Reply(body=get(fake, call.args["file_id"]))


def content(fake: FakeOpenAIServer, call: Call) -> Action:
    ident = get(fake, call.args["file_id"])["id"]
    return Reply(body=fake.file_contents[ident], headers={"Content-Type": "application/octet-stream"})


def delete(fake: FakeOpenAIServer, call: Call) -> Action:
    return remove("file", get(fake, call.args["file_id"])["id"], fake.files, fake.file_contents)


ROUTES = {
    "GET /files": list_files,
    "POST /files": upload,
    "GET /files/{file_id}": retrieve,
    "DELETE /files/{file_id}": delete,
    "GET /files/{file_id}/content": content,
}
