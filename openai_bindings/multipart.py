"""multipart/form-data bodies streamed from disk, so large uploads never sit in memory.

Encoded as the API (and openai-python) expect: nested fields as ``key[sub]``,
list fields as ``key[]`` repeated, booleans as ``true``/``false``; several
files per body (``image[]`` for image edits); each file part with the MIME
type its name suggests. The body is re-iterable (a retry sends it again) and
its length is known up front, so no transport needs chunked encoding.
"""

from __future__ import annotations

import copy
import mimetypes
import os
import uuid
from typing import IO, Any, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

__all__ = ["FilePart", "MultipartBody", "MultipartFile", "form_fields"]

CHUNK = 256 * 1024
FileLike = Union[str, "os.PathLike[str]", bytes, IO[bytes], Tuple[Any, ...], "FilePart"]


def _escape(name: str) -> str:
    """A header parameter value that cannot break out of its quotes or its line."""
    return name.replace("\\", "\\\\").replace('"', "%22").replace("\r", "").replace("\n", "")


def _field_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def form_fields(fields: Mapping[str, Any], prefix: str = "") -> List[Tuple[str, str]]:
    """Flatten fields the way the API reads them: ``a[b]=1``, ``tags[]=x``; None is left out."""
    out: List[Tuple[str, str]] = []
    for key, value in fields.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if value is None:
            continue
        if isinstance(value, Mapping):
            out.extend(form_fields(value, name))
        elif isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, Mapping):
                    out.extend(form_fields(item, f"{name}[]"))
                elif item is not None:
                    out.append((f"{name}[]", _field_value(item)))
        else:
            out.append((name, _field_value(value)))
    return out


class FilePart:
    """One file of a form: from a path (optionally a byte range of it), bytes, or a seekable file.

    ``offset``/``length`` select part of a file on disk: the Uploads API sends a large file
    as such slices, each read from disk as it goes out.
    """

    def __init__(
        self,
        source: Any,
        filename: Optional[str] = None,
        content_type: Optional[str] = None,
        *,
        offset: int = 0,
        length: Optional[int] = None,
    ) -> None:
        self._path: Optional[str] = None
        self._bytes: Optional[bytes] = None
        self._handle: Any = None
        start = 0  # where the file's content starts (a file object may be read from its position)
        if isinstance(source, (str, os.PathLike)):
            path = os.fspath(source)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"no such file {path!r} to upload")
            self._path = path
            total = os.path.getsize(path)
            name = os.path.basename(path)
        elif isinstance(source, (bytes, bytearray, memoryview)):
            self._bytes = bytes(source)
            total = len(self._bytes)
            name = "upload.bin"
        elif hasattr(source, "read") and hasattr(source, "seek"):
            self._handle = source
            start = source.tell()
            total = source.seek(0, os.SEEK_END) - start
            source.seek(start)
            name = os.path.basename(str(getattr(source, "name", "") or "")) or "upload.bin"
        else:
            raise TypeError(
                "a file must be a path or a binary file object opened with 'rb' (or bytes, or a tuple "
                f"(filename, content[, content_type])); got {type(source).__name__}"
            )
        if not 0 <= offset <= total:
            raise ValueError(f"offset {offset} is outside the file ({total} bytes)")
        self.offset = start + offset
        self.size = min(total - offset, length) if length is not None else total - offset
        self.filename = filename or name
        self.content_type = (
            content_type or mimetypes.guess_type(self.filename)[0] or "application/octet-stream"
        )

    def slice(self, offset: int, length: int) -> FilePart:
        """The part of this file from ``offset`` (relative to its start), ``length`` bytes long."""
        if offset < 0 or length < 0 or offset + length > self.size:
            raise ValueError(f"bytes {offset}..{offset + length} are outside the file ({self.size} bytes)")
        piece = copy.copy(self)
        piece.offset = self.offset + offset
        piece.size = length
        return piece

    @classmethod
    def of(cls, value: Any) -> FilePart:
        """What users pass as a file: a FilePart, a path, bytes, a file object, or a tuple."""
        if isinstance(value, FilePart):
            return value
        if isinstance(value, tuple):
            if not 2 <= len(value) <= 3:
                raise TypeError("a file tuple is (filename, content) or (filename, content, content_type)")
            return cls(value[1], value[0], value[2] if len(value) == 3 else None)
        return cls(value)

    def chunks(self) -> Iterator[bytes]:
        if self._bytes is not None:
            yield self._bytes[self.offset : self.offset + self.size]
            return
        remaining = self.size
        if self._path is not None:
            handle: Any = open(self._path, "rb")  # noqa: SIM115 - closed below, also on early exit
        else:
            handle = self._handle
        try:
            handle.seek(self.offset)
            while remaining > 0:
                block = handle.read(min(CHUNK, remaining))
                if not block:
                    raise ValueError(f"{self.filename!r} shrank while it was being uploaded")
                remaining -= len(block)
                yield block
        finally:
            if self._path is not None:
                handle.close()


class MultipartBody:
    """Form fields plus files, streamed; ``content_type`` and ``content_length`` known up front."""

    def __init__(self, fields: Mapping[str, Any], files: Sequence[Tuple[str, Any]] = ()) -> None:
        self.boundary = f"openai-bindings-{uuid.uuid4().hex}"
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        head = b"".join(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{_escape(name)}"\r\n\r\n'.encode()
            + value.encode("utf-8")
            + b"\r\n"
            for name, value in form_fields(fields)
        )
        self._parts: List[Tuple[bytes, FilePart]] = []
        for name, value in files:
            part = FilePart.of(value)
            header = (
                f"--{self.boundary}\r\n"
                f'Content-Disposition: form-data; name="{_escape(name)}"; '
                f'filename="{_escape(part.filename)}"\r\n'
                f"Content-Type: {part.content_type}\r\n\r\n"
            ).encode()
            self._parts.append((header, part))
        self._head = head
        self._tail = f"--{self.boundary}--\r\n".encode()
        self.content_length = len(head) + sum(len(h) + p.size + 2 for h, p in self._parts) + len(self._tail)

    def __iter__(self) -> Iterator[bytes]:
        if self._head:
            yield self._head
        for header, part in self._parts:
            yield header
            yield from part.chunks()
            yield b"\r\n"
        yield self._tail

    def __repr__(self) -> str:
        return f"<MultipartBody {self.content_length} bytes, {len(self._parts)} file(s)>"


def MultipartFile(file: FileLike, fields: Mapping[str, Any]) -> MultipartBody:
    """Form fields plus one file under the name ``file`` (the Files API's form)."""
    return MultipartBody(fields, [("file", file)])
