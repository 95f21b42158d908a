"""A one-line progress display on stderr for long jobs (``run_batch``, ``bulk``, the ``batch`` command).

``progress=None`` (the default everywhere) shows it only when stderr is a terminal,
so a job piped into a file or run under cron writes nothing extra; ``True`` shows it
anyway (one plain line per change, at most once a second, off a terminal);
``False`` never; a callable gets each snapshot (a dict) instead, for a GUI or a log.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from typing import Any, Callable, Dict, Optional, TextIO, Union

__all__ = ["Progress", "ProgressLike", "is_terminal"]

#: What a ``progress=`` argument takes.
ProgressLike = Union[None, bool, Callable[[Dict[str, Any]], Any]]

_CLEAR_LINE = "\r\x1b[K"
#: Redraws per second at most on a terminal; plain lines off a terminal, at most one a second.
_TERMINAL_INTERVAL = 0.1
_PLAIN_INTERVAL = 1.0
_BAR = 20


def is_terminal(stream: Optional[TextIO]) -> bool:
    """Whether ``stream`` is an interactive terminal (False for closed or detached streams)."""
    try:
        return stream is not None and stream.isatty()
    except (ValueError, OSError):
        return False


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Counts of a job, drawn as one line: ``label status [#####.....] 120/500 (3 failed) 0:42``.

    ``update(**fields)`` records ``done``, ``failed``, ``total``, ``status`` and a free-form
    ``note``; the line is redrawn when something changed and the last draw is old enough.
    ``close()`` draws the final state and ends the line.
    """

    def __init__(
        self,
        label: str,
        setting: ProgressLike = None,
        *,
        total: Optional[int] = None,
        stream: Optional[TextIO] = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if setting is not None and not isinstance(setting, bool) and not callable(setting):
            raise TypeError(
                f"progress must be None (on a terminal only), True, False or a callable, got {setting!r}"
            )
        self.stream = stream if stream is not None else sys.stderr
        self.callback = setting if callable(setting) and not isinstance(setting, bool) else None
        self.terminal = is_terminal(self.stream)
        self.enabled = self.callback is not None or (self.terminal if setting is None else bool(setting))
        self.colour = self.terminal and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
        self.clock = clock
        self.started = clock()
        self.fields: Dict[str, Any] = {"label": label, "status": "", "done": 0, "failed": 0, "total": total}
        self._drawn: Optional[str] = None
        self._drawn_at = float("-inf")
        self._open_line = False

    def update(self, **fields: Any) -> None:
        self.fields.update(fields)
        if self.enabled:
            self._draw(final=False)

    def snapshot(self) -> Dict[str, Any]:
        return {**self.fields, "elapsed": self.clock() - self.started}

    def line(self) -> str:
        fields = self.fields
        done, failed, total = fields["done"], fields["failed"], fields["total"]
        parts = [str(fields["label"])]
        if fields["status"]:
            parts.append(str(fields["status"]))
        if total:
            filled = min(_BAR, int(_BAR * done / total)) if total else 0
            parts.append(f"[{'#' * filled}{'.' * (_BAR - filled)}] {done}/{total}")
        else:
            parts.append(f"{done} done")
        if failed:
            parts.append(f"({failed} failed)")
        if fields.get("note"):
            parts.append(str(fields["note"]))
        parts.append(_duration(self.clock() - self.started))
        return " ".join(parts)

    def _draw(self, final: bool) -> None:
        if self.callback is not None:
            self.callback(self.snapshot())
            return
        now = self.clock()
        interval = _TERMINAL_INTERVAL if self.terminal else _PLAIN_INTERVAL
        if not final and now - self._drawn_at < interval:
            return
        text = self.line()
        key = text.rsplit(" ", 1)[0]  # the clock alone changing is worth a redraw only on a terminal
        if not self.terminal and key == self._drawn and not final:
            return
        self._drawn, self._drawn_at = key, now
        if self.terminal:
            dim, reset = ("\x1b[2m", "\x1b[0m") if self.colour else ("", "")
            self._write(f"{_CLEAR_LINE}{dim}{text}{reset}" + ("\n" if final else ""))
            self._open_line = not final
        else:
            self._write(text + "\n")

    def close(self) -> None:
        """Draw the final state (ending the terminal line); nothing when the display is off."""
        if self.enabled:
            self._draw(final=True)
            self.enabled = False

    def _write(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):  # the terminal went away: the job goes on
            self.stream.write(text)
            self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
