"""Multimodal content parts from a path, bytes or a URL, shaped exactly as each API wants them.

Chat Completions takes ``image_url`` parts (a URL or a data URL), ``file`` parts
(PDF only: a data URL in ``file_data`` plus a ``filename``) and ``input_audio``
parts (bare base64 plus ``format`` "wav" or "mp3"). The Responses API takes
``input_image`` (a URL or data URL, and a ``detail``) and ``input_file`` (a data
URL and filename, or a ``file_url``). Getting any of these slightly wrong is a
400 after an upload of megabytes, so the kind is checked here first: the MIME
type is sniffed from the bytes (PNG, JPEG, GIF, WEBP, PDF, WAV, MP3), else
guessed from the name.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import os
import urllib.parse
from dataclasses import dataclass
from typing import Any, Dict, Optional, Union

__all__ = [
    "Source",
    "audio_part",
    "content_part",
    "file_part",
    "guess_mime",
    "image_part",
    "input_file",
    "input_image",
]

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
AUDIO_FORMATS = {"audio/wav": "wav", "audio/mpeg": "mp3"}
CHAT_DETAILS = ("auto", "low", "high")
RESPONSES_DETAILS = ("auto", "low", "high", "original")

#: Spellings the platform's MIME table may use for the same thing.
_ALIASES = {
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/x-pn-wav": "audio/wav",
    "audio/mp3": "audio/mpeg",
    "audio/mpeg3": "audio/mpeg",
    "audio/x-mpeg-3": "audio/mpeg",
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "application/x-pdf": "application/pdf",
}


def _sniff(data: bytes) -> str:
    """The MIME type the first bytes announce, for the kinds the API takes; "" when none."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"RIFF") and data[8:12] == b"WAVE":
        return "audio/wav"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    # MP3: an ID3 tag, or an MPEG audio frame header (11 sync bits, layer III)
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and (data[1] & 0xE6) == 0xE2):
        return "audio/mpeg"
    return ""


def guess_mime(data: Optional[bytes] = None, name: Optional[str] = None) -> str:
    """The MIME type of ``data`` (sniffed) or, failing that, of the file ``name``; "" when unknown."""
    found = _sniff(data) if data else ""
    if not found and name:
        found = mimetypes.guess_type(name, strict=False)[0] or ""
    return _ALIASES.get(found, found)


@dataclass(frozen=True)
class _Loaded:
    """A source read: its bytes (None for an http(s) URL), the URL as given, its type and a name."""

    data: Optional[bytes]
    url: Optional[str]
    mime: str
    filename: Optional[str]

    @property
    def remote(self) -> bool:
        return self.data is None

    def base64(self) -> str:
        assert self.data is not None
        return base64.b64encode(self.data).decode("ascii")

    def data_url(self, mime: Optional[str] = None) -> str:
        if self.url is not None and self.url.startswith("data:"):
            return self.url
        return f"data:{mime or self.mime};base64,{self.base64()}"

    def describe(self) -> str:
        if self.filename:
            what = repr(self.filename)
        elif self.url:
            what = "the data URL" if self.url[:5].lower() == "data:" else "the URL"
        else:
            what = "the bytes"
        return f"{what} ({self.mime or 'unknown type'})"


def _load(src: Any, what: str, filename: Optional[str] = None) -> _Loaded:
    if isinstance(src, str) and src[:8].lower().startswith(("http://", "https://")):
        name = os.path.basename(urllib.parse.urlsplit(src).path) or None
        return _Loaded(None, src, guess_mime(None, filename or name), filename or name)
    if isinstance(src, str) and src[:5].lower() == "data:":
        mime, data = _parse_data_url(src, what)
        return _Loaded(data, src, _ALIASES.get(mime, mime) or guess_mime(data, filename), filename)
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
        if not data:
            raise ValueError(f"{what}: the bytes are empty")
        return _Loaded(data, None, guess_mime(data, filename), filename)
    if isinstance(src, (str, os.PathLike)):
        path = os.fspath(src)
        if not isinstance(path, str):
            path = os.fsdecode(path)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            raise FileNotFoundError(f"{what}: no such file {path!r}") from None
        except IsADirectoryError:
            raise IsADirectoryError(f"{what}: {path!r} is a directory, not a file") from None
        if not data:
            raise ValueError(f"{what}: {path!r} is empty")
        name = filename or os.path.basename(path)
        return _Loaded(data, None, guess_mime(data, name), name)
    raise TypeError(
        f"{what} takes a path, bytes, or an http(s) or data: URL; got {type(src).__name__}"
        + (" (read the file object and pass its bytes)" if hasattr(src, "read") else "")
    )


def _parse_data_url(url: str, what: str) -> tuple[str, bytes]:
    header, comma, payload = url[5:].partition(",")
    if not comma:
        raise ValueError(f"{what}: {url[:40]!r}... is not a data URL (data:<type>;base64,<data>)")
    fields = header.split(";")
    try:
        if "base64" in (f.strip().lower() for f in fields[1:]):
            data = base64.b64decode(payload, validate=True)
        else:
            data = urllib.parse.unquote_to_bytes(payload)
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"{what}: the data URL's base64 is malformed ({error})") from None
    return fields[0].strip().lower(), data


def _filename(loaded: _Loaded, mime: str) -> str:
    if loaded.filename:
        return loaded.filename
    extension = {"application/pdf": ".pdf"}.get(mime) or mimetypes.guess_extension(mime) or ".bin"
    return "file" + extension


def _check_detail(detail: Optional[str], allowed: tuple[str, ...], what: str) -> None:
    if detail is not None and detail not in allowed:
        raise ValueError(f"{what}: detail must be one of {', '.join(map(repr, allowed))}; got {detail!r}")


def _image_url(loaded: _Loaded, what: str) -> str:
    if loaded.remote:
        assert loaded.url is not None
        return loaded.url  # the server fetches it; an extension-less URL may well be an image
    if loaded.mime not in IMAGE_TYPES:
        raise ValueError(
            f"{what}: the API takes PNG, JPEG, GIF or WEBP images; {loaded.describe()} is not one "
            "(convert it first)"
        )
    return loaded.data_url()


def _image_part(loaded: _Loaded, detail: Optional[str]) -> Dict[str, Any]:
    image: Dict[str, Any] = {"url": _image_url(loaded, "image_part")}
    if detail is not None:
        image["detail"] = detail
    return {"type": "image_url", "image_url": image}


def _input_image(loaded: _Loaded, detail: Optional[str]) -> Dict[str, Any]:
    return {"type": "input_image", "image_url": _image_url(loaded, "input_image"), "detail": detail or "auto"}


def _file_part(loaded: _Loaded) -> Dict[str, Any]:
    if loaded.remote:
        raise ValueError(
            "file_part: Chat Completions takes a file's data, not its URL; download it first, "
            "or use input_file(url) with the Responses API, which fetches URLs"
        )
    if loaded.mime != "application/pdf":
        raise ValueError(
            f"file_part: Chat Completions accepts only PDF files; {loaded.describe()} is not one. "
            "Send a text file's contents as a text part, an image with image_part, "
            "or other files with input_file and the Responses API"
        )
    return {
        "type": "file",
        "file": {"filename": _filename(loaded, loaded.mime), "file_data": loaded.data_url()},
    }


def _input_file(loaded: _Loaded) -> Dict[str, Any]:
    if loaded.remote:
        return {"type": "input_file", "file_url": loaded.url}
    if loaded.mime.startswith("image/"):
        raise ValueError(f"input_file: {loaded.describe()} is an image; use input_image for images")
    if not loaded.mime and not loaded.filename:
        raise ValueError(
            "input_file: cannot tell what kind of file these bytes are; pass filename='name.ext'"
        )
    mime = loaded.mime or "application/octet-stream"
    return {"type": "input_file", "filename": _filename(loaded, mime), "file_data": loaded.data_url(mime)}


def _audio_part(loaded: _Loaded) -> Dict[str, Any]:
    if loaded.remote:
        raise ValueError("audio_part: the API takes audio as data, not a URL; download it first")
    audio_format = AUDIO_FORMATS.get(loaded.mime)
    if audio_format is None:
        raise ValueError(
            f"audio_part: the API takes WAV or MP3 audio; {loaded.describe()} is neither "
            "(convert it first, e.g. with ffmpeg)"
        )
    return {"type": "input_audio", "input_audio": {"data": loaded.base64(), "format": audio_format}}


# -- the public builders -------------------------------------------------------------------------


def image_part(src: Source, detail: Optional[str] = None) -> Dict[str, Any]:
    """A Chat Completions image part: ``{"type": "image_url", "image_url": {"url": ..., "detail": ...}}``.

    ``src`` is a path, bytes, an http(s) URL (sent as is, the server fetches it) or a data URL.
    """
    _check_detail(detail, CHAT_DETAILS, "image_part")
    return _image_part(_load(src, "image_part"), detail)


def input_image(src: Source, detail: Optional[str] = None) -> Dict[str, Any]:
    """A Responses input image: ``{"type": "input_image", "image_url": ..., "detail": ...}``.

    The API requires ``detail``; it defaults to "auto".
    """
    _check_detail(detail, RESPONSES_DETAILS, "input_image")
    return _input_image(_load(src, "input_image"), detail)


def file_part(src: Source, *, filename: Optional[str] = None) -> Dict[str, Any]:
    """A Chat Completions file part: ``{"type": "file", "file": {"filename": ..., "file_data": <data URL>}}``.

    Chat Completions accepts only PDF files this way, and no URLs; other files go to the
    Responses API with ``input_file``. ``filename`` names bytes (and overrides a path's name).
    """
    return _file_part(_load(src, "file_part", filename))


def input_file(src: Source, *, filename: Optional[str] = None) -> Dict[str, Any]:
    """A Responses input file: ``{"type": "input_file", "filename": ..., "file_data": <data URL>}``,
    or ``{"type": "input_file", "file_url": url}`` for an http(s) URL.

    The Responses API reads PDFs, text and code, office documents and spreadsheets; it goes
    by the name, so bytes of a kind that cannot be sniffed need ``filename=``.
    """
    return _input_file(_load(src, "input_file", filename))


def audio_part(src: Source) -> Dict[str, Any]:
    """A Chat Completions audio part: ``{"type": "input_audio", "input_audio": {"data", "format"}}``.

    The API takes WAV or MP3 as bare base64 (not a data URL), and no URLs.
    """
    return _audio_part(_load(src, "audio_part"))


def content_part(src: Source, *, responses: bool = False, filename: Optional[str] = None) -> Dict[str, Any]:
    """The right part for a file of a kind the caller does not know (the CLI's ``-a FILE``).

    Images become image parts, WAV/MP3 audio parts (Chat Completions only), anything else
    a file part; ``responses=True`` builds Responses input parts instead.
    """
    loaded = _load(src, "content_part", filename)
    if loaded.mime.startswith("image/"):
        return _input_image(loaded, None) if responses else _image_part(loaded, None)
    if loaded.mime in AUDIO_FORMATS and not responses:
        return _audio_part(loaded)
    return _input_file(loaded) if responses else _file_part(loaded)
