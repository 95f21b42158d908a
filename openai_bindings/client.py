"""The clients: settings and the request plan here, the endpoints by group in ``api/``.

Every endpoint method builds an ``APICall`` (a description of the request and
how to read its answer) and hands it to ``_run``. The request's whole life is
one sans-IO plan (``_plan.call_plan``) that yields actions (send, read, sleep)
and does no I/O itself; ``OpenAI`` runs them with blocking calls,
``AsyncOpenAI`` awaits them. So no endpoint, and no retry loop, is written twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import weakref
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, TypeVar, Union

from ._boundary import Guard
from ._drive import run_async, run_sync
from ._plan import _NOT_GIVEN, OPTION_NAMES, APICall, Options, Streaming, call_plan, split_options
from ._scale import BatchJobs, Bulk
from ._version import __version__
from .api import AllEndpoints
from .background import Background
from .errors import ClientClosedError, OpenAIError, PluginError
from .http import Body, Headers, Request, Timeout, TimeoutLike, is_awaitable
from .pagination import AsyncPaginator, Paginator
from .plugins import get_registry
from .provider import Provider, _query
from .transport import resolve_transport

if TYPE_CHECKING:
    from .accumulate import StreamState
    from .sessions import ChatSession, ResponsesChatSession

__all__ = ["AsyncOpenAI", "BaseClient", "OpenAI", "new"]

DEFAULT_TIMEOUT = Timeout(connect=5.0, read=600.0)
#: For the User-Agent (platform.python_version() would load the platform module at import).
_PYTHON = ".".join(map(str, sys.version_info[:3]))
DEFAULT_MAX_RETRIES = 2
#: The longest Retry-After wait honoured; a server asking for more gets its error raised at once.
DEFAULT_MAX_RETRY_WAIT = 60.0
#: The largest non-streamed answer read (a misrouted download must not fill the memory).
DEFAULT_MAX_RESPONSE_SIZE = 256 * 1024 * 1024


class BaseClient(AllEndpoints, BatchJobs, Bulk):
    """Settings and the sans-IO request plan, shared by OpenAI and AsyncOpenAI."""

    is_async = False
    #: The provider used when none is named; convenience subclasses (Gemini, AzureOpenAI...) set it.
    default_provider = "openai"

    def __init__(
        self,
        api_key: Optional[str] = None,
        *,
        provider: Union[str, Provider, type, None] = None,
        base_url: Optional[str] = None,
        transport: Any = None,
        default_model: Optional[str] = None,
        timeout: TimeoutLike = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_wait: Optional[float] = DEFAULT_MAX_RETRY_WAIT,
        max_response_size: Optional[int] = DEFAULT_MAX_RESPONSE_SIZE,
        default_headers: Optional[Mapping[str, str]] = None,
        proxy: Optional[str] = _NOT_GIVEN,
        verify: Any = _NOT_GIVEN,
        trust_env: bool = _NOT_GIVEN,
        **provider_options: Any,
    ) -> None:
        if "http_provider" in provider_options:  # the original's name for the transport
            transport = transport or provider_options.pop("http_provider")
        self.provider = _make_provider(
            provider or self.default_provider,
            api_key=api_key,
            base_url=base_url,
            default_model=default_model,
            **provider_options,
        )
        self.timeout = Timeout.coerce(timeout)
        self.max_retries = self._check_retries(max_retries)
        self.max_retry_wait = _check_positive("max_retry_wait", max_retry_wait, float)
        self.max_response_size = _check_positive("max_response_size", max_response_size, int)
        if default_headers is not None and not isinstance(default_headers, Mapping):
            raise TypeError(f"default_headers must be a dict, got {type(default_headers).__name__}")
        self.default_headers = Headers(default_headers or {})
        self._transport_spec = transport  # what the caller gave: a copy or a forked child builds from it
        # The network options the caller set (only those): a transport built here gets them.
        self._network = _network_options(proxy=proxy, verify=verify, trust_env=trust_env)
        self.closed = False
        self._connect()

    def _connect(self) -> None:
        """Build what the client holds besides its settings: the transport and what derives from them.

        Run by ``__init__``, by unpickling, and in a child process after ``os.fork()``.
        """
        self.transport = resolve_transport(
            self._transport_spec, is_async=self.is_async, provider=self.provider.name, options=self._network
        )
        secrets = (self.provider.api_key, *_proxy_secrets(self._network.get("proxy")))
        self._guard = Guard(secrets, getattr(self.transport, "name", "transport"))
        self._streams: weakref.WeakSet[Any] = weakref.WeakSet()
        self._base_headers = self._make_base_headers()
        self._missing_credentials = self.provider.missing_credentials()
        adjust = type(self.provider).adjust_event is not Provider.adjust_event
        self._adjusts_events = adjust  # only then does a stream pay a provider call per event
        # Which provider methods are the base class's, worked out once: a request then does their
        # (trivial) work inline instead of paying a method call each.
        self._custom = frozenset(
            name for name in _PER_REQUEST if getattr(type(self.provider), name) is not getattr(Provider, name)
        )
        self._static_auth = self.provider.static_auth()  # as _make_base_headers saw it
        _LIVE_CLIENTS.add(self)

    def _make_base_headers(self) -> Headers:
        """Headers every request starts from, computed once (auth too, unless it changes per request)."""
        headers = Headers(
            {
                "Accept": "application/json",
                "User-Agent": f"openai-bindings/{__version__} (transport={self.transport.name}; "
                f"python/{_PYTHON})",
            }
        )
        if self.provider.static_auth():
            headers.update(self.provider.auth_headers())
        headers.update(self.provider.headers())
        headers.update(self.default_headers)
        return headers

    # -- settings the original had as fields -------------------------------------------

    @property
    def api_key(self) -> Optional[str]:
        return self.provider.api_key

    @property
    def base_url(self) -> str:
        return self.provider.base_url

    @property
    def default_model(self) -> Optional[str]:
        return self.provider.default_model

    @property
    def _observers(self) -> Any:
        return get_registry().observers

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} provider={self.provider.name!r} base_url={self.base_url!r} "
            f"transport={self.transport.name!r}{' closed' if self.closed else ''}>"
        )

    # -- clients that travel (pickle, fork) -----------------------------------------------------

    def __getstate__(self) -> Dict[str, Any]:
        """What a pickled client carries: its settings, the API key included, never a connection.

        The transport travels as what it was made from (its name or class), so the copy builds
        its own, with fresh connections; a transport given as an instance travels only when it
        can be pickled itself.
        """
        state = {key: value for key, value in self.__dict__.items() if key not in _NOT_TRAVELLING}
        state["_transport_spec"] = self._travelling_transport()
        verify = self._network.get("verify")
        if verify is not None and not isinstance(verify, (bool, str)):
            raise TypeError(
                "this client cannot be pickled: verify= is an SSLContext, which cannot travel; pass "
                "verify= the CA bundle's path instead, so that each copy builds its own context"
            )
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._connect()

    def _travelling_transport(self) -> Any:
        spec = self._transport_spec
        if spec is None:  # chosen here (environment, hooks, what is installed): the same one there
            return getattr(self.transport, "name", None)
        if isinstance(spec, (str, type)):
            return spec
        import pickle

        try:
            pickle.dumps(spec)
        except Exception as error:
            raise TypeError(
                f"this client cannot be pickled: its transport was given as an instance "
                f"({type(spec).__name__}) that cannot be ({type(error).__name__}: {error}); pass "
                "transport= as a name (e.g. 'urllib3') or a class, so that each copy builds its own"
            ) from None
        return spec

    def _after_fork(self) -> None:
        """In a child process: leave the parent's connections and streams alone, open our own.

        A transport the client built (from a name or a class, or chosen) is rebuilt; one given
        as an instance is the caller's, and must look after a fork itself (the built-ins do).
        """
        for stream in list(self._streams):
            response = stream.response
            response._close = None  # its socket is the parent's: closing it here is not ours to do
            response.closed = True
            if not stream._finished:
                stream._cut_off(
                    ClientClosedError(
                        "this stream was opened before os.fork(); its connection belongs to the parent "
                        "process: make the request again in this one"
                    )
                )
        self.__dict__.pop("_executor", None)  # submit's worker threads stayed in the parent
        spec = self._transport_spec
        if spec is None or isinstance(spec, (str, type)):
            _FORK_ABANDONED.append(self.transport)  # never closed nor collected here: the parent's
            self._connect()
        else:
            self._streams = weakref.WeakSet()

    @staticmethod
    def _check_retries(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"max_retries must be a whole number >= 0, got {value!r}")
        return value

    # -- building requests ------------------------------------------------------------------

    def build_request(self, call: APICall, options: Optional[Options] = None) -> Request:
        """The exact Request a call sends (public so tests and tools can inspect it)."""
        return self._build_request(call, options or Options(), self._observers)

    def _build_request(self, call: APICall, options: Options, observers: Any) -> Request:
        provider = self.provider
        custom = self._custom
        endpoint = call.endpoint
        if endpoint:
            if "check_endpoint" in custom or "supports" in custom:
                provider.check_endpoint(endpoint)
            elif provider.endpoints is not None and endpoint not in provider.endpoints:
                provider.check_endpoint(endpoint)  # raises, saying what the provider offers
        if self._missing_credentials is not None:
            raise OpenAIError(self._missing_credentials)
        headers = self._base_headers.copy()
        if not self._static_auth:
            headers.update(provider.auth_headers())
        if call.headers:
            headers.update(call.headers)
        body: Body = call.body
        json_body = call.json
        if json_body is not None:
            payload = {**json_body, **options.extra_body} if options.extra_body else json_body
            if "adjust_body" in custom:
                payload = provider.adjust_body(endpoint, payload)
            body = _json_bytes(payload)
            headers["Content-Type"] = "application/json"
            headers["Content-Length"] = str(len(body))
        else:
            if call.content_type:
                headers["Content-Type"] = call.content_type
            if isinstance(body, bytes):
                headers["Content-Length"] = str(len(body))
            elif body is not None and hasattr(body, "content_length"):
                headers["Content-Length"] = str(body.content_length)
        if options.extra_headers:
            headers.update(options.extra_headers)
        params = {**call.params, **options.extra_query} if call.params else options.extra_query
        timeout = self.timeout if options.timeout is _NOT_GIVEN else Timeout.coerce(options.timeout)
        if "url" in custom:
            model = json_body.get("model") if json_body is not None else None
            # A dict of its own: a provider may add to it (the empty default is read-only).
            url = provider.url(call.path, dict(params), model=model if isinstance(model, str) else None)
        else:
            url = provider.base_url + call.path + _query(params) if params else provider.base_url + call.path
        request = Request(call.method, url, headers, body, timeout)
        prepare = observers.prepare
        if prepare is not None:
            from ._observe import Observers

            Observers.call(prepare, request=request, provider=provider.name)
        return request

    def _stream_state(self, call: APICall) -> StreamState:
        endpoint = call.endpoint
        adjust: Optional[Callable[[Any], Any]] = None
        if self._adjusts_events:
            provider = self.provider

            def adjust(event: Any) -> Any:
                return provider.adjust_event(endpoint, event)

        from .accumulate import StreamState  # with the first stream: a plain request never needs it

        return StreamState(call.stream or "events", legacy=call.legacy, adjust=adjust)

    def _plan(self, call: APICall, options: Options) -> Any:
        return call_plan(self, call, options)

    def _make_stream(self, outcome: Streaming) -> Any:
        from .streaming import AsyncStream, Stream  # loaded by _stream_state already

        cls = AsyncStream if self.is_async else Stream
        stream: Any = cls(
            outcome.response,
            outcome.state,
            outcome.callback,
            request=outcome.request,
            guard=self._guard,
            watch=outcome.watch,
            output_type=outcome.output_type,
        )
        self._streams.add(stream)  # weakly: client.close() closes the streams still open
        stream._owner = self  # strongly: a stream keeps its client (and its pool) alive, not the reverse
        return stream

    def _close_streams(self) -> list:
        """Close every stream still open; returns the awaitable closes of async-only transports."""
        pending = []
        for stream in list(self._streams):
            if not stream._finished:
                from .streaming import aborted_error  # a stream exists: the module is loaded

                stream._cut_off(aborted_error())
                close = stream.response._close
                if stream.response.closed or close is None:
                    continue
                stream.response.closed = True
                result = close()
                if is_awaitable(result):
                    pending.append(result)
        return pending

    # -- the escape hatch --------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Optional[Mapping[str, Any]] = None,
        body: Body = None,
        headers: Optional[Mapping[str, str]] = None,
        stream: bool = False,
        **options: Any,
    ) -> Any:
        """Any endpoint, through the provider's URL shaping, auth, retries, errors and hooks.

        ``path`` is relative to the base URL (``"/fine_tuning/jobs"``); ``json=`` a JSON body,
        or ``body=`` bytes (with a Content-Type in ``headers=``); ``params=`` the query (lists
        as ``key[]=``). ``stream=True`` returns a stream of decoded SSE events. ``options``
        are the per-call settings (``timeout``, ``max_retries``, ``extra_headers``, ...).
        """
        if not isinstance(method, str) or not method.isalpha():
            raise ValueError(f"method must be an HTTP method such as 'GET' or 'POST', got {method!r}")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(
                f"path must start with '/' and is relative to the base URL ({self.base_url}), got {path!r}"
            )
        if json is not None and body is not None:
            raise TypeError("pass json= or body=, not both")
        if isinstance(body, str):
            raise TypeError("body= takes bytes (or an iterable of bytes); encode the text first")
        unknown = set(options) - set(OPTION_NAMES) - {"stream_callback", "chunk_callback"}
        if unknown:
            raise TypeError(
                f"request() got unknown option(s) {', '.join(sorted(unknown))}; the options are "
                f"{', '.join(OPTION_NAMES)}; API parameters go in json= or params="
            )
        if not isinstance(stream, bool):
            raise TypeError(f"stream must be True or False, got {stream!r}")
        per_call, _ = split_options(options)
        content_type = None
        extra = dict(headers or {})
        if body is not None:
            content_type = Headers(extra).get("content-type") or "application/octet-stream"
        if json is not None and not isinstance(json, dict):
            body = _json_bytes(json)
            content_type = "application/json"
        call = APICall(
            method.upper(),
            path,
            "",
            json=json if isinstance(json, dict) else None,
            params=dict(params) if params else None,
            body=body,
            content_type=content_type,
            stream="events" if stream else None,
            headers=extra or None,
        )
        return self._run(call, per_call)

    # -- sessions and pages -------------------------------------------------------------------

    def new_chat_session(self, messages: Any = None, **options: Any) -> ChatSession:
        """A ChatSession: history kept locally, options sent with every request."""
        from .sessions import ChatSession

        return ChatSession(self, messages, **options)

    def new_responses_chat_session(self, **options: Any) -> ResponsesChatSession:
        """A ResponsesChatSession: state kept by the server through previous_response_id."""
        from .sessions import ResponsesChatSession

        return ResponsesChatSession(self, **options)

    def paginate(self, list_method: Callable[..., Any], **params: Any) -> Any:
        """Every item of a listing endpoint, across pages: ``client.paginate(client.files, limit=100)``."""
        if getattr(list_method, "__self__", None) is not self:
            raise TypeError("paginate takes a listing method of this client, e.g. client.files")
        cls = AsyncPaginator if self.is_async else Paginator
        return cls(list_method, params)


# To a type checker the clients' calls are those of the generated stub _typing.pyi (typed results,
# Stream for stream=True, coroutines on AsyncOpenAI); at run time they are api/*.py's, unchanged.
if TYPE_CHECKING:
    from ._typing import AsyncClient as _AsyncCalls
    from ._typing import SyncClient as _SyncCalls
else:
    _SyncCalls = _AsyncCalls = BaseClient
_Client = TypeVar("_Client", bound=BaseClient)


class OpenAI(_SyncCalls, Background):
    """The sync client. ``with OpenAI() as client:`` closes its connections at the end.

    ``submit(...)`` runs a call in the background for hosts with their own event loop.
    """

    is_async = False

    def _run(self, call: APICall, options: Options) -> Any:
        outcome = run_sync(call_plan(self, call, options))
        if outcome.__class__ is Streaming:
            stream = self._make_stream(outcome)
            return stream.until_done() if outcome.callback is not None else stream
        return outcome

    def close(self) -> None:
        """Close open streams and pooled connections; later calls raise ClientClosedError."""
        if self.closed:
            return
        self.closed = True
        self._shutdown_background()
        for pending in self._close_streams():
            _discard(pending)
        close = getattr(self.transport, "close", None)
        if close is not None:
            result = close()
            if is_awaitable(result):
                _discard(result)

    def __del__(self) -> None:
        # A client dropped without close() lets go of its pooled connections quietly.
        if not getattr(self, "closed", True):
            with contextlib.suppress(Exception):
                self.close()

    def __enter__(self: _Client) -> _Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncOpenAI(_AsyncCalls):
    """The async client: the same methods, awaitable; ``async with AsyncOpenAI() as client:``."""

    is_async = True

    async def _run(self, call: APICall, options: Options) -> Any:
        outcome = await run_async(call_plan(self, call, options))
        if outcome.__class__ is Streaming:
            stream = self._make_stream(outcome)
            return await stream.until_done() if outcome.callback is not None else stream
        return outcome

    async def close(self) -> None:
        """Close open streams and pooled connections; later calls raise ClientClosedError."""
        if self.closed:
            return
        self.closed = True
        for pending in self._close_streams():
            await pending
        close = getattr(self.transport, "close", None)
        if close is not None:
            result = close()
            if is_awaitable(result):
                await result

    aclose = close

    async def __aenter__(self: _Client) -> _Client:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


#: What a pickled client leaves behind: what ``_connect`` builds afresh, and the worker threads
#: of ``submit`` (made again on first use).
_NOT_TRAVELLING = frozenset(
    {
        "transport",
        "_guard",
        "_streams",
        "_base_headers",
        "_missing_credentials",
        "_adjusts_events",
        "_executor",
    }
)
#: Every client alive, so that a forked child can give each its own connections.
_LIVE_CLIENTS: weakref.WeakSet[BaseClient] = weakref.WeakSet()
#: The parent's transports in a forked child: kept, so that nothing here ever closes their sockets.
_FORK_ABANDONED: List[Any] = []


def _reconnect_after_fork() -> None:
    for client in list(_LIVE_CLIENTS):
        with contextlib.suppress(Exception):  # one client that cannot rebuild must not break the child
            client._after_fork()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_reconnect_after_fork)


def new(api_key: Optional[str] = None, *args: Any, **kwargs: Any) -> OpenAI:
    """The original's ``openai.new(api_key, config)``: a sync client."""
    if args and isinstance(args[0], Mapping):  # new(key, {"http_provider": ...}) as in Lua
        kwargs = {**dict(args[0]), **kwargs}
        args = args[1:]
    if args:
        raise TypeError("new() takes the API key, then keyword arguments (base_url=, transport=, ...)")
    return OpenAI(api_key, **kwargs)


def _network_options(**given: Any) -> Dict[str, Any]:
    options = {name: value for name, value in given.items() if value is not _NOT_GIVEN}
    proxy = options.get("proxy")
    if proxy is not None and not isinstance(proxy, str):
        raise TypeError(
            f"proxy must be a URL such as 'http://proxy.example:3128', got {type(proxy).__name__}"
        )
    if "trust_env" in options and not isinstance(options["trust_env"], bool):
        raise TypeError(f"trust_env must be True or False, got {options['trust_env']!r}")
    return options


def _proxy_secrets(proxy: Optional[str]) -> tuple:
    """The proxy's credentials as they could show in an error: the password, and the Basic token."""
    if not proxy or "@" not in proxy:
        return ()
    import base64
    import urllib.parse

    parts = urllib.parse.urlsplit(proxy)
    if parts.password is None:
        return ()
    user = urllib.parse.unquote(parts.username or "")
    password = urllib.parse.unquote(parts.password)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return (password, parts.password, token)


#: One encoder for every body: json.dumps with arguments builds a JSONEncoder per call.
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
#: Provider methods a request would call; each is skipped when the provider keeps the base's.
_PER_REQUEST = ("check_endpoint", "supports", "adjust_body", "url")


def _json_bytes(value: Any) -> bytes:
    """A JSON body: compact, UTF-8 (not ASCII-escaped: smaller, and what the API sends back)."""
    return _ENCODE(value).encode("utf-8")


def _discard(awaitable: Any) -> None:
    close = getattr(awaitable, "close", None)
    if close is not None:  # a coroutine that cannot run here: silence "never awaited"
        close()


def _check_positive(name: str, value: Any, kind: type) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{name} must be a number >= 0, or None for no limit; got {value!r}")
    return kind(value)


def _make_provider(spec: Any, **kwargs: Any) -> Provider:
    if isinstance(spec, Provider):
        given = {k: v for k, v in kwargs.items() if v is not None}
        if given:
            raise TypeError(
                f"pass {', '.join(sorted(given))} to the provider instance, not the client, "
                "when the provider is given as an instance"
            )
        return spec
    if isinstance(spec, type):
        return spec(**kwargs)
    if not isinstance(spec, str):
        raise TypeError(f"provider must be a name such as 'openai' or 'gemini', got {type(spec).__name__}")
    table = get_registry().providers
    entry = table.get(spec)
    if entry is None:
        raise PluginError(
            f"unknown provider {spec!r}; available providers: {', '.join(sorted(table)) or 'none'} "
            "(see `openai-bindings plugins`)"
        )
    return entry.cls(**kwargs)
