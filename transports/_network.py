"""What the built-in transports share about networks: proxies, TLS trust, and how failures read.

Each transport uses its own library's proxy and TLS support; this module only
decides, once per transport, which proxy a URL goes through and which
``ssl.SSLContext`` verifies servers, so that ``proxy=``, ``verify=`` and
``trust_env=`` mean exactly the same on all three:

- ``proxy``: an ``http://[user:pass@]host:port`` URL (a bare ``host:port`` is
  taken as ``http://``). Plain-HTTP requests are forwarded by the proxy; HTTPS
  goes through ``CONNECT``. Credentials become ``Proxy-Authorization`` and are
  redacted in every ``repr`` and error message. An explicit proxy is used for
  every request and wins over the environment.
- ``trust_env`` (default True): without ``proxy``, ``HTTP_PROXY``,
  ``HTTPS_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` (any case) are honoured with
  ``urllib.request.getproxies`` / ``proxy_bypass`` semantics, read when the
  transport is built; ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` replace the default
  trust store, as OpenSSL has them do. ``trust_env=False`` ignores all of them.
- ``verify``: True (the system's trust store), False (no verification), a CA
  bundle file or directory, or an ``ssl.SSLContext`` used as it is.
"""

from __future__ import annotations

import base64
import os
import ssl
import sys
import threading
import urllib.parse
from typing import Any, Dict, NoReturn, Optional, Tuple, Union

from openai_bindings.errors import APIConnectionError, APITimeoutError

__all__ = [
    "Bounded",
    "Hold",
    "Network",
    "Proxy",
    "SocketTransport",
    "Verify",
    "is_tls_failure",
    "origin_of",
    "scrub_chain",
    "split_origin",
    "where",
]

Verify = Union[bool, str, "os.PathLike[str]", ssl.SSLContext]

_DEFAULT_PORTS = {"http": 80, "https": 443}


class Bounded(Dict[Any, Any]):
    """A cache of at most ``limit`` entries, emptied when full: routes by origin and by URL (pages
    of a listing make ever-new URLs), settings by Timeout. Lookups are plain ``dict.get``;
    ``put`` is the one place the bound is kept."""

    __slots__ = ("limit",)

    def __init__(self, limit: int = 256) -> None:
        super().__init__()
        self.limit = limit

    def put(self, key: Any, value: Any) -> Any:
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value


class Proxy:
    """A parsed proxy URL; ``str()`` and ``repr()`` never show its password."""

    __slots__ = ("auth", "host", "port", "redacted", "secrets", "source", "url")

    def __init__(self, url: str, source: str = "proxy=") -> None:
        self.source = source
        text = url.strip()
        if "://" not in text:
            text = "http://" + text  # HTTP_PROXY=host:3128, as curl reads it
        parts = urllib.parse.urlsplit(text)
        if parts.scheme.lower() != "http" or not parts.hostname:
            raise ValueError(
                f"unsupported proxy {_redact_url(text)!r} (from {source}): give an http://host:port URL "
                "(HTTPS requests go through it with CONNECT); https:// and socks proxies are not supported"
            )
        self.host: str = parts.hostname
        self.port: int = parts.port or 80
        self.url = f"http://{_netloc(self.host, self.port)}"
        self.auth: Optional[str] = None
        secrets: list[str] = []
        if parts.username is not None or parts.password is not None:
            user = urllib.parse.unquote(parts.username or "")
            password = urllib.parse.unquote(parts.password or "")
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            self.auth = f"Basic {token}"
            secrets = [token, f"{parts.username}:{parts.password}", f"{user}:{password}"]
            secrets += [p for p in (password, parts.password) if p and len(p) >= 3]
        self.secrets: Tuple[str, ...] = tuple(dict.fromkeys(secrets))
        self.redacted = _redact_url(text)

    def __repr__(self) -> str:
        return f"Proxy({self.redacted!r})"

    __str__ = __repr__


class Hold:
    """A response's hold on its connection, let go of exactly once, from any thread (a finalizer's
    too): ``let_go()`` gives the held object the first time and None after, atomically (a list's
    ``pop`` is), so no lock is paid per response. ``done``: the body was read to its end."""

    __slots__ = ("_held", "done")

    def __init__(self, held: Any) -> None:
        self._held = [held]
        self.done = False

    def let_go(self) -> Any:
        try:
            return self._held.pop()
        except IndexError:
            return None


class Network:
    """A transport's network options, resolved once: the proxy for each origin, the TLS context."""

    def __init__(
        self,
        *,
        proxy: Optional[str] = None,
        verify: Verify = True,
        trust_env: bool = True,
        ssl_context: Optional[ssl.SSLContext] = None,
    ) -> None:
        if ssl_context is not None:  # the first round's keyword, kept as an alias of verify=
            if verify is not True and verify is not ssl_context:
                raise TypeError("give verify= or its older name ssl_context=, not both")
            verify = ssl_context
        if not isinstance(verify, (bool, str, os.PathLike, ssl.SSLContext)):
            raise TypeError(
                "verify must be True, False, a CA bundle path or an ssl.SSLContext, "
                f"got {type(verify).__name__}"
            )
        if isinstance(verify, (str, os.PathLike)) and not os.path.exists(verify):
            raise ValueError(f"verify={os.fspath(verify)!r}: no such CA bundle file or directory")
        if proxy is not None and not isinstance(proxy, str):
            raise TypeError(
                f"proxy must be a URL string such as 'http://host:3128', got {type(proxy).__name__}"
            )
        self.verify = verify
        self.trust_env = bool(trust_env)
        self.proxy = Proxy(proxy) if proxy else None
        self._env: Dict[str, str] = {}
        if self.proxy is None and self.trust_env:
            self._env = {key: value for key, value in _system_proxies().items() if value}
        self._routes = Bounded()  # (scheme, host, port) -> the proxy or None
        self._context: Optional[ssl.SSLContext] = verify if isinstance(verify, ssl.SSLContext) else None
        self._lock = threading.Lock()

    # -- proxies --------------------------------------------------------------------------

    @property
    def uses_proxies(self) -> bool:
        return self.proxy is not None or any(key != "no" for key in self._env)

    def proxy_for(self, scheme: str, host: str, port: int) -> Optional[Proxy]:
        """The proxy a request to this origin goes through, or None (cached per origin)."""
        if self.proxy is not None:
            return self.proxy
        if not self._env:
            return None
        key = (scheme, host, port)
        try:
            return self._routes[key]
        except KeyError:
            pass
        chosen: Optional[Proxy] = None
        url = self._env.get(scheme) or self._env.get("all")
        if url and not _bypass(host, port, self._env):
            name = f"{scheme.upper()}_PROXY" if scheme in self._env else "ALL_PROXY"
            chosen = Proxy(url, source=f"the environment ({name})")
        return self._routes.put(key, chosen)

    def secrets(self) -> Tuple[str, ...]:
        """Every proxy credential this transport may send, for scrubbing messages."""
        if self.proxy is not None:
            return self.proxy.secrets
        return tuple(s for proxy in self._routes.values() if proxy is not None for s in proxy.secrets)

    # -- TLS --------------------------------------------------------------------------------

    @property
    def verifies(self) -> bool:
        return self.verify is not False

    def ssl_context(self) -> ssl.SSLContext:
        """The context that verifies servers (made on first use: loading the trust store is slow)."""
        context = self._context
        if context is None:
            with self._lock:
                if self._context is None:
                    self._context = _make_context(self.verify, self.trust_env)
                context = self._context
        return context

    # -- presentation -------------------------------------------------------------------------

    def describe(self) -> str:
        """The options that differ from the defaults, for a transport's repr (no secrets)."""
        parts = []
        if self.proxy is not None:
            parts.append(f"proxy={self.proxy.redacted!r}")
        if self.verify is not True:
            shown = "SSLContext" if isinstance(self.verify, ssl.SSLContext) else repr(self.verify)
            parts.append(f"verify={shown}")
        if not self.trust_env:
            parts.append("trust_env=False")
        return (" " + " ".join(parts)) if parts else ""

    def scrub(self, text: str) -> str:
        for secret in self.secrets():
            text = text.replace(secret, "***")
        return text

    def raise_for(
        self,
        error: BaseException,
        request: Any,
        proxy: Optional[Proxy],
        kind: Optional[str],
        reason: str = "",
    ) -> NoReturn:
        """Raise the library's error for a failed exchange, ``error`` chained; neither holds proxy
        credentials. ``kind``: "timeout", "tls" or "connection" (what the transport made of it);
        None raises ``error`` itself (not an I/O failure: the client's error boundary wraps it)."""
        scrub_chain(error, self.secrets())
        if kind is None:
            try:
                raise error
            finally:
                del error  # this frame is in the traceback: it must not hold the error (no cycle)
        at = where(request.method, request.url)
        if proxy is not None:
            at += f" (through the proxy {proxy.redacted})"
        reason = self.scrub(reason or _reason(error))
        if kind == "timeout":
            raise APITimeoutError(f"{at}: timed out waiting for the server ({reason})") from error
        if kind == "tls":
            raise APIConnectionError(f"{at}: {tls_advice(reason)}") from error
        raise APIConnectionError(f"{at}: {reason}") from error


def scrub_chain(error: BaseException, secrets: Tuple[str, ...]) -> None:
    """Take proxy credentials out of an exception and its chain (their ``args``, hence their repr).

    Some libraries keep what they connected with in their errors (aiohttp's connection key
    holds the proxy's credentials); the library's own message is then left without them.
    """
    if not secrets:
        return
    pending = [error]
    seen: set[int] = set()
    while pending and len(seen) < 32:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        try:
            args = current.args
            if any(secret in repr(arg) for arg in args for secret in secrets):
                current.args = tuple(_scrubbed(arg, secrets) for arg in args)
        except Exception:
            pass  # an exception whose args cannot be read or set: leave it
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def _scrubbed(value: Any, secrets: Tuple[str, ...]) -> Any:
    text = value if isinstance(value, str) else repr(value)
    if not any(secret in text for secret in secrets):
        return value
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def tls_advice(detail: str) -> str:
    return (
        f"TLS certificate verification failed ({detail}). To trust the server's CA, pass "
        "verify='/path/to/ca-bundle.pem' (or set SSL_CERT_FILE); verify=False turns verification "
        "off (unsafe)"
    )


def is_tls_failure(error: BaseException) -> bool:
    seen = 0
    current: Optional[BaseException] = error
    while current is not None and seen < 8:
        if isinstance(current, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(current):
            return True
        current = current.__cause__ or current.__context__ or _reason_attr(current)
        seen += 1
    return False


def _reason_attr(error: BaseException) -> Optional[BaseException]:
    reason = getattr(error, "reason", None)
    return reason if isinstance(reason, BaseException) else None


def _reason(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def origin_of(url: str) -> Tuple[str, str, str, int, str]:
    """``(origin, scheme, host, port, path_and_query)`` of an absolute http(s) URL."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise APIConnectionError(f"cannot send to {url!r}: the URL needs http:// or https:// and a host")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError as error:
        raise APIConnectionError(f"cannot send to {url!r}: {error}") from None
    target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    origin = f"{scheme}://{_netloc(parts.hostname, port)}"
    return origin, scheme, parts.hostname, port, target


def split_origin(url: str) -> Tuple[str, str]:
    """``("scheme://host:port", "/path?query")`` of a URL, cheaply (the per-request step);
    ``origin_of`` validates an origin once, when it is first seen."""
    start = url.find("://") + 3
    end = url.find("/", start)
    if end < 0:
        end = len(url)
    for mark in "?#":  # a query or fragment right after the host (rare): search only up to the path
        found = url.find(mark, start, end)
        if found >= 0:
            end = found
    rest = url[end:]
    if "#" in rest:
        rest = rest.split("#", 1)[0]
    if not rest.startswith("/"):
        rest = "/" + rest
    return url[:end], rest


def where(method: str, url: str) -> str:
    """``METHOD url`` for messages: no query (it may hold keys), no userinfo."""
    base = url.split("?", 1)[0].split("#", 1)[0]
    scheme, sep, rest = base.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        rest = rest.split("@", 1)[1]
    return f"{method} {scheme}{sep}{rest}"


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _redact_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    netloc = _netloc(host, parts.port) if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, f"{parts.username or ''}:***@{netloc}", parts.path, "", ""))


def _system_proxies() -> Dict[str, str]:
    """``urllib.request.getproxies()``, without importing urllib.request when it can only find
    nothing: outside macOS and Windows it reads just the ``*_proxy`` environment variables, and
    the import (12 ms, the mail and MIME modules with it) was a fifth of a cold start."""
    if sys.platform not in ("darwin", "win32") and not any(
        key[-6:].lower() == "_proxy" for key in os.environ
    ):
        return {}
    import urllib.request

    return urllib.request.getproxies()


def _bypass(host: str, port: int, proxies: Dict[str, Any]) -> bool:
    import urllib.request  # loaded already: there are proxies

    if "no" in proxies:
        bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
        return bool(bypass(f"{host}:{port}", proxies))
    try:
        return bool(urllib.request.proxy_bypass(host))  # the system's settings (macOS, Windows)
    except Exception:
        return False


def _make_context(verify: Verify, trust_env: bool) -> ssl.SSLContext:
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if isinstance(verify, (str, os.PathLike)):
        path = os.fspath(verify)
        if os.path.isdir(path):
            return ssl.create_default_context(capath=path)
        return ssl.create_default_context(cafile=path)
    if trust_env:
        return ssl.create_default_context()  # OpenSSL reads SSL_CERT_FILE / SSL_CERT_DIR itself
    # Without the environment: the trust store OpenSSL was built with, not SSL_CERT_FILE.
    paths = ssl.get_default_verify_paths()
    cafile = paths.openssl_cafile if os.path.isfile(paths.openssl_cafile) else None
    capath = paths.openssl_capath if os.path.isdir(paths.openssl_capath) else None
    if os.name == "nt" or (cafile is None and capath is None):
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=cafile, capath=capath)


class SocketTransport:
    """Base of the transports that open sockets themselves: none of them can under WebAssembly."""

    @classmethod
    def unusable_reason(cls) -> Optional[str]:
        """Why this host cannot use the transport, or None (shown by ``openai-bindings plugins``)."""
        import sys

        if sys.platform in ("emscripten", "wasi"):
            return "this host (WebAssembly) has no sockets: use the 'fetch' transport"
        return None
