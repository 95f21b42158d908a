"""The clients: one definition per endpoint, executed by a sync or an async driver.

Every endpoint method builds a ``APICall`` (a description of the request and how
to decode the answer) and hands it to ``self._run``. The request and retry
logic is a generator (``_plan``) that yields actions (send, read, sleep) and
never does I/O itself; ``OpenAI`` runs those actions with blocking calls,
``AsyncOpenAI`` awaits them. So no endpoint, and no retry loop, is written twice.
"""

from __future__ import annotations

import inspect
import json
import platform
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Generator, Mapping, Optional, Union

from ._drive import Call, Sleep, run_async, run_sync
from ._version import __version__
from .errors import APIConnectionError, PluginError, status_error
from .http import Body, Headers, Request, Response, Timeout, TimeoutLike
from .pagination import AsyncPaginator, Paginator
from .plugins import get_registry
from .provider import Provider
from .result import APIResult, decode_body
from .streaming import AsyncStream, Stream, StreamState
from .transport import resolve_transport
from .validation import check_id, check_input, validate_messages

__all__ = ["AsyncOpenAI", "OpenAI", "new"]

DEFAULT_TIMEOUT = Timeout(connect=5.0, read=600.0)
DEFAULT_MAX_RETRIES = 2
RETRY_STATUSES = frozenset({408, 409, 429})
_NOT_GIVEN: Any = object()


# -- what a plan returns for a stream ------------------------------------------------------


@dataclass(frozen=True)
class Streaming:
    """The plan's result for ``stream=True``: the open response, to be wrapped in a stream."""

    response: Response
    state: StreamState
    callback: Optional[Callable[[Any], Any]]


# -- one request, described ----------------------------------------------------------------


@dataclass
class APICall:
    method: str
    path: str
    endpoint: str
    json: Optional[Dict[str, Any]] = None
    params: Optional[Dict[str, Any]] = None
    body: Body = None
    content_type: Optional[str] = None
    stream: Optional[str] = None  # the stream kind when streaming: chat, completion, responses
    legacy: bool = False
    raw: bool = False  # keep the body as bytes (file contents)


@dataclass
class Options:
    """Per-call settings that are not API parameters."""

    timeout: Any = _NOT_GIVEN
    max_retries: Any = _NOT_GIVEN
    extra_headers: Dict[str, str] = field(default_factory=dict)
    extra_query: Dict[str, Any] = field(default_factory=dict)
    extra_body: Dict[str, Any] = field(default_factory=dict)
    callback: Optional[Callable[[Any], Any]] = None


_OPTION_NAMES = ("timeout", "max_retries", "extra_headers", "extra_query", "extra_body")
_CALLBACK_NAMES = ("chunk_callback", "stream_callback")


def split_options(params: Dict[str, Any]) -> tuple[Options, Dict[str, Any]]:
    """Separate our per-call settings from the API parameters, which are sent as given."""
    params = dict(params)
    options = Options()
    for name in _OPTION_NAMES:
        if name in params:
            value = params.pop(name)
            if name.startswith("extra_") and value is not None and not isinstance(value, Mapping):
                raise TypeError(f"{name} must be a dict, got {type(value).__name__}")
            setattr(options, name, dict(value or {}) if name.startswith("extra_") else value)
    for name in _CALLBACK_NAMES:
        if name in params:
            callback = params.pop(name)
            if callback is not None and not callable(callback):
                raise TypeError(f"{name} must be callable (it is called with each streamed event)")
            options.callback = callback or options.callback
    return options, params


def retry_delay(attempt: int, headers: Optional[Headers], rand: Callable[[], float] = random.random) -> float:
    """How long to wait before retry number ``attempt`` (0-based): what the server asked, else backoff."""
    if headers is not None:
        for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
            value = headers.get(name)
            if value is None:
                continue
            seconds: Optional[float]
            try:
                seconds = float(value) * scale
            except ValueError:
                import email.utils  # only for an HTTP-date Retry-After: rare, and slow to import

                parsed = email.utils.parsedate_to_datetime(value) if name == "retry-after" else None
                seconds = None if parsed is None else parsed.timestamp() - time.time()
            if seconds is not None and 0 < seconds <= 60:
                return seconds
    backoff = min(0.5 * 2**attempt, 8.0)
    return backoff * (1 - 0.25 * rand())  # jitter: never all clients at once


def _should_retry(status: int, headers: Headers) -> bool:
    override = headers.get("x-should-retry")
    if override in ("true", "false"):
        return override == "true"
    return status in RETRY_STATUSES or status >= 500


class BaseClient:
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
        default_headers: Optional[Mapping[str, str]] = None,
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
        self.max_retries = _check_retries(max_retries)
        if default_headers is not None and not isinstance(default_headers, Mapping):
            raise TypeError(f"default_headers must be a dict, got {type(default_headers).__name__}")
        self.default_headers = Headers(default_headers or {})
        self.transport = resolve_transport(transport, is_async=self.is_async, provider=self.provider.name)
        self._user_agent = (
            f"openai-bindings/{__version__} (transport={self.transport.name}; "
            f"python/{platform.python_version()})"
        )

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

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} provider={self.provider.name!r} base_url={self.base_url!r} "
            f"transport={self.transport.name!r}>"
        )

    # -- building requests ------------------------------------------------------------------

    def build_request(self, call: APICall, options: Optional[Options] = None) -> Request:
        """The exact Request a call sends (public so tests and tools can inspect it)."""
        options = options or Options()
        self.provider.check_endpoint(call.endpoint)
        headers = Headers({"Accept": "application/json", "User-Agent": self._user_agent})
        headers.update(self.provider.auth_headers())
        headers.update(self.provider.headers())
        headers.update(self.default_headers)
        body: Body = call.body
        if call.json is not None:
            payload = self.provider.adjust_body(call.endpoint, {**call.json, **options.extra_body})
            body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = "application/json"
        elif call.content_type:
            headers["Content-Type"] = call.content_type
        if isinstance(body, bytes):
            headers["Content-Length"] = str(len(body))
        elif body is not None and hasattr(body, "content_length"):
            headers["Content-Length"] = str(body.content_length)
        headers.update(options.extra_headers)
        params = {**(call.params or {}), **options.extra_query}
        timeout = self.timeout if options.timeout is _NOT_GIVEN else Timeout.coerce(options.timeout)
        model = (call.json or {}).get("model")
        url = self.provider.url(call.path, params, model=model if isinstance(model, str) else None)
        request = Request(call.method, url, headers, body, timeout)
        get_registry().manager.hook.prepare_request(request=request, provider=self.provider.name)
        return request

    def _plan(self, call: APICall, options: Options) -> Generator[Any, Any, Any]:
        """The request's life: send, retry what is worth retrying, decode. Yields actions, does no I/O."""
        request = self.build_request(call, options)
        retries = (
            self.max_retries if options.max_retries is _NOT_GIVEN else _check_retries(options.max_retries)
        )
        attempt = 0
        while True:
            try:
                response: Response = yield Call(self.transport.send, request)
                if 200 <= response.status < 300 and call.stream:
                    state = StreamState(
                        call.stream,
                        legacy=call.legacy,
                        adjust=lambda event: self.provider.adjust_event(call.endpoint, event),
                    )
                    return Streaming(response, state, options.callback)
                raw: bytes = yield Call(response.read, asyncfn=response.aread)
            except APIConnectionError:
                if attempt >= retries:
                    raise
                yield Sleep(retry_delay(attempt, None))
                attempt += 1
                continue
            body = raw if call.raw and 200 <= response.status < 300 else decode_body(raw, response.headers)
            if 200 <= response.status < 300:
                return APIResult(response.status, body, response.headers)
            if attempt < retries and _should_retry(response.status, response.headers):
                yield Sleep(retry_delay(attempt, response.headers))
                attempt += 1
                continue
            raise status_error(response.status, body, response.headers, response.headers.get("x-request-id"))

    # -- the endpoints: each defined once, for both clients -----------------------------------

    def _run(self, call: APICall, options: Options) -> Any:
        raise NotImplementedError

    def _model(self, params: Dict[str, Any], endpoint: str) -> Dict[str, Any]:
        if params.get("model") is None:
            model = self.provider.model_for(endpoint)
            if model is None:
                params.pop("model", None)
            else:
                params["model"] = model
        return params

    def _json_call(
        self,
        path: str,
        endpoint: str,
        body: Dict[str, Any],
        stream_kind: Optional[str] = None,
        legacy: bool = False,
    ) -> tuple[APICall, Options]:
        options, body = split_options(body)
        body = self._model(body, endpoint)
        stream = body.get("stream")
        if stream is not None and not isinstance(stream, bool):
            raise TypeError(f"stream must be True or False, got {stream!r}")
        return APICall(
            "POST", path, endpoint, json=body, stream=stream_kind if stream else None, legacy=legacy
        ), options

    def create_chat_completion(self, messages: Any, **params: Any) -> Any:
        """POST /chat/completions. ``stream=True`` returns a stream of chunks."""
        validate_messages(messages)
        return self._run(
            *self._json_call(
                "/chat/completions", "chat.completions", {"messages": list(messages), **params}, "chat"
            )
        )

    def chat(self, messages: Any, **params: Any) -> Any:
        """The original's ``chat``: create_chat_completion whose streamed chunks are ``{content, index}``."""
        validate_messages(messages)
        return self._run(
            *self._json_call(
                "/chat/completions",
                "chat.completions",
                {"messages": list(messages), **params},
                "chat",
                legacy=True,
            )
        )

    def completion(self, prompt: Any, **params: Any) -> Any:
        """POST /completions (legacy text completions)."""
        check_input(prompt, "prompt")
        return self._run(
            *self._json_call("/completions", "completions", {"prompt": prompt, **params}, "completion")
        )

    def embedding(self, input: Any, **params: Any) -> Any:
        """POST /embeddings."""
        check_input(input)
        return self._run(*self._json_call("/embeddings", "embeddings", {"input": input, **params}))

    def moderation(self, input: Any, **params: Any) -> Any:
        """POST /moderations."""
        check_input(input)
        return self._run(*self._json_call("/moderations", "moderations", {"input": input, **params}))

    def create_response(self, input: Any = None, **params: Any) -> Any:
        """POST /responses. ``stream=True`` returns a stream of typed events."""
        if input is None and "previous_response_id" not in params and "prompt" not in params:
            raise ValueError("create_response needs input= (a string or a list of input items)")
        body = {"input": input, **params} if input is not None else dict(params)
        return self._run(*self._json_call("/responses", "responses", body, "responses"))

    def response(self, response_id: str, **params: Any) -> Any:
        """GET /responses/{id}: a stored response."""
        return self._simple("GET", f"/responses/{check_id(response_id, 'response id')}", "responses", params)

    def delete_response(self, response_id: str, **params: Any) -> Any:
        """DELETE /responses/{id}."""
        return self._simple(
            "DELETE", f"/responses/{check_id(response_id, 'response id')}", "responses", params
        )

    def cancel_response(self, response_id: str, **params: Any) -> Any:
        """POST /responses/{id}/cancel (background responses)."""
        return self._simple(
            "POST", f"/responses/{check_id(response_id, 'response id')}/cancel", "responses", params
        )

    def models(self, **params: Any) -> Any:
        """GET /models."""
        return self._simple("GET", "/models", "models", params)

    def model(self, model_id: str, **params: Any) -> Any:
        """GET /models/{id}."""
        return self._simple(
            "GET", f"/models/{check_id(model_id, 'model id', allow_slash=True)}", "models", params
        )

    def files(self, **params: Any) -> Any:
        """GET /files (``purpose=``, ``limit=``, ``after=``, ``order=`` as query parameters)."""
        return self._simple("GET", "/files", "files", params)

    def file(self, file_id: str, **params: Any) -> Any:
        """GET /files/{id}: the file's metadata."""
        return self._simple("GET", f"/files/{check_id(file_id, 'file id')}", "files", params)

    def delete_file(self, file_id: str, **params: Any) -> Any:
        """DELETE /files/{id}."""
        return self._simple("DELETE", f"/files/{check_id(file_id, 'file id')}", "files", params)

    def file_content(self, file_id: str, **params: Any) -> Any:
        """GET /files/{id}/content: the body is the file's bytes."""
        options, query = split_options(params)
        call = APICall(
            "GET", f"/files/{check_id(file_id, 'file id')}/content", "files", params=query, raw=True
        )
        return self._run(call, options)

    def upload_file(self, file: Any, purpose: str, **params: Any) -> Any:
        """POST /files as multipart/form-data, streamed from disk (never read whole into memory)."""
        from .multipart import MultipartFile

        if not isinstance(purpose, str) or not purpose:
            raise ValueError(
                "upload_file needs purpose=, e.g. 'assistants', 'batch', 'fine-tune', 'user_data'"
            )
        options, fields = split_options(params)
        body = MultipartFile(file, fields={"purpose": purpose, **fields})
        call = APICall("POST", "/files", "files", body=body, content_type=body.content_type)
        return self._run(call, options)

    def image_generation(self, **params: Any) -> Any:
        """POST /images/generations (``prompt=`` required)."""
        if not params.get("prompt"):
            raise ValueError("image_generation needs prompt= (a description of the image)")
        return self._run(*self._json_call("/images/generations", "images.generations", params))

    def new_chat_session(self, messages: Any = None, **options: Any) -> Any:
        """A ChatSession: history kept locally, options sent with every request."""
        from .sessions import ChatSession

        return ChatSession(self, messages, **options)

    def new_responses_chat_session(self, **options: Any) -> Any:
        """A ResponsesChatSession: state kept by the server through previous_response_id."""
        from .sessions import ResponsesChatSession

        return ResponsesChatSession(self, **options)

    def paginate(self, list_method: Callable[..., Any], **params: Any) -> Any:
        """Every item of a listing endpoint, across pages: ``client.paginate(client.files, limit=100)``."""
        if getattr(list_method, "__self__", None) is not self:
            raise TypeError("paginate takes a listing method of this client, e.g. client.files")
        cls = AsyncPaginator if self.is_async else Paginator
        return cls(list_method, params)

    def _simple(self, method: str, path: str, endpoint: str, params: Dict[str, Any]) -> Any:
        options, query = split_options(params)
        return self._run(APICall(method, path, endpoint, params=query or None), options)


class OpenAI(BaseClient):
    """The sync client. ``with OpenAI() as client:`` closes its connections at the end."""

    is_async = False

    def _run(self, call: APICall, options: Options) -> Any:
        outcome = run_sync(self._plan(call, options))
        if isinstance(outcome, Streaming):
            stream = Stream(outcome.response, outcome.state, outcome.callback)
            return stream.until_done() if outcome.callback is not None else stream
        return outcome

    def close(self) -> None:
        close = getattr(self.transport, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> OpenAI:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncOpenAI(BaseClient):
    """The async client: the same methods, awaitable; ``async with AsyncOpenAI() as client:``."""

    is_async = True

    async def _run(self, call: APICall, options: Options) -> Any:
        outcome = await run_async(self._plan(call, options))
        if isinstance(outcome, Streaming):
            stream = AsyncStream(outcome.response, outcome.state, outcome.callback)
            return await stream.until_done() if outcome.callback is not None else stream
        return outcome

    async def close(self) -> None:
        close = getattr(self.transport, "close", None)
        if close is not None:
            result = close()
            if inspect.isawaitable(result):
                await result

    aclose = close

    async def __aenter__(self) -> AsyncOpenAI:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


def new(api_key: Optional[str] = None, *args: Any, **kwargs: Any) -> OpenAI:
    """The original's ``openai.new(api_key, config)``: a sync client."""
    if args and isinstance(args[0], Mapping):  # new(key, {"http_provider": ...}) as in Lua
        kwargs = {**dict(args[0]), **kwargs}
        args = args[1:]
    if args:
        raise TypeError("new() takes the API key, then keyword arguments (base_url=, transport=, ...)")
    return OpenAI(api_key, **kwargs)


def _check_retries(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"max_retries must be a whole number >= 0, got {value!r}")
    return value


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
