"""Built-in transports, registered through the same hooks a third-party plugin uses.

Each transport does I/O only (no JSON, no retries, no SSE) and imports its
optional library when first built. All three take ``proxy=``, ``verify=`` and
``trust_env=`` with the same meaning (see ``_network``), send a request exactly
once, stream bodies as they arrive, release connections synchronously, and pass
``openai_bindings.testing.check_transport``.
"""

from __future__ import annotations

import sys
from typing import Callable, Optional

from openai_bindings._hookimpl import hookimpl
from openai_bindings._imports import importable

from .aiohttp import AiohttpTransport
from .fetch import FetchTransport, XHRTransport
from .stdlib import StdlibTransport
from .urllib3 import Urllib3Transport

__all__ = ["AiohttpTransport", "FetchTransport", "StdlibTransport", "Urllib3Transport", "XHRTransport"]


@hookimpl
def register_transports(register: Callable[[type], None]) -> None:
    register(StdlibTransport)
    register(Urllib3Transport)
    register(AiohttpTransport)
    register(FetchTransport)
    register(XHRTransport)


@hookimpl(trylast=True)
def choose_transport(is_async: bool) -> Optional[str]:
    """The original's rule: the best HTTP stack the environment has, else the standard library.

    Under Emscripten (Pyodide), as the original picks lapis inside OpenResty, the host's own
    HTTP: ``fetch``, and for the sync client ``xhr`` (which explains itself where it cannot run).
    """
    if sys.platform == "emscripten":
        return "fetch" if is_async else "xhr"
    if is_async:
        return "aiohttp" if importable("aiohttp") else "stdlib"
    return "urllib3" if importable("urllib3") else "stdlib"
