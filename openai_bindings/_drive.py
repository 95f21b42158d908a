"""Running sans-IO plans: one generator, a sync driver and an async driver.

asyncio is imported only when an async step runs, so the sync client never loads it.

A plan is a generator that yields steps and receives their results (or has
their exception thrown in). The client's request/retry logic and the
sessions' send/tool-loop logic are plans, so each is written once and runs on
``OpenAI`` (blocking) and ``AsyncOpenAI`` (awaiting) alike.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Dict, Generator, Sequence, Tuple

from .http import is_awaitable

__all__ = ["Call", "Gather", "Sleep", "Step", "Thread", "run_async", "run_sync", "to_thread"]

Plan = Generator["Step", Any, Any]

#: Pyodide and WASI cannot start threads: there blocking work runs inline instead.
HAS_THREADS = sys.platform not in ("emscripten", "wasi")


async def to_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``asyncio.to_thread``, or a plain call on a host without threads (it blocks the loop
    for that call, which is the only way a blocking function can run there)."""
    if not HAS_THREADS:
        return fn(*args, **kwargs)
    import asyncio

    return await asyncio.to_thread(fn, *args, **kwargs)


class Step:
    """Something a plan needs done; each step knows how to do it both ways."""

    def run(self) -> Any:
        raise NotImplementedError

    async def arun(self) -> Any:
        raise NotImplementedError


class Call(Step):
    """Call a function; on the async driver, await what it returns when that is awaitable.

    ``asyncfn`` names a different function for the async driver (``read`` / ``aread``).
    """

    __slots__ = ("args", "asyncfn", "fn", "kwargs")

    def __init__(
        self, fn: Callable[..., Any], *args: Any, asyncfn: Callable[..., Any] | None = None, **kwargs: Any
    ) -> None:
        self.fn = fn
        self.asyncfn = asyncfn or fn
        self.args: Tuple[Any, ...] = args
        self.kwargs: Dict[str, Any] = kwargs

    def run(self) -> Any:
        return self.fn(*self.args, **self.kwargs)

    async def arun(self) -> Any:
        value = self.asyncfn(*self.args, **self.kwargs)
        if is_awaitable(value):
            value = await value
        return value


class Thread(Call):
    """A blocking function (a user's tool): on the async driver it runs in a worker thread
    (inline where the host has none), unless it is a coroutine function, which is awaited."""

    async def arun(self) -> Any:
        import inspect  # the async path: asyncio has loaded it already

        if inspect.iscoroutinefunction(self.fn):
            return await self.fn(*self.args, **self.kwargs)
        value = await to_thread(self.fn, *self.args, **self.kwargs)
        if is_awaitable(value):
            value = await value
        return value


class Sleep(Step):
    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def run(self) -> None:
        time.sleep(self.seconds)

    async def arun(self) -> None:
        import asyncio

        await asyncio.sleep(self.seconds)


class Gather(Step):
    """Several steps: one after another when sync, concurrently when async; results in order.

    Each result is ``(value, None)`` or ``(None, exception)``, so one failure loses nothing.
    """

    __slots__ = ("steps",)

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = list(steps)

    def run(self) -> list:
        results: list = []
        for step in self.steps:
            try:
                results.append((step.run(), None))
            except Exception as error:
                results.append((None, error))
        return results

    async def arun(self) -> list:
        import asyncio

        async def one(step: Step) -> tuple:
            try:
                return (await step.arun(), None)
            except Exception as error:
                return (None, error)

        return list(await asyncio.gather(*(one(step) for step in self.steps)))


def run_sync(plan: Plan) -> Any:
    """Run a plan with blocking calls."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = plan.throw(error) if error is not None else plan.send(value)
        except StopIteration as stop:
            return stop.value
        value = error = None
        try:
            value = step.run()
        except Exception as failure:  # the plan decides: handle it, or let it propagate
            error = failure


async def run_async(plan: Plan) -> Any:
    """Run a plan on the running event loop."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = plan.throw(error) if error is not None else plan.send(value)
        except StopIteration as stop:
            return stop.value
        value = error = None
        try:
            value = await step.arun()
        except Exception as failure:
            error = failure
