"""Uploads: a large file sent in parts, assembled into a File in the order ``part_ids`` gives."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, Dict

from ..server import Action, Reply
from .common import Call, Refused, error, find, now
from .files import check_purpose, expiry, store_file

if TYPE_CHECKING:
    from .common import FakeServer as FakeOpenAIServer

#: The API's limits: 8 GB per Upload, 64 MB per part, an hour to complete.
MAX_BYTES = 8 * 1024**3
MAX_PART = 64 * 1024**2


def create(fake: FakeOpenAIServer, call: Call) -> Action:
    filename = call.require("filename")
    purpose = check_purpose(call.require("purpose"))
    call.require("mime_type")
    size = call.require("bytes")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_BYTES:
        raise Refused(
            error(400, f"Invalid 'bytes': expected an integer from 0 to {MAX_BYTES}.", param="bytes")
        )
    ident = fake.new_id("upload")
    created = now()
    fake.uploads[ident] = {
        "id": ident,
        "object": "upload",
        "bytes": size,
        "created_at": created,
        "expires_at": created + 3600,
        "filename": filename,
        "purpose": purpose,
        "status": "pending",
        "file": None,
    }
    fake.upload_expiry[ident] = expiry(call, created)
    return Reply(body=fake.uploads[ident])


def _pending(fake: FakeOpenAIServer, call: Call) -> Dict[str, Any]:
    ident = call.args["upload_id"]
    upload = find(fake.uploads, ident, "Upload with id '{id}' not found.")
    if upload["status"] != "pending":
        raise Refused(
            error(400, f"Upload {ident} is already {upload['status']}; no more changes are possible.")
        )
    return upload


def add_part(fake: FakeOpenAIServer, call: Call) -> Action:
    upload = _pending(fake, call)
    parts = call.files.get("data")
    if not call.form or not parts:
        raise Refused(
            error(400, "Missing required parameter: 'data'.", param="data", code="missing_required_parameter")
        )
    data = parts[0].data
    if len(data) > MAX_PART:
        raise Refused(
            error(400, f"A part may be at most {MAX_PART} bytes; this one is {len(data)}.", param="data")
        )
    ident = fake.new_id("part")
    fake.upload_parts[ident] = (upload["id"], data)
    return Reply(body={"id": ident, "object": "upload.part", "created_at": now(), "upload_id": upload["id"]})


def complete(fake: FakeOpenAIServer, call: Call) -> Action:
    upload = _pending(fake, call)
    part_ids: Any = call.require("part_ids")
    if not isinstance(part_ids, list) or not all(isinstance(p, str) for p in part_ids):
        raise Refused(error(400, "Invalid 'part_ids': expected an array of strings.", param="part_ids"))
    chunks = []
    for part_id in part_ids:
        owner, data = fake.upload_parts.get(part_id, (None, b""))
        if owner != upload["id"]:
            raise Refused(
                error(400, f"Part {part_id} does not belong to Upload {upload['id']}.", param="part_ids")
            )
        chunks.append(data)
    data = b"".join(chunks)
    if len(data) != upload["bytes"]:
        raise Refused(
            error(
                400,
                f"The number of bytes uploaded ({len(data)}) does not match the number of bytes "
                f"specified when creating the Upload ({upload['bytes']}).",
            )
        )
    md5 = call.body.get("md5")
    if md5 and md5 != hashlib.md5(data).hexdigest():
        raise Refused(error(400, "The md5 checksum does not match the uploaded bytes.", param="md5"))
    upload["file"] = store_file(
        fake, upload["filename"], upload["purpose"], data, fake.upload_expiry.get(upload["id"])
    )
    upload["status"] = "completed"
    for part_id in part_ids:
        fake.upload_parts.pop(part_id, None)
    return Reply(body=upload)


def cancel(fake: FakeOpenAIServer, call: Call) -> Action:
    upload = _pending(fake, call)
    upload["status"] = "cancelled"
    for part_id in [p for p, (owner, _) in list(fake.upload_parts.items()) if owner == upload["id"]]:
        del fake.upload_parts[part_id]
    return Reply(body=upload)


ROUTES = {
    "POST /uploads": create,
    "POST /uploads/{upload_id}/parts": add_part,
    "POST /uploads/{upload_id}/complete": complete,
    "POST /uploads/{upload_id}/cancel": cancel,
}
