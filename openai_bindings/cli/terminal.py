"""What the command line does differently on a terminal: a spinner, colour, line editing.

Everything here checks for a terminal first and does nothing otherwise, so output
piped into a file or another program carries no escape sequences.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from types import TracebackType
from typing import Iterator, Optional, TextIO, Type

__all__ = ["Spinner", "colour", "line_editing"]

_CLEAR_LINE = "\r\x1b[K"
_DIM, _RESET = "\x1b[2m", "\x1b[0m"
HISTORY_LENGTH = 1000


def is_terminal(stream: Optional[TextIO]) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (ValueError, OSError):  # a closed or detached stream
        return False


def colour(stream: Optional[TextIO]) -> bool:
    """Whether escape colours may go to ``stream``: a terminal, ``NO_COLOR`` unset, TERM not dumb."""
    return is_terminal(stream) and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


class Spinner:
    """A spinner on a terminal's stderr while an answer is awaited; erased before anything is printed.

    A daemon thread redraws one line every ``interval`` seconds until the ``with``
    block ends; when the stream is not a terminal nothing is started or written.
    """

    FRAMES = "|/-\\"

    def __init__(self, stream: TextIO, text: str = "waiting for the answer", interval: float = 0.1) -> None:
        self.stream = stream
        self.text = text
        self.interval = interval
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def __enter__(self) -> Spinner:
        if is_terminal(self.stream):
            self._thread = threading.Thread(target=self._spin, name="openai-bindings-spinner", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self,
        kind: Optional[Type[BaseException]],
        error: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.stop()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=2)
        self._thread = None
        self._write(_CLEAR_LINE)

    def _spin(self) -> None:
        dim, reset = (_DIM, _RESET) if colour(self.stream) else ("", "")
        frame = 0
        while not self._stop.is_set():
            self._write(f"\r{dim}{self.FRAMES[frame % len(self.FRAMES)]} {self.text}{reset}")
            frame += 1
            self._stop.wait(self.interval)

    def _write(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):  # the terminal went away: nothing to tidy
            self.stream.write(text)
            self.stream.flush()


@contextlib.contextmanager
def line_editing(history: Path) -> Iterator[None]:
    """Readline editing for ``input()`` and a history file kept between runs (0600).

    Only for a terminal: importing readline where standard input is a pipe can
    write escape sequences to stdout, and a pipe has nothing to edit. Without
    readline (some Windows and embedded builds) input() works as before.
    """
    try:
        import readline
    except ImportError:
        yield
        return
    with contextlib.suppress(OSError):
        readline.read_history_file(history)
    readline.set_history_length(HISTORY_LENGTH)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            history.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(history.parent, 0o700)
            os.close(os.open(history, os.O_WRONLY | os.O_CREAT, 0o600))  # private from the start
            readline.write_history_file(history)
