"""The clients' doors to work at scale: ``run_batch``, ``batch_results`` and ``bulk``.

Only signatures and docstrings live here, so importing the clients stays light; the
work is in ``batch.py`` and ``bulk.py``, imported on the first call.
"""

from __future__ import annotations

from typing import (
    TYPE_CHECKING,
    Any,
    Iterable,
    Mapping,
    Optional,
    Sequence,
    Union,
)

from ._jobs import DEFAULT_CONCURRENCY, DEFAULT_POLL_INTERVAL, MAX_BYTES, MAX_LINES

if TYPE_CHECKING:
    from .progress import ProgressLike

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_POLL_INTERVAL",
    "MAX_BYTES",
    "MAX_LINES",
    "BatchJobs",
    "Bulk",
]


class BatchJobs:
    """``run_batch`` and ``batch_results`` on both clients (awaitable on AsyncOpenAI)."""

    def run_batch(
        self,
        requests: Iterable[Mapping[str, Any]],
        *,
        endpoint: str = "/v1/chat/completions",
        completion_window: str = "24h",
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        progress: ProgressLike = None,
        max_lines: int = MAX_LINES,
        max_bytes: int = MAX_BYTES,
        **params: Any,
    ) -> Any:
        """Run requests through the Batch API (half the price; results within ``completion_window``).

        ``requests``: ``{"custom_id": str, "body": {...}}`` dicts (``method``/``url`` are filled
        in; the provider's default model too). All are checked before anything is uploaded.
        Returns a ``BatchResults``: every custom_id, in order, with its answer, its error, or why
        it was not run. Over ``max_lines`` requests or ``max_bytes`` of JSONL the job is split
        into several batches. ``progress``: None shows a line on stderr when it is a terminal,
        True always, False never, a callable gets each snapshot. Other keywords go to
        ``create_batch`` (``metadata=``, per-call options). Interrupted, the batches go on on
        the server: ``batch_results(ids)`` resumes (the ids are in the exception's notes, the
        INFO log and the progress line).
        """
        from .batch import run_batch

        return run_batch(
            self,
            requests,
            endpoint=endpoint,
            completion_window=completion_window,
            poll_interval=poll_interval,
            progress=progress,
            max_lines=max_lines,
            max_bytes=max_bytes,
            **params,
        )

    def batch_results(
        self,
        batch_id: Union[str, Sequence[str]],
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        progress: ProgressLike = None,
    ) -> Any:
        """The ``BatchResults`` of batches already submitted (one id, or the ids of a split job).

        Waits, polling, for any still running. The custom ids are read back from the batches'
        input files, so a job whose submitting process is gone is accounted for in full.
        """
        from .batch import batch_results

        return batch_results(self, batch_id, poll_interval=poll_interval, progress=progress)


class Bulk:
    """``bulk`` on both clients: an async iterator on AsyncOpenAI, a list on OpenAI."""

    is_async: bool

    def bulk(
        self,
        requests: Iterable[Mapping[str, Any]],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_requests_per_minute: Optional[float] = None,
        max_tokens_per_minute: Optional[float] = None,
        progress: ProgressLike = None,
        done: Optional[Iterable[str]] = None,
    ) -> Any:
        """Many requests now, within the rate limits, each item answered exactly once.

        On AsyncOpenAI, ``async for custom_id, result in client.bulk(requests)`` yields each as it
        arrives; on OpenAI, ``client.bulk(requests)`` returns the ``(custom_id, result)`` pairs as a
        list in input order (each request run in one of ``concurrency`` worker threads; no asyncio
        needed). ``requests``: ``{"custom_id": str, "body": {...}}`` dicts, with an optional
        ``"url"`` (``"/v1/embeddings"``...; chat completions by default). ``result`` is the
        ``APIResult``, or the error that is the item's outcome once retries are spent (nothing is
        raised for one item). At most ``concurrency`` requests in flight, within the requests and
        tokens per minute given (tokens estimated from each body, corrected by the usage that comes
        back) and the server's ``x-ratelimit-*`` headers and 429s. ``done``: custom ids to skip
        (resuming a run). A list is checked whole before anything is sent; a generator as read.
        """
        from .bulk import async_bulk, sync_bulk

        run = async_bulk if self.is_async else sync_bulk
        return run(
            self,
            requests,
            concurrency=concurrency,
            max_requests_per_minute=max_requests_per_minute,
            max_tokens_per_minute=max_tokens_per_minute,
            progress=progress,
            done=done,
        )
