"""Audio: speech (audio bytes, in chunks, or SSE), transcriptions and translations (multipart).

A transcript is the next scripted text (``reply_with``); unscripted, it is the
uploaded file's own text when it is UTF-8 (so a test can "speak" a .txt file),
else a sentence naming the file.
"""

from __future__ import annotations

import base64
import struct
from typing import TYPE_CHECKING, Any, Dict, List

from ..server import Action, Reply
from .common import Call, Refused, error, sse
from .script import Text, count_tokens, words

if TYPE_CHECKING:
    from .common import FakeServer as FakeOpenAIServer

#: Content types of the speech formats, as the API sends them.
SPEECH_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
SAMPLE_RATE = 24000
SECONDS_PER_WORD = 0.4


def _bad_format(fmt: Any) -> Refused:
    return Refused(
        error(
            400,
            f"Invalid value for 'response_format': {fmt!r}.",
            param="response_format",
            code="invalid_value",
        )
    )


def _wav(samples: int) -> bytes:
    """A real 16-bit mono WAV file of silence."""
    data = b"\x00\x00" * samples
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + len(data),
        b"WAVE",
        b"fmt ",
        16,
        1,
        1,
        SAMPLE_RATE,
        SAMPLE_RATE * 2,
        2,
        16,
        b"data",
        len(data),
    )
    return header + data


def speech_bytes(text: str, fmt: str) -> bytes:
    """Audio of a plausible length for ``text``: silence in WAV/PCM, a tagged stand-in otherwise."""
    samples = int(max(1, len(words(text))) * SECONDS_PER_WORD * SAMPLE_RATE / 10)
    if fmt == "wav":
        return _wav(samples)
    if fmt == "pcm":
        return b"\x00\x00" * samples
    magic = {"mp3": b"ID3\x04\x00\x00\x00\x00\x00\x00", "flac": b"fLaC", "opus": b"OggS", "aac": b"\xff\xf1"}[
        fmt
    ]
    return magic + b"\x00" * (samples // 4)


def speech(fake: FakeOpenAIServer, call: Call) -> Action:
    body = call.body
    text = call.require("input")
    call.require("model")
    call.require("voice")
    fmt = body.get("response_format") or "mp3"
    if fmt not in SPEECH_TYPES:
        raise _bad_format(fmt)
    audio = speech_bytes(str(text), fmt)
    size = 4096
    pieces = [audio[i : i + size] for i in range(0, len(audio), size)] or [b""]
    if body.get("stream_format") == "sse":
        tokens = count_tokens(text)
        events: List[Any] = [
            {"type": "speech.audio.delta", "audio": base64.b64encode(piece).decode()} for piece in pieces
        ]
        events.append(
            {
                "type": "speech.audio.done",
                "usage": {
                    "input_tokens": tokens,
                    "output_tokens": len(pieces),
                    "total_tokens": tokens + len(pieces),
                },
            }
        )
        return Reply(
            chunks=[sse(e, done=False) for e in events], headers={"Content-Type": "text/event-stream"}
        )
    return Reply(chunks=pieces, headers={"Content-Type": SPEECH_TYPES[fmt]})


def _transcript(fake: FakeOpenAIServer, call: Call) -> Any:
    call.require("model")
    parts = call.files.get("file")
    if not call.form or not parts:
        raise Refused(
            error(400, "Missing required parameter: 'file'.", param="file", code="missing_required_parameter")
        )
    part = parts[0]
    try:
        spoken = part.data.decode("utf-8").strip()
        if "\x00" in spoken:
            raise ValueError
    except ValueError:
        spoken = f"This is the transcript of {part.filename}."
    return fake.script.next_text(spoken or f"This is the transcript of {part.filename}.")


def _stamp(seconds: float, comma: bool) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{',' if comma else '.'}{millis:03d}"


def _formatted(call: Call, text: str, task: str) -> Reply:
    fmt = call.body.get("response_format") or "json"
    pieces = words(text)
    duration = round(max(1, len(pieces)) * SECONDS_PER_WORD, 2)
    if fmt == "text":
        return Reply(body=text + "\n", headers={"Content-Type": "text/plain; charset=utf-8"})
    if fmt in ("srt", "vtt"):
        start, end = _stamp(0, fmt == "srt"), _stamp(duration, fmt == "srt")
        cue = (
            f"1\n{start} --> {end}\n{text}\n\n"
            if fmt == "srt"
            else f"WEBVTT\n\n{start} --> {end}\n{text}\n\n"
        )
        return Reply(body=cue, headers={"Content-Type": "text/plain; charset=utf-8"})
    if fmt == "verbose_json":
        answer: Dict[str, Any] = {
            "task": task,
            "language": "english",
            "duration": duration,
            "text": text,
            "segments": [
                {
                    "id": 0,
                    "seek": 0,
                    "start": 0.0,
                    "end": duration,
                    "text": text,
                    "tokens": list(range(50364, 50364 + len(pieces))),
                    "temperature": 0.0,
                    "avg_logprob": -0.2,
                    "compression_ratio": 1.0,
                    "no_speech_prob": 0.01,
                }
            ],
            "usage": {"type": "duration", "seconds": duration},
        }
        if "word" in (call.body.get("timestamp_granularities") or ()):
            answer["words"] = [
                {
                    "word": piece.strip(),
                    "start": round(n * SECONDS_PER_WORD, 2),
                    "end": round((n + 1) * SECONDS_PER_WORD, 2),
                }
                for n, piece in enumerate(pieces)
            ]
        return Reply(body=answer)
    if fmt != "json":
        raise _bad_format(fmt)
    tokens = count_tokens(text)
    usage = {"type": "tokens", "input_tokens": tokens, "output_tokens": tokens, "total_tokens": 2 * tokens}
    return Reply(body={"text": text, "usage": usage})


def transcription(fake: FakeOpenAIServer, call: Call) -> Action:
    answer = _transcript(fake, call)
    if not isinstance(answer, Text):
        return answer
    if not call.stream:
        return _formatted(call, answer.text, "transcribe")
    tokens = count_tokens(answer.text)
    events: List[Any] = [{"type": "transcript.text.delta", "delta": piece} for piece in words(answer.text)]
    events.append(
        {
            "type": "transcript.text.done",
            "text": answer.text,
            "usage": {
                "type": "tokens",
                "input_tokens": tokens,
                "output_tokens": tokens,
                "total_tokens": 2 * tokens,
            },
        }
    )
    return Reply(
        chunks=[sse(e, done=False) for e in events],
        headers={"Content-Type": "text/event-stream; charset=utf-8"},
    )


def translation(fake: FakeOpenAIServer, call: Call) -> Action:
    answer = _transcript(fake, call)
    if not isinstance(answer, Text):
        return answer
    return _formatted(call, answer.text, "translate")


ROUTES = {
    "POST /audio/speech": speech,
    "POST /audio/transcriptions": transcription,
    "POST /audio/translations": translation,
}
