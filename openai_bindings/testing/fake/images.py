"""Images: generations (JSON), edits (one or several images, an optional mask) and variations (multipart)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, Dict, List

from ..server import Action, Reply
from .common import Call, FilePart, Refused, error, now
from .script import count_tokens

if TYPE_CHECKING:
    from .common import FakeServer as FakeOpenAIServer

#: A 1x1 PNG, the image every call returns.
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
#: Where ``response_format="url"`` images are served (outside the API root, like the API's CDN).
IMAGE_PATH = "/images/fake.png"
IMAGE_TYPES = (b"\x89PNG", b"\xff\xd8\xff", b"RIFF", b"GIF8")


def _answer(fake: FakeOpenAIServer, call: Call, prompt: Any, images: int = 0) -> Reply:
    body = call.body
    count = call.int_param("n", 1, 1, 10)
    model = str(body.get("model") or "dall-e-2")
    as_url = body.get("response_format") == "url" and not model.startswith("gpt-image")
    item: Dict[str, Any] = (
        {"url": fake.url(IMAGE_PATH)} if as_url else {"b64_json": base64.b64encode(PNG_1X1).decode()}
    )
    if prompt is not None and model.startswith("dall-e-3"):
        item["revised_prompt"] = prompt
    answer: Dict[str, Any] = {"created": now(), "data": [dict(item) for _ in range(count)]}
    if model.startswith("gpt-image"):
        text = count_tokens(prompt) if prompt else 0
        answer.update(
            {
                "background": "opaque",
                "output_format": str(body.get("output_format") or "png"),
                "quality": "high" if body.get("quality") in (None, "auto") else body["quality"],
                "size": "1024x1024" if body.get("size") in (None, "auto") else body["size"],
                "usage": {
                    "input_tokens": text + 65 * images,
                    "input_tokens_details": {"text_tokens": text, "image_tokens": 65 * images},
                    "output_tokens": 272 * count,
                    "total_tokens": text + 65 * images + 272 * count,
                },
            }
        )
    return Reply(body=answer)


def _images(call: Call, field: str, required: bool = True) -> List[FilePart]:
    parts = call.files.get(field) or []
    if required and not parts:
        raise Refused(
            error(
                400, f"Missing required parameter: '{field}'.", param=field, code="missing_required_parameter"
            )
        )
    for part in parts:
        if not part.data.startswith(IMAGE_TYPES):
            raise Refused(
                error(
                    400,
                    f"Invalid file '{part.filename}': unsupported image format. Supported formats are "
                    "'image/png', 'image/jpeg', 'image/webp' and 'image/gif'.",
                    param=field,
                    code="invalid_image_format",
                )
            )
    return parts


def generate(fake: FakeOpenAIServer, call: Call) -> Action:
    return _answer(fake, call, call.require("prompt"))


def edit(fake: FakeOpenAIServer, call: Call) -> Action:
    if not call.form:
        raise Refused(
            error(400, "Invalid Content-Type header (application/json), expected multipart/form-data.")
        )
    images = _images(call, "image")
    _images(call, "mask", required=False)
    return _answer(fake, call, call.require("prompt"), len(images))


def variation(fake: FakeOpenAIServer, call: Call) -> Action:
    if not call.form:
        raise Refused(
            error(400, "Invalid Content-Type header (application/json), expected multipart/form-data.")
        )
    _images(call, "image")
    return _answer(fake, call, None, 1)


ROUTES = {
    "POST /images/generations": generate,
    "POST /images/edits": edit,
    "POST /images/variations": variation,
}
