"""Run a FakeOpenAIServer in the foreground until SIGINT or SIGTERM (``openai-bindings fake-server``)."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any, Iterable, Optional, TextIO

from .core import FakeOpenAIServer

__all__ = ["serve"]


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    cors: bool = False,
    models: Optional[Iterable[str]] = None,
    out: Optional[TextIO] = None,
    stop: Optional[threading.Event] = None,
    **options: Any,
) -> int:
    """Serve until SIGINT/SIGTERM (or ``stop`` is set); the base URL is the first line of ``out``.

    Returns 0, the exit status of a clean stop. ``port=0`` picks a free port;
    the printed URL says which. Other keywords go to ``FakeOpenAIServer``.
    """
    out = out if out is not None else sys.stdout
    stop = stop if stop is not None else threading.Event()
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGINT, signal.SIGTERM):
            handlers[number] = signal.signal(number, lambda *_: stop.set())
    try:
        with FakeOpenAIServer(host=host, port=port, cors=cors, models=models, **options) as server:
            print(server.base_url, file=out, flush=True)
            while not stop.wait(0.2):
                pass
    finally:
        for number, previous in handlers.items():
            signal.signal(number, previous)
    return 0
