"""Calls in the background for hosts with their own event loop (Tk, Qt, Blender, a DAW, a score editor).

Such a host cannot block on a call and has no asyncio loop to await one, as the
Finale seed library's users know: a call is either synchronous with a timeout, or
asynchronous with a callback so the dialog stays responsive. ``submit`` runs a
call of the sync client on a worker thread and returns a
``concurrent.futures.Future``; its callbacks (and a stream's, event by event) are
handed to ``dispatch(fn)`` when one is given, so they run on the host's own thread:

    client.submit("create_chat_completion", messages, stream=True,
                  stream_callback=show_piece, callback=done, error_callback=fail,
                  dispatch=lambda fn: root.after(0, fn))
"""

from __future__ import annotations

import functools
import sys
import threading
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from .errors import ClientClosedError, OpenAIError

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

__all__ = ["Background"]

Dispatch = Callable[[Callable[[], Any]], Any]
#: Calls run at once in the background per client (a host waits on a few answers, not hundreds).
WORKERS = 4
_STREAM_CALLBACKS = ("stream_callback", "chunk_callback")


class Background:
    """``client.submit(...)``: mixed into the sync client."""

    closed: bool
    _executor: Optional[ThreadPoolExecutor] = None
    _executor_lock = threading.Lock()

    def submit(
        self,
        method: Union[str, Callable[..., Any]],
        *args: Any,
        callback: Optional[Callable[[Any], Any]] = None,
        error_callback: Optional[Callable[[BaseException], Any]] = None,
        dispatch: Optional[Dispatch] = None,
        **params: Any,
    ) -> Future[Any]:
        """Run ``method(*args, **params)`` in the background; returns its Future.

        ``method`` is the name of a client method (``"create_chat_completion"``) or any callable
        (``session.send``). ``callback(result)`` / ``error_callback(error)`` run when it ends, and
        ``stream_callback`` / ``chunk_callback`` with each streamed piece, all through
        ``dispatch(fn)`` when given (``lambda fn: root.after(0, fn)`` for Tk). A ``stream=True``
        call is read to its end in the background: the Future's result is the finished stream.
        """
        function = self._resolve(method)
        for name, value in (
            ("callback", callback),
            ("error_callback", error_callback),
            ("dispatch", dispatch),
        ):
            if value is not None and not callable(value):
                raise TypeError(f"{name} must be callable, got {type(value).__name__}")
        if self.closed:
            raise ClientClosedError("this client was closed, so it submits nothing more; make a new client")
        if dispatch is not None:
            for name in _STREAM_CALLBACKS:
                if callable(params.get(name)):
                    params[name] = _dispatched(params[name], dispatch)

        def run() -> Any:
            result = function(*args, **params)
            until_done = getattr(result, "until_done", None)
            if callable(until_done) and hasattr(result, "__next__"):
                result = until_done()  # a stream: read it here, not on the host's thread
            return result

        future = self._pool().submit(run)
        if callback is not None or error_callback is not None:
            future.add_done_callback(_finisher(callback, error_callback, dispatch))
        return future

    def _resolve(self, method: Union[str, Callable[..., Any]]) -> Callable[..., Any]:
        if isinstance(method, str):
            found = getattr(self, method, None)
            if method.startswith("_") or not callable(found):
                raise AttributeError(f"{type(self).__name__} has no method {method!r} to submit")
            return found
        if not callable(method):
            raise TypeError(f"submit takes a method name or a callable, got {type(method).__name__}")
        return method

    def _pool(self) -> ThreadPoolExecutor:
        if sys.platform == "emscripten":
            raise OpenAIError("submit needs threads, which this host (WebAssembly) has not: use AsyncOpenAI")
        with self._executor_lock:
            if self._executor is None:
                from concurrent.futures import ThreadPoolExecutor

                self._executor = ThreadPoolExecutor(WORKERS, thread_name_prefix="openai-bindings")
            return self._executor

    def _shutdown_background(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


def _dispatched(function: Callable[..., Any], dispatch: Dispatch) -> Callable[..., Any]:
    # wraps: callers that look at the callback's signature (sessions pass (chunk, event) to a
    # callback that takes two) see the original's.
    @functools.wraps(function)
    def handed_over(*args: Any) -> None:
        dispatch(lambda: function(*args))

    return handed_over


def _finisher(
    callback: Optional[Callable[[Any], Any]],
    error_callback: Optional[Callable[[BaseException], Any]],
    dispatch: Optional[Dispatch],
) -> Callable[[Future], None]:
    def finish(future: Future) -> None:
        if future.cancelled():
            return
        error = future.exception()
        if error is None:
            if callback is not None:
                value = future.result()
                _run(lambda: callback(value), dispatch)
        elif error_callback is not None:
            _run(lambda: error_callback(error), dispatch)

    return finish


def _run(function: Callable[[], Any], dispatch: Optional[Dispatch]) -> None:
    if dispatch is None:
        function()
    else:
        dispatch(function)
