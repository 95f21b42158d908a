"""Images: generation (JSON), edits and variations (multipart, one or several images, a mask)."""

from __future__ import annotations

from typing import Any, List, Tuple

from ._base import Endpoints

__all__ = ["ImagesEndpoints"]


class ImagesEndpoints(Endpoints):
    def image_generation(self, **params: Any) -> Any:
        """POST /images/generations (``prompt=`` required; ``stream=True`` streams partial images)."""
        if not params.get("prompt"):
            raise ValueError("image_generation needs prompt= (a description of the image)")
        return self._json("POST", "/images/generations", "images.generations", params, stream="events")

    def image_edit(self, image: Any, prompt: str, **params: Any) -> Any:
        """POST /images/edits: edit one image, or combine several (a list), with an optional ``mask=``.

        Each image is a path, bytes, a binary file object or ``(filename, content)``; the MIME type
        comes from the name (PNG, JPEG, WEBP).
        """
        if not isinstance(prompt, str) or not prompt:
            raise ValueError("image_edit needs prompt= (what to change)")
        files = _images(image, "image_edit")
        mask = params.pop("mask", None)
        if mask is not None:
            files.append(("mask", mask))
        return self._form(
            "/images/edits", "images.edits", {"prompt": prompt, **params}, files, stream="events", model=True
        )

    def image_variation(self, image: Any, **params: Any) -> Any:
        """POST /images/variations: variations of one image (dall-e-2)."""
        files = _images(image, "image_variation")
        if len(files) != 1:
            raise ValueError("image_variation takes one image")
        return self._form("/images/variations", "images.variations", params, files)


def _images(image: Any, method: str) -> List[Tuple[str, Any]]:
    if image is None:
        raise ValueError(f"{method} needs an image (a path, bytes, or a file opened with 'rb')")
    if isinstance(image, list):
        if not image:
            raise ValueError(f"{method} needs at least one image")
        return [("image[]", each) for each in image]  # several images: the API's array field
    return [("image", image)]
