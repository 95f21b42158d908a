"""What the work-at-scale modules share: the Batch API's limits, and the client they drive.

The client mixes ``run_batch`` / ``bulk`` in (``_scale``) and ``batch`` / ``bulk`` drive
the client: both sides meet here, so neither imports the other's module.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["DEFAULT_CONCURRENCY", "DEFAULT_POLL_INTERVAL", "MAX_BYTES", "MAX_LINES", "Client"]

#: The Batch API's per-batch limits: requests per input file, and the file's size.
MAX_LINES = 50_000
MAX_BYTES = 200 * 1024 * 1024
#: Seconds between two looks at a batch (batches take minutes to hours).
DEFAULT_POLL_INTERVAL = 30.0
#: Requests a bulk job has in flight at once, unless told otherwise.
DEFAULT_CONCURRENCY = 8


class Client(Protocol):
    """An ``OpenAI`` or ``AsyncOpenAI`` as the job runners see it: any of its methods."""

    is_async: bool

    def __getattr__(self, name: str) -> Any: ...
