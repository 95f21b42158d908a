"""A multipart/form-data body streamed from disk, so large uploads never sit in memory."""

from __future__ import annotations

import os
import uuid
from typing import IO, Any, Iterator, Mapping, Union

__all__ = ["MultipartFile"]

_CHUNK = 256 * 1024


class MultipartFile:
    """Form fields plus one file; re-iterable (a retry sends it again) with a known length.

    ``file`` is a path, or a binary file object that can seek (its position is
    restored before every pass).
    """

    def __init__(self, file: Union[str, os.PathLike, IO[bytes]], fields: Mapping[str, Any]) -> None:
        self.boundary = f"openai-bindings-{uuid.uuid4().hex}"
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        if isinstance(file, (str, os.PathLike)):
            path = os.fspath(file)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"upload_file: no such file {path!r}")
            self._path: Any = path
            self._handle: Any = None
            filename = os.path.basename(path)
            size = os.path.getsize(path)
        elif hasattr(file, "read") and hasattr(file, "seek"):
            self._path = None
            self._handle = file
            self._start = file.tell()
            size = file.seek(0, os.SEEK_END) - self._start
            file.seek(self._start)
            filename = os.path.basename(getattr(file, "name", "") or "upload.bin")
        else:
            raise TypeError("upload_file takes a path or a binary file object opened with 'rb'")
        head = b"".join(self._field(name, value) for name, value in fields.items() if value is not None)
        safe_name = filename.replace('"', "%22").replace("\r", "").replace("\n", "")
        head += (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{safe_name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        self._head = head
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.content_length = len(head) + size + len(self._tail)

    def _field(self, name: str, value: Any) -> bytes:
        return (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()

    def __iter__(self) -> Iterator[bytes]:
        yield self._head
        if self._path is not None:
            with open(self._path, "rb") as handle:
                yield from iter(lambda: handle.read(_CHUNK), b"")
        else:
            self._handle.seek(self._start)
            yield from iter(lambda: self._handle.read(_CHUNK), b"")
        yield self._tail

    def __repr__(self) -> str:
        return f"<MultipartFile {self.content_length} bytes>"
