"""Built-in transports, registered through the same hooks a third-party plugin uses.

Each transport does I/O only (no JSON, no retries, no SSE) and imports its
optional library when first built. All three take ``proxy=``, ``verify=`` and
``trust_env=`` with the same meaning (see ``_network``), send a request exactly
once, stream bodies as they arrive, release connections synchronously, and pass
``openai_bindings.testing.check_transport``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Callable, Optional

from openai_bindings._hookimpl import hookimpl
from openai_bindings._imports import importable
from openai_bindings.plugins import BuiltinTable

if TYPE_CHECKING:
    from .aiohttp import AiohttpTransport
    from .fetch import FetchTransport, XHRTransport
    from .stdlib import StdlibTransport
    from .urllib3 import Urllib3Transport

__all__ = ["AiohttpTransport", "FetchTransport", "StdlibTransport", "Urllib3Transport", "XHRTransport"]

#: Each built-in transport: (its name, its module here, its class). A module is imported when
#: its class is first used, so a client loads the one transport it runs on.
BUILTINS = (
    ("stdlib", "stdlib", "StdlibTransport"),
    ("urllib3", "urllib3", "Urllib3Transport"),
    ("aiohttp", "aiohttp", "AiohttpTransport"),
    ("fetch", "fetch", "FetchTransport"),
    ("xhr", "fetch", "XHRTransport"),
)
_TABLE = BuiltinTable(__name__, BUILTINS)
__getattr__ = _TABLE.attribute


@hookimpl
def register_transports(register: Callable[[Any], None]) -> None:
    _TABLE.register_all(register)


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
