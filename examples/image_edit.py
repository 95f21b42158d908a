"""Image edits: combine several images with a prompt, or repaint inside a mask.

    python examples/image_edit.py [out.png]

Key: OPENAI_API_KEY; OPENAI_BASE_URL points it at another server.
"""

import base64
import sys
import zlib
from pathlib import Path


def png(width: int, height: int, rgba: bytes) -> bytes:
    """A small one-colour PNG, so the example needs no image files."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    rows = b"".join(b"\0" + rgba * width for _ in range(height))
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 6, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


Path("sky.png").write_bytes(png(64, 64, b"\x40\x80\xff\xff"))
Path("sand.png").write_bytes(png(64, 64, b"\xe0\xc0\x80\xff"))
Path("mask.png").write_bytes(png(64, 64, b"\0\0\0\0"))  # transparent: the whole image may change

import openai_bindings  # noqa: E402

client = openai_bindings.OpenAI()
# Several images go as image[] parts of one multipart request; the mask as its own part.
result = client.image_edit(["sky.png", "sand.png"], "A beach at dusk from these two colours", mask="mask.png")
image = base64.b64decode(result.body["data"][0]["b64_json"])
out = Path(sys.argv[1] if len(sys.argv) > 1 else "beach.png")
out.write_bytes(image)
print(f"saved {out} ({len(image)} bytes)")
