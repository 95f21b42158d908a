"""Speech to text: a transcription (plain and streamed) and a translation, from an audio file.

    python examples/transcription.py [recording.wav]

Without an argument it makes a one-second WAV of silence to send. Key: OPENAI_API_KEY;
OPENAI_BASE_URL points it at another server.
"""

import sys
import wave
from pathlib import Path

import openai_bindings

if len(sys.argv) > 1:
    recording = Path(sys.argv[1])
else:
    recording = Path("silence.wav")
    with wave.open(str(recording), "wb") as out:  # 16 kHz, 16-bit mono
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\0\0" * 16000)

client = openai_bindings.OpenAI()
# A multipart upload, read from disk as it is sent; the MIME type comes from the file's name.
text = client.transcription(recording, response_format="text").body
print("transcription:", text.strip())

# Streamed: transcript.text.delta events as the model hears them; the stream adds them up.
stream = client.transcription(recording, stream=True)
for event in stream:
    if event.get("type") == "transcript.text.delta":
        print(event["delta"], end="", flush=True)
print("\nstreamed:", stream.text)

print("in English:", client.translation(recording).body["text"])
