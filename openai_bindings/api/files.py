"""Files and Uploads: list, get, delete, download, and uploads that stream from disk.

``upload_file`` sends one multipart request when the file fits in one (the Files
API takes up to 512 MB); a larger file goes through the Uploads API in parts of
``part_size`` bytes, each read from disk as it is sent, so memory stays bounded
whatever the file's size.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Dict, Generator, List

from .._drive import Call
from .._plan import split_options
from ..result import APIResult
from ._base import Endpoints

if TYPE_CHECKING:
    from ..multipart import FilePart

__all__ = ["FILES_LIMIT", "PART_SIZE", "FilesEndpoints"]

#: The largest file one POST /files takes; larger ones go through the Uploads API.
FILES_LIMIT = 512 * 1000 * 1000
#: The Uploads API's largest part.
PART_SIZE = 64 * 1024 * 1024


class FilesEndpoints(Endpoints):
    def files(self, **params: Any) -> Any:
        """GET /files (``purpose=``, ``limit=``, ``after=``, ``order=`` as query parameters)."""
        return self._query("GET", "/files", "files", params)

    def file(self, file_id: str, **params: Any) -> Any:
        """GET /files/{file_id}: the file's metadata."""
        return self._query("GET", "/files/{file_id}", "files", params, file_id=file_id)

    def delete_file(self, file_id: str, **params: Any) -> Any:
        """DELETE /files/{file_id}."""
        return self._query("DELETE", "/files/{file_id}", "files", params, file_id=file_id)

    def file_content(self, file_id: str, **params: Any) -> Any:
        """GET /files/{file_id}/content: the body is the file's bytes."""
        return self._query("GET", "/files/{file_id}/content", "files", params, raw=True, file_id=file_id)

    def upload_file(
        self,
        file: Any,
        purpose: str,
        *,
        part_size: int = PART_SIZE,
        single_limit: int = FILES_LIMIT,
        **params: Any,
    ) -> Any:
        """Upload a file (a path, bytes, a binary file object, or ``(filename, content)``).

        The result's body is the File object either way. Over ``single_limit`` bytes the file
        goes through the Uploads API in ``part_size`` parts (an upload that fails midway is
        cancelled).
        """
        if not isinstance(purpose, str) or not purpose:
            raise ValueError(
                "upload_file needs purpose=, e.g. 'assistants', 'batch', 'fine-tune', 'user_data'"
            )
        for name, value in (("part_size", part_size), ("single_limit", single_limit)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number of bytes >= 1, got {value!r}")
        from ..multipart import FilePart  # mimetypes and uuid load with the first upload

        part = FilePart.of(file)
        if part.size <= single_limit:
            return self._form("/files", "files", {"purpose": purpose, **params}, [("file", part)])
        return self._drive(self._upload_in_parts(part, purpose, part_size, params))

    def _upload_in_parts(
        self, part: FilePart, purpose: str, part_size: int, params: Dict[str, Any]
    ) -> Generator[Any, Any, Any]:
        options, extra = split_options(params)
        settings = options.given()
        settings.pop("extra_body", None)
        upload = yield Call(
            self.create_upload,
            filename=part.filename,
            purpose=purpose,
            bytes=part.size,
            mime_type=part.content_type,
            **extra,
            **settings,
        )
        upload_id = upload.body["id"]
        try:
            ids: List[str] = []
            for offset in range(0, part.size, part_size):
                piece = part.slice(offset, min(part_size, part.size - offset))
                added = yield Call(self.add_upload_part, upload_id, piece, **settings)
                ids.append(added.body["id"])
            done = yield Call(self.complete_upload, upload_id, ids, **settings)
        except Exception:
            with contextlib.suppress(Exception):  # the first failure is the one to report
                yield Call(self.cancel_upload, upload_id)
            raise
        file_object = (done.body or {}).get("file") if isinstance(done.body, dict) else None
        return APIResult(done.status, file_object or done.body, done.headers)

    # -- the Uploads API ---------------------------------------------------------------------------

    def create_upload(self, **params: Any) -> Any:
        """POST /uploads (``filename``, ``purpose``, ``bytes``, ``mime_type``): an upload to add parts to."""
        return self._json("POST", "/uploads", "uploads", params)

    def add_upload_part(self, upload_id: str, data: Any, **params: Any) -> Any:
        """POST /uploads/{upload_id}/parts: one part (at most 64 MB), sent as multipart ``data``."""
        return self._form(
            "/uploads/{upload_id}/parts", "uploads", params, [("data", data)], upload_id=upload_id
        )

    def complete_upload(self, upload_id: str, part_ids: List[str], **params: Any) -> Any:
        """POST /uploads/{upload_id}/complete: the parts, in order, become a File."""
        if isinstance(part_ids, str) or not isinstance(part_ids, (list, tuple)):
            raise TypeError("part_ids must be a list of part ids, in the order the parts form the file")
        body = {"part_ids": list(part_ids), **params}
        return self._json("POST", "/uploads/{upload_id}/complete", "uploads", body, upload_id=upload_id)

    def cancel_upload(self, upload_id: str, **params: Any) -> Any:
        """POST /uploads/{upload_id}/cancel."""
        return self._query("POST", "/uploads/{upload_id}/cancel", "uploads", params, upload_id=upload_id)
