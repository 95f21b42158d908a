"""An incremental Server-Sent Events decoder (WHATWG HTML, section 9.2), fed bytes, knowing no I/O.

Differences from the original's parser, on purpose: CR, LF and CRLF all end
lines (also split across chunks); ``data`` lines are joined with ``\\n``;
``event``, ``id`` and ``retry`` are kept; comments are skipped; lines have no
length limit. At the end of the stream, an event that lacks its closing blank
line is still delivered (``end()``): servers that close right after their last
``data:`` line are common, and losing the last event silently is the worse
failure. The spec would discard it. A leading UTF-8 byte order mark is skipped,
as the spec says; invalid UTF-8 becomes U+FFFD, as the spec says.
"""

from __future__ import annotations

import codecs
import re
from typing import Any, List, Optional

__all__ = ["SSEDecoder", "ServerSentEvent"]

_EOL = re.compile(r"\r\n|\r|\n")


class ServerSentEvent:
    """One dispatched event. ``line`` is where its first field stood (1-based), for error messages.

    A slotted class, not a dataclass: one is made per event, on the hottest path there is.
    """

    __slots__ = ("data", "event", "id", "line", "retry")

    def __init__(
        self,
        data: str,
        event: Optional[str] = None,
        id: Optional[str] = None,
        retry: Optional[int] = None,
        line: int = 0,
    ) -> None:
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry
        self.line = line

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, ServerSentEvent):
            return NotImplemented
        return (self.data, self.event, self.id, self.retry, self.line) == (
            other.data,
            other.event,
            other.id,
            other.retry,
            other.line,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"ServerSentEvent(data={self.data!r}, event={self.event!r}, id={self.id!r}, retry={self.retry!r})"
        )


class SSEDecoder:
    """Feed it bytes as they arrive; it returns the events completed so far.

    ``strings=True``: the usual event (one data line, no ``event`` or ``retry`` field) comes as
    its data ``str``, and ``lines`` holds the line of each event ``feed`` or ``end`` returned,
    in order. What a stream uses: a string is no work for the garbage collector, and a chunk
    read under load holds hundreds of events.
    """

    def __init__(self, *, strings: bool = False) -> None:
        self.strings = strings
        self.lines: List[int] = []  # with strings=True: the line of each event of the last batch
        # utf-8-sig: a byte order mark at the very start is dropped (also when split across reads).
        self._text = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._plain = False  # the start is past and no partial character waits: bytes.decode will do
        self._pieces: List[str] = []  # an unfinished line, kept in pieces so long lines stay O(n)
        self._skip_lf = False  # the previous chunk ended in CR: a leading LF belongs to it
        self._data: List[str] = []
        self._event: Optional[str] = None
        self._retry: Optional[int] = None
        self._started = 0
        self.last_event_id: Optional[str] = None
        self.line = 0  # lines seen so far

    def feed(self, chunk: bytes) -> List[Any]:
        if self.strings:
            self.lines = []
        if self._plain:
            try:
                return self._feed_text(chunk.decode("utf-8"))  # the usual chunk: whole characters
            except UnicodeDecodeError:  # a character split across chunks, or invalid bytes
                pass
        text = self._text.decode(chunk)  # the incremental decoder: the BOM, splits, U+FFFD
        pending, checking_bom = self._text.getstate()
        self._plain = not pending and not checking_bom  # plain again once it holds nothing back
        return self._feed_text(text)

    def end(self) -> List[Any]:
        """Flush at end of stream: the unfinished line, then any event still being built."""
        if self.strings:
            self.lines = []
        events = self._feed_text(self._text.decode(b"", final=True))
        if self._pieces:
            line, self._pieces = "".join(self._pieces), []
            self._line(line, events)
        self._dispatch(events)
        return events

    def _feed_text(self, text: str) -> List[Any]:
        events: List[Any] = []
        if not text:
            return events
        if self._skip_lf:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
        if "\r" not in text:  # the common case (LF only): str.split beats the regex
            lines = text.split("\n")
            rest = lines.pop()
            if lines and self._pieces:
                self._pieces.append(lines[0])
                lines[0], self._pieces = "".join(self._pieces), []
            # The hot loop: data lines and blank lines inline, every other field through _line.
            number = self.line
            for line in lines:
                number += 1
                if line[:5] == "data:":
                    if not self._started:
                        self._started = number
                    self._data.append(line[6:] if line[5:6] == " " else line[5:])
                elif not line:
                    data = self._data
                    if data:
                        if len(data) == 1 and data[0] and self._event is None and self._retry is None:
                            # The usual event, one data line: dispatched inline (what _dispatch does).
                            if self.strings:
                                events.append(data[0])
                                self.lines.append(self._started)
                            else:
                                events.append(
                                    ServerSentEvent(data[0], None, self.last_event_id, None, self._started)
                                )
                            self._data = []
                            self._started = 0
                        else:
                            self._dispatch(events)
                    else:
                        self._event = self._retry = None
                        self._started = 0
                else:
                    self.line = number - 1
                    self._line(line, events)
            self.line = number
            if rest:
                self._pieces.append(rest)
            return events
        start = 0
        for match in _EOL.finditer(text):
            piece = text[start : match.start()]
            if self._pieces:
                self._pieces.append(piece)
                piece, self._pieces = "".join(self._pieces), []
            self._line(piece, events)
            start = match.end()
        if start == len(text) and text.endswith("\r"):
            self._skip_lf = True
        if start < len(text):
            self._pieces.append(text[start:])
        return events

    def _line(self, line: str, events: List[Any]) -> None:
        self.line += 1
        if line[:5] == "data:":  # the hot path: most lines of a stream are data lines
            if not self._started:
                self._started = self.line
            self._data.append(line[6:] if line[5:6] == " " else line[5:])
            return
        if not line:
            self._dispatch(events)
            return
        if line[0] == ":":
            return  # a comment: keep-alives, ": OPENROUTER PROCESSING"
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if not self._started:
            self._started = self.line
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self.last_event_id = value
        elif name == "retry" and value.isascii() and value.isdigit():  # "⓵".isdigit() is True
            self._retry = int(value)
        # any other field name is ignored, as the spec says

    def _dispatch(self, events: List[Any]) -> None:
        data = self._data
        if data and (len(data) > 1 or data[0]):  # an empty data buffer dispatches nothing
            if self.strings:
                self.lines.append(self._started)
            events.append(
                ServerSentEvent(
                    data[0] if len(data) == 1 else "\n".join(data),
                    self._event or None,
                    self.last_event_id,
                    self._retry,
                    self._started,
                )
            )
        self._data = []
        self._event = None
        self._retry = None
        self._started = 0


def parse_all(payload: bytes) -> List[ServerSentEvent]:
    """Decode a whole stream at once (tests and recorded bodies)."""
    decoder = SSEDecoder()
    return decoder.feed(payload) + decoder.end()
