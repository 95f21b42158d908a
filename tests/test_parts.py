"""Multimodal content parts from real small files of each kind, bytes, and URLs."""

from __future__ import annotations

import base64
import io
import struct
import wave
import zlib
from pathlib import Path

import pytest

import openai_bindings
from openai_bindings.parts import audio_part, content_part, file_part, image_part, input_file, input_image


def png_bytes() -> bytes:
    """A real 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 413  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz
MP3_ID3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + MP3_FRAME


def wav_bytes() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 80)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def files(tmp_path: Path) -> dict:
    made = {
        "png": ("pixel.png", png_bytes()),
        "jpeg": ("photo.jpg", JPEG),
        "gif": ("anim.gif", GIF),
        "webp": ("pic.webp", WEBP),
        "pdf": ("report.pdf", PDF),
        "wav": ("voice.wav", wav_bytes()),
        "mp3": ("song.mp3", MP3_ID3),
        "md": ("notes.md", b"# Notes\n"),
        "bmp": ("old.bmp", b"BM" + b"\x00" * 60),
        "ogg": ("sound.ogg", b"OggS" + b"\x00" * 60),
    }
    out = {}
    for kind, (name, data) in made.items():
        path = tmp_path / name
        path.write_bytes(data)
        out[kind] = (path, data)
    return out


# -- images ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "mime"),
    [("png", "image/png"), ("jpeg", "image/jpeg"), ("gif", "image/gif"), ("webp", "image/webp")],
)
def test_image_parts_from_files_of_each_kind(files, kind, mime):
    path, data = files[kind]
    url = f"data:{mime};base64,{b64(data)}"
    assert image_part(path) == {"type": "image_url", "image_url": {"url": url}}
    assert image_part(str(path), detail="low") == {
        "type": "image_url",
        "image_url": {"url": url, "detail": "low"},
    }
    assert input_image(path) == {"type": "input_image", "image_url": url, "detail": "auto"}
    assert input_image(path, detail="original")["detail"] == "original"
    assert image_part(data) == image_part(path)  # bytes are sniffed


def test_the_bytes_win_over_a_misleading_name(tmp_path):
    path = tmp_path / "pixel.dat"
    path.write_bytes(png_bytes())
    assert image_part(path)["image_url"]["url"].startswith("data:image/png;base64,")
    wrong = tmp_path / "really-a-gif.png"
    wrong.write_bytes(GIF)
    assert image_part(wrong)["image_url"]["url"].startswith("data:image/gif;base64,")


def test_image_urls_pass_through():
    url = "https://example.com/cat"
    expected = {"type": "image_url", "image_url": {"url": url, "detail": "high"}}
    assert image_part(url, detail="high") == expected
    assert input_image(url) == {"type": "input_image", "image_url": url, "detail": "auto"}
    data_url = f"data:image/png;base64,{b64(png_bytes())}"
    assert image_part(data_url) == {"type": "image_url", "image_url": {"url": data_url}}
    assert input_image(data_url)["image_url"] == data_url


def test_image_refusals(files):
    with pytest.raises(ValueError, match=r"PNG, JPEG, GIF or WEBP images; 'old.bmp' \(image/bmp\)"):
        image_part(files["bmp"][0])
    with pytest.raises(ValueError, match=r"'report.pdf' \(application/pdf\) is not one"):
        input_image(files["pdf"][0])
    with pytest.raises(ValueError, match=r"the bytes \(unknown type\)"):
        image_part(b"just some bytes")
    with pytest.raises(ValueError, match="detail must be one of 'auto', 'low', 'high'; got 'original'"):
        image_part("https://example.com/a.png", detail="original")
    with pytest.raises(ValueError, match="detail must be one of"):
        input_image("https://example.com/a.png", detail="max")
    with pytest.raises(ValueError, match=r"the data URL \(text/plain\) is not one"):
        image_part("data:text/plain,hello")


# -- files -------------------------------------------------------------------------------------


def test_file_parts_from_a_pdf(files):
    path, data = files["pdf"]
    url = f"data:application/pdf;base64,{b64(data)}"
    assert file_part(path) == {"type": "file", "file": {"filename": "report.pdf", "file_data": url}}
    assert file_part(data) == {"type": "file", "file": {"filename": "file.pdf", "file_data": url}}
    assert file_part(data, filename="q3.pdf")["file"]["filename"] == "q3.pdf"
    assert file_part(url) == {"type": "file", "file": {"filename": "file.pdf", "file_data": url}}
    assert input_file(path) == {"type": "input_file", "filename": "report.pdf", "file_data": url}


def test_input_file_takes_any_document_and_urls(files):
    path, data = files["md"]
    assert input_file(path) == {
        "type": "input_file",
        "filename": "notes.md",
        "file_data": f"data:text/markdown;base64,{b64(data)}",
    }
    assert input_file(b"a,b\n1,2\n", filename="t.csv") == {
        "type": "input_file",
        "filename": "t.csv",
        "file_data": f"data:text/csv;base64,{b64(b'a,b' + bytes([10]) + b'1,2' + bytes([10]))}",
    }
    url = "https://example.com/letters/2024ltr.pdf"
    assert input_file(url) == {"type": "input_file", "file_url": url}


def test_file_refusals(files):
    with pytest.raises(ValueError, match=r"only PDF files; 'notes.md' \(text/markdown\) is not one"):
        file_part(files["md"][0])
    with pytest.raises(ValueError, match="not its URL; download it first, or use input_file"):
        file_part("https://example.com/a.pdf")
    with pytest.raises(ValueError, match="is an image; use input_image"):
        input_file(files["png"][0])
    with pytest.raises(ValueError, match="cannot tell what kind of file these bytes are; pass filename="):
        input_file(b"\x00\x01\x02")
    assert input_file(b"\x00\x01\x02", filename="blob.bin")["file_data"].startswith(
        "data:application/octet-stream;base64,"
    )


# -- audio -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "fmt"), [("wav", "wav"), ("mp3", "mp3")])
def test_audio_parts_from_files(files, kind, fmt):
    path, data = files[kind]
    expected = {"type": "input_audio", "input_audio": {"data": b64(data), "format": fmt}}
    assert audio_part(path) == expected
    assert audio_part(data) == expected
    assert audio_part(f"data:audio/{fmt};base64,{b64(data)}") == expected


def test_a_bare_mp3_frame_is_recognised():
    assert audio_part(MP3_FRAME)["input_audio"]["format"] == "mp3"
    assert audio_part(b"\xff\xf3\x90\x64" + b"\x00" * 100)["input_audio"]["format"] == "mp3"  # MPEG-2


def test_audio_refusals(files):
    with pytest.raises(ValueError, match=r"WAV or MP3 audio; 'sound.ogg' \(audio/ogg\) is neither"):
        audio_part(files["ogg"][0])
    with pytest.raises(ValueError, match="not a URL"):
        audio_part("https://example.com/a.mp3")
    with pytest.raises(ValueError, match="is neither"):
        audio_part(files["png"][0])


# -- sources -----------------------------------------------------------------------------------


def test_bad_sources_say_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"image_part: no such file '.*missing\.png'"):
        image_part(tmp_path / "missing.png")
    with pytest.raises(IsADirectoryError, match="is a directory, not a file"):
        file_part(tmp_path)
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="is empty"):
        file_part(empty)
    with pytest.raises(ValueError, match="the bytes are empty"):
        audio_part(b"")
    with pytest.raises(TypeError, match=r"takes a path, bytes, or an http\(s\) or data: URL; got int"):
        image_part(3)  # type: ignore[arg-type]
    with open(__file__, "rb") as handle, pytest.raises(TypeError, match="read the file object"):
        input_file(handle)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="is not a data URL"):
        image_part("data:image/png;base64")
    with pytest.raises(ValueError, match="base64 is malformed"):
        image_part("data:image/png;base64,@@@")


def test_bytearray_memoryview_and_pathlike(files):
    path, data = files["png"]
    expected = image_part(data)
    assert image_part(bytearray(data)) == expected
    assert image_part(memoryview(data)) == expected
    assert image_part(Path(path)) == expected


def test_content_part_picks_the_kind(files):
    assert content_part(files["png"][0])["type"] == "image_url"
    assert content_part(files["png"][0], responses=True)["type"] == "input_image"
    assert content_part(files["wav"][0]) == audio_part(files["wav"][0])
    assert content_part(files["pdf"][0]) == file_part(files["pdf"][0])
    assert content_part(files["md"][0], responses=True) == input_file(files["md"][0])
    assert content_part(files["mp3"][0], responses=True)["type"] == "input_file"
    assert content_part("https://example.com/x.pdf", responses=True) == {
        "type": "input_file",
        "file_url": "https://example.com/x.pdf",
    }
    with pytest.raises(ValueError, match="only PDF files"):
        content_part(files["md"][0])


def test_the_contract_names_are_exported():
    for name in ("image_part", "file_part", "audio_part", "input_image", "input_file"):
        assert getattr(openai_bindings, name) is globals()[name]
        assert name in openai_bindings.__all__


def test_parts_pass_the_clients_message_check(files):
    from openai_bindings.validation import validate_message

    content = [
        {"type": "text", "text": "What is in these?"},
        image_part(files["png"][0]),
        file_part(files["pdf"][0]),
        audio_part(files["wav"][0]),
    ]
    validate_message({"role": "user", "content": content})
