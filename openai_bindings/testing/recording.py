"""RecordingTransport: a transport that keeps every Request and answers from a script, no socket.

For checking exactly what the client would send (URL, headers, body) at the
transport boundary, as a provider or plugin author wants to.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Deque, List

from ..http import Request, Response
from .server import Reply

__all__ = ["RecordingTransport"]


class RecordingTransport:
    """``OpenAI(transport=RecordingTransport())``; then look at ``transport.requests``."""

    name = "recording"

    def __init__(self, *replies: Reply) -> None:
        self.requests: List[Request] = []
        self.replies: Deque[Reply] = deque(replies)

    def reply(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def send(self, request: Request) -> Response:
        body = request.body
        if body is not None and not isinstance(body, bytes):
            body = b"".join(body)  # a streamed upload: keep what would have gone on the wire
        self.requests.append(
            Request(request.method, request.url, request.headers.copy(), body, request.timeout)
        )
        reply = self.replies.popleft() if self.replies else Reply(body={"object": "recorded"})
        content, headers = reply.encoded()
        stream: Any = reply.chunks if reply.chunks is not None else content
        return Response(status=reply.status, headers=headers, stream=stream)

    @property
    def last(self) -> Request:
        return self.requests[-1]

    def close(self) -> None:
        pass
