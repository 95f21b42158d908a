"""Audio: speech (text to audio bytes, streamable), transcription and translation (multipart)."""

from __future__ import annotations

from typing import Any

from .._plan import APICall, split_options
from ..validation import check_input
from ._base import Endpoints

__all__ = ["AudioEndpoints"]


class AudioEndpoints(Endpoints):
    def speech(self, input: str, **params: Any) -> Any:
        """POST /audio/speech: the result's body is the audio bytes (``response_format`` mp3 by default).

        ``stream=True`` returns a stream of audio chunks as they arrive (``for chunk in stream``),
        with ``write_to_file(path)`` to save it. ``voice`` defaults to "alloy".
        """
        check_input(input)
        options, body = split_options({"input": input, **params})
        stream = body.pop("stream", False)
        if not isinstance(stream, bool):
            raise TypeError(f"stream must be True or False, got {stream!r}")
        body.setdefault("voice", "alloy")
        self._with_model(body, "audio.speech")
        if body.get("stream_format") == "sse":  # the API's own event stream of base64 audio
            stream_kind = "events" if stream else None
        else:
            stream_kind = "bytes" if stream else None
        call = APICall(
            "POST",
            "/audio/speech",
            "audio.speech",
            json=body,
            stream=stream_kind,
            raw=stream_kind is None and body.get("stream_format") != "sse",
            key="POST /audio/speech",
        )
        return self._run(call, options)

    def transcription(self, file: Any, **params: Any) -> Any:
        """POST /audio/transcriptions: text from an audio file (a path, bytes, or a file object).

        ``stream=True`` streams ``transcript.text.delta`` events; the stream's ``text`` adds them up.
        """
        return self._form(
            "/audio/transcriptions",
            "audio.transcriptions",
            params,
            [("file", file)],
            stream="transcription",
            model=True,
        )

    def translation(self, file: Any, **params: Any) -> Any:
        """POST /audio/translations: English text from an audio file in another language."""
        return self._form("/audio/translations", "audio.translations", params, [("file", file)], model=True)
