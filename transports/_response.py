"""http.client's response, with its header block read without the email package.

``http.client`` hands each response's header lines to ``email.parser``: a feed parser,
a policy object and a regular expression per line, about a fifth of a small request's
CPU on the standard-library transport. ``HeaderFastResponse`` reads the same lines under
the same limits and, when every line is a plain ``Name: value`` (what servers send),
builds the same ``HTTPMessage`` directly: the same pairs, in the same order, as the email
parser would have stored. Any other block (a folded line, a line without a name, an mbox
``From`` line) goes to ``http.client.parse_headers``' own parser, unchanged. Everything
else, the status line, 1xx answers, chunked bodies, keep-alive, is http.client's own code.
"""

from __future__ import annotations

import email.parser
import http.client
from typing import Any, List

__all__ = ["HeaderFastResponse", "parse_header_lines"]

# http.client's limits on a header block (its _MAXLINE, _MAXHEADERS), with its errors.
MAX_LINE = 65536
MAX_HEADERS = 100


def read_header_lines(fp: Any) -> List[bytes]:
    """The header block's lines, the blank line that ends it included, as http.client reads them."""
    lines: List[bytes] = []
    readline = fp.readline
    while True:
        line = readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("header line")
        lines.append(line)
        if len(lines) > MAX_HEADERS:
            raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")
        if line in (b"\r\n", b"\n", b""):
            return lines


def parse_header_lines(lines: List[bytes]) -> http.client.HTTPMessage:
    """The HTTPMessage ``http.client.parse_headers`` would make of these lines."""
    pairs = []
    for raw in lines:
        if raw in (b"\r\n", b"\n", b""):
            break
        line = raw.decode("iso-8859-1")
        colon = line.find(":")
        name = line[:colon]
        # The email parser's header line: a name of printable ASCII without spaces, then ':'.
        if colon <= 0 or not (name.isascii() and name.isprintable()) or " " in name:
            return _email_parse(lines)
        pairs.append((name, line[colon + 1 :].lstrip(" \t").rstrip("\r\n")))
    else:
        return _email_parse(lines)
    message = _PlainMessage()
    message._headers = pairs  # type: ignore[attr-defined]  # what set_raw() builds, pair by pair
    return message


class _PlainMessage(http.client.HTTPMessage):
    """An HTTPMessage of plain ``Name: value`` lines, whose ``get`` reads the pairs directly.

    http.client asks three headers of every response (Transfer-Encoding, Connection,
    Content-Length); the email package's ``get`` passes each value through its policy, which
    hands back a value decoded from ISO-8859-1 unchanged (only surrogates, which such a value
    cannot hold, would change it). The answer is the same, without the policy's calls.
    """

    def get(self, name: str, failobj: Any = None) -> Any:
        name = name.lower()
        for key, value in self._headers:  # type: ignore[attr-defined]
            if key.lower() == name:
                return value
        return failobj


def _email_parse(lines: List[bytes]) -> http.client.HTTPMessage:
    text = b"".join(lines).decode("iso-8859-1")
    message: http.client.HTTPMessage = email.parser.Parser(_class=http.client.HTTPMessage).parsestr(text)
    return message


class HeaderFastResponse(http.client.HTTPResponse):
    """``http.client.HTTPResponse`` whose ``begin()`` reads the headers with ``parse_header_lines``.

    ``begin()`` is http.client's own, step for step (Python 3.8-3.13 have the same), except
    for that one call.
    """

    def begin(self) -> None:
        if self.headers is not None:
            return  # already started
        while True:  # read until a final (non-100) status
            version, status, reason = self._read_status()
            if status != http.client.CONTINUE:
                break
            read_header_lines(self.fp)  # the 100 answer's headers: skipped
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.headers = self.msg = parse_header_lines(read_header_lines(self.fp))
        transfer = self.headers.get("transfer-encoding")
        self.chunked = bool(transfer and transfer.lower() == "chunked")
        if self.chunked:
            self.chunk_left = None
        self.will_close = self._check_close()
        self.length = None
        length = self.headers.get("content-length")
        if length and not self.chunked:
            try:
                self.length = int(length)
            except ValueError:
                self.length = None
            else:
                if self.length < 0:
                    self.length = None
        if status in (http.client.NO_CONTENT, http.client.NOT_MODIFIED) or 100 <= status < 200:
            self.length = 0
        if self._method == "HEAD":
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True
