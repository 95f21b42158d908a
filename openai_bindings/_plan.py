"""The life of one call, written once as a sans-IO plan for both clients.

``call_plan`` yields the I/O it needs (send, read, sleep) as steps and does
none itself; ``OpenAI`` runs them blocking, ``AsyncOpenAI`` awaits them
(``_drive``). Every guarantee that can hold in one place holds here, for every
transport, built-in or third-party:

- the client is not closed; the request has credentials when a hosted API needs them;
- every failure of the transport is a typed error, secrets scrubbed (``_boundary``);
- a body is as long as its ``Content-Length`` says and no longer than ``max_response_size``;
- a 2xx body that claims to be JSON is JSON (else ``APIResponseValidationError``);
- redirects are never followed; only this plan retries, each attempt counted, and the
  server's Retry-After is honoured up to ``max_retry_wait``, else not retried at all;
- each attempt is logged (DEBUG), each retry too (INFO), and the observation hooks see
  the attempt, the failure and the whole, when some plugin implements them.
"""

from __future__ import annotations

import time
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Dict, Generator, List, Mapping, Optional, Protocol

from ._boundary import Guard
from ._drive import Sleep, Step
from ._logging import logger
from ._observe import Observers
from .errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    ClientClosedError,
    status_error,
)
from .http import Body, Request, Response, in_memory
from .result import APIResult, decode_body, decode_success, expected_length, find_request_id
from .retry import backoff, server_wait, should_retry

if TYPE_CHECKING:
    from .streaming import Watch  # (imported with the first stream: a plain request never needs it)


class PlanClient(Protocol):
    """What the plan uses of its client (``BaseClient``, which imports this module, has it all)."""

    closed: bool
    max_retries: int
    max_retry_wait: Optional[float]
    max_response_size: Optional[int]
    transport: Any
    _guard: Guard

    @property
    def _observers(self) -> Observers: ...

    def build_request(self, call: APICall, options: Optional[Options] = None) -> Request: ...

    def _build_request(self, call: APICall, options: Options, observers: Observers) -> Request: ...

    def _check_retries(self, value: Any) -> int: ...

    def _stream_state(self, call: APICall) -> Any: ...


__all__ = ["APICall", "Options", "ReadBody", "Send", "Streaming", "call_plan", "split_options"]

_NOT_GIVEN: Any = object()
_EMPTY: Mapping[str, Any] = MappingProxyType({})
#: How much of an error body is read: enough for any message, never a whole misrouted download.
ERROR_BODY_LIMIT = 1 << 20
_DEBUG = 10
_INFO = 20


class APICall:
    """One request, described: where it goes and how its answer is read.

    A slotted class (not a dataclass): one is made per call, and dataclasses would load
    inspect at import.
    """

    __slots__ = (
        "body",
        "content_type",
        "endpoint",
        "form",
        "headers",
        "json",
        "key",
        "legacy",
        "method",
        "output_type",
        "params",
        "path",
        "raw",
        "stream",
    )

    def __init__(
        self,
        method: str,
        path: str,
        endpoint: str,
        json: Optional[Dict[str, Any]] = None,
        params: Optional[Dict[str, Any]] = None,
        body: Body = None,
        content_type: Optional[str] = None,
        stream: Optional[str] = None,
        legacy: bool = False,
        raw: bool = False,
        headers: Optional[Dict[str, str]] = None,
        key: Optional[str] = None,
        form: Optional[Dict[str, Any]] = None,
        output_type: Any = None,
    ) -> None:
        self.method = method
        self.path = path
        self.endpoint = endpoint  # the provider's capability name ("chat.completions", "batches"...)
        self.json = json
        self.params = params
        self.body = body
        self.content_type = content_type
        self.stream = stream  # the stream kind when streaming: chat, completion, responses, ...
        self.legacy = legacy
        self.raw = raw  # keep a 2xx body as bytes (file contents, audio)
        self.headers = headers  # an endpoint's own headers (OpenAI-Beta, ...)
        self.key = key  # "POST /chat/completions": the parameter table's name for it
        self.form = form  # a multipart body's fields (checked like a JSON body)
        self.output_type = output_type  # a Python type the answer is parsed into

    def __repr__(self) -> str:
        return f"<APICall {self.method} {self.path} stream={self.stream!r}>"


class Options:
    """Per-call settings that are not API parameters.

    The defaults are class attributes, so a call that sets none (the usual one) makes an empty
    object; a set value lives on the instance. The empty mappings are read-only: nothing may
    change a default in place.
    """

    timeout: Any = _NOT_GIVEN
    max_retries: Any = _NOT_GIVEN
    max_retry_wait: Any = _NOT_GIVEN
    max_response_size: Any = _NOT_GIVEN
    extra_headers: Mapping[str, str] = _EMPTY
    extra_query: Mapping[str, Any] = _EMPTY
    extra_body: Mapping[str, Any] = _EMPTY
    callback: Optional[Callable[[Any], Any]] = None

    def given(self) -> Dict[str, Any]:
        """The settings the caller gave, as keywords (to pass on to the calls of a composite plan)."""
        values = {name: getattr(self, name) for name in OPTION_NAMES}
        return {name: value for name, value in values.items() if value is not _NOT_GIVEN and value != {}}


OPTION_NAMES = (
    "timeout",
    "max_retries",
    "max_retry_wait",
    "max_response_size",
    "extra_headers",
    "extra_query",
    "extra_body",
)
_CALLBACK_NAMES = ("chunk_callback", "stream_callback")
_ALL_OPTION_NAMES = frozenset(OPTION_NAMES + _CALLBACK_NAMES)


def split_options(params: Mapping[str, Any]) -> tuple[Options, Dict[str, Any]]:
    """Separate our per-call settings from the API parameters, which are sent as given."""
    params = dict(params)
    options = Options()
    if _ALL_OPTION_NAMES.isdisjoint(params):  # the usual call: nothing to take out
        return options, params
    for name in OPTION_NAMES:
        if name in params:
            value = params.pop(name)
            if name.startswith("extra_"):
                if value is not None and not isinstance(value, Mapping):
                    raise TypeError(f"{name} must be a dict, got {type(value).__name__}")
                value = dict(value or {})
            setattr(options, name, value)
    for name in _CALLBACK_NAMES:
        if name in params:
            callback = params.pop(name)
            if callback is not None and not callable(callback):
                raise TypeError(f"{name} must be callable (it is called with each streamed event)")
            options.callback = callback or options.callback
    return options, params


class Streaming:
    """The plan's result for ``stream=True``: the open response, to be wrapped in a stream."""

    __slots__ = ("callback", "output_type", "request", "response", "state", "watch")

    def __init__(
        self,
        response: Response,
        state: Any,
        callback: Optional[Callable[[Any], Any]],
        request: Request,
        watch: Optional[Watch],
        output_type: Any = None,
    ) -> None:
        self.response = response
        self.state = state
        self.callback = callback
        self.request = request
        self.watch = watch
        self.output_type = output_type


# -- the I/O steps, each behind the error boundary --------------------------------------------


class Send(Step):
    """``transport.send(request)``, anything it raises turned into the library's errors."""

    __slots__ = ("guard", "request", "transport")

    def __init__(self, transport: Any, request: Request, guard: Guard) -> None:
        self.transport = transport
        self.request = request
        self.guard = guard

    def run(self) -> Response:
        try:
            return self.transport.send(self.request)
        except Exception as error:
            failure = self.guard.error(error, self.request, "send")
        raise failure  # outside the except block: the raw error is not left as __context__

    async def arun(self) -> Response:
        try:
            return await self.transport.send(self.request)
        except Exception as error:
            failure = self.guard.error(error, self.request, "send")
        raise failure


class ReadBody(Step):
    """Read a whole body, bounded, length-checked, and release the connection.

    ``run`` and ``arun`` differ only in how they iterate and close; what comes before (the
    promised length against the cap) and after (cut off? over the cap? a failed release?) is
    ``_start`` and ``_end``, shared. Per chunk, the cap is checked inline: a small answer costs
    no method call per chunk.
    """

    __slots__ = ("expected", "guard", "limit", "request", "response", "truncate")

    def __init__(
        self, response: Response, request: Request, guard: Guard, limit: Optional[int], truncate: bool = False
    ) -> None:
        self.response = response
        self.request = request
        self.guard = guard
        self.limit = limit  # None: no cap
        self.truncate = truncate  # over the cap: keep what fits (error bodies) instead of failing
        self.expected = expected_length(response.headers, request)  # what the headers promise

    def _too_large(self, size: Optional[int]) -> APIResponseValidationError:
        response = self.response
        said = f"{size} bytes" if size is not None else "more"
        return APIResponseValidationError(
            f"{self.request.method} {self.request.url.split('?', 1)[0]}: the answer is {said}, over "
            f"max_response_size={self.limit} bytes, so it was not read; raise max_response_size "
            "(or None for no cap) if this is expected",
            status=response.status,
            headers=response.headers,
            request_id=find_request_id(response.headers),
        )

    def _start(self) -> tuple[Optional[BaseException], int]:
        """A failure before reading (a promised length over the cap), and the cap to read up to."""
        limit = self.limit
        if limit is None:
            return None, -1
        promised = self.expected
        if not self.truncate and promised is not None and promised > limit:
            return self._too_large(promised), limit
        return None, limit

    def _end(
        self,
        chunks: List[bytes],
        size: int,
        failure: Optional[BaseException],
        close_error: Optional[BaseException],
    ) -> bytes:
        """The body, or the error it amounts to: cut off, over the cap, or failed mid-read."""
        limit = self.limit
        complete = limit is None or size <= limit
        if close_error is not None and failure is None and complete:
            # The whole answer is here: a failed release does not fail the call.
            logger.warning(
                "%s %s: releasing the connection failed: %s",
                self.request.method,
                self.request.url.split("?", 1)[0],
                self.guard.error(close_error, self.request, "close"),
            )
        if failure is None and not complete and not self.truncate:
            failure = self._too_large(None)
        if failure is not None:
            raise failure
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        expected = self.expected
        if complete and expected is not None and len(data) < expected:
            raise APIConnectionError(
                f"{self.request.method} {self.request.url.split('?', 1)[0]}: the answer was cut off: "
                f"{len(data)} of {expected} bytes arrived"
            )
        return data

    def _take(
        self, chunks_in: Any, limit: int, is_async: bool
    ) -> tuple[List[bytes], int, Optional[BaseException]]:
        """Read a sync body, or one already in memory, up to the cap: the chunks, their size, and
        the failure that stopped the reading (None at the end). Per chunk, the cap is checked
        inline: a small answer costs no method call per chunk."""
        chunks: List[bytes] = []
        size = 0
        try:
            for chunk in chunks_in:
                size += len(chunk)
                if size > limit >= 0:
                    break  # over the cap: stop reading
                chunks.append(chunk)
        except Exception as error:
            return chunks, size, self.guard.error(error, self.request, "body")
        except BaseException:  # interrupted or cancelled: let go of the connection first
            from .streaming import _release

            _release(self.response, _running_loop() if is_async else None)
            raise
        return chunks, size, None

    def run(self) -> bytes:
        response = self.response
        failure, limit = self._start()
        if failure is None:
            chunks, size, failure = self._take(response.stream, limit, False)
        else:
            chunks, size = [], 0
        close_error = None
        try:
            response.close()
        except Exception as error:
            close_error = error
        return self._end(chunks, size, failure, close_error)

    async def arun(self) -> bytes:
        response = self.response
        failure, limit = self._start()
        stream: Any = response.stream
        if failure is not None:
            chunks: List[bytes] = []
            size = 0
        elif in_memory(stream):  # no await per chunk
            chunks, size, failure = self._take(stream, limit, True)
        else:
            chunks = []
            size = 0
            try:
                async for chunk in stream:
                    size += len(chunk)
                    if size > limit >= 0:
                        break
                    chunks.append(chunk)
            except Exception as error:
                failure = self.guard.error(error, self.request, "body")
            except BaseException:  # cancelled: let go of the connection now, without awaiting
                from .streaming import _release

                _release(response, _running_loop())
                raise
        close_error = None
        try:
            await response.aclose()
        except Exception as error:
            close_error = error
        return self._end(chunks, size, failure, close_error)


def _running_loop() -> Any:
    import asyncio  # the async path: loaded already

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


# -- the plan ---------------------------------------------------------------------------------


def _loggable(url: str) -> str:
    """The URL for a log line: query values that look like credentials are not shown."""
    path, _, query = url.partition("?")
    if not query:
        return url
    shown = []
    for pair in query.split("&"):
        name, equals, _value = pair.partition("=")
        lowered = name.lower()
        if equals and any(word in lowered for word in ("key", "token", "secret", "sig", "password")):
            pair = f"{name}=<redacted>"
        shown.append(pair)
    return f"{path}?{'&'.join(shown)}"


def call_plan(client: PlanClient, call: APICall, options: Options) -> Generator[Step, Any, Any]:
    """The call's whole life: send, observe, retry what is worth retrying, read and decode."""
    if client.closed:
        raise ClientClosedError(
            f"this {type(client).__name__} was closed, so it sends nothing more; make a new client "
            "(or use `with` around all the calls that share one)"
        )
    observers = client._observers
    request = client._build_request(call, options, observers)
    retries = options.max_retries
    if retries is _NOT_GIVEN:
        retries = client.max_retries
    if retries.__class__ is not int or retries < 0:  # (bool is refused too)
        retries = client._check_retries(retries)
    max_wait = options.max_retry_wait
    if max_wait is _NOT_GIVEN:
        max_wait = client.max_retry_wait
    limit = options.max_response_size
    if limit is _NOT_GIVEN:
        limit = client.max_response_size
    transport = client.transport
    guard = client._guard
    debug = logger.isEnabledFor(_DEBUG)
    started = sent = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        if attempt > 1:
            sent = time.monotonic()
        error: Optional[BaseException] = None
        try:
            response: Response = yield Send(transport, request, guard)
        except APIConnectionError as failure:
            error = failure
        if error is None:
            status = response.status
            if observers.response is not None:
                Observers.call(
                    observers.response,
                    request=request,
                    response=response,
                    elapsed=time.monotonic() - sent,
                    attempt=attempt,
                )
            if debug:
                _log_attempt(client, request, attempt, sent, status, response.headers)
            if 200 <= status < 300:
                if call.stream is not None:
                    from .streaming import Watch  # with the first stream, not at import

                    watch = (
                        Watch(observers, started, sent, attempt)
                        if observers.error is not None or observers.complete is not None
                        else None
                    )
                    return Streaming(
                        response,
                        client._stream_state(call),
                        options.callback,
                        request,
                        watch,
                        call.output_type,
                    )
                try:
                    raw = yield ReadBody(response, request, guard, limit)
                except APIConnectionError as failure:
                    error = failure  # cut off mid-body: nothing was delivered, so worth a retry
                else:
                    body = raw if call.raw else decode_success(raw, status, response.headers)
                    if observers.complete is not None:
                        Observers.call(
                            observers.complete, request=request, body=body, elapsed=time.monotonic() - started
                        )
                    return APIResult(status, body, response.headers, call.output_type)
            else:
                error = yield from _status_failure(client, request, response, guard)
        if debug and not isinstance(error, APIStatusError):
            _log_failure(client, request, attempt, sent, error)
        wait = _retry_wait(error, attempt, retries, max_wait, request)
        if observers.error is not None:
            Observers.call(
                observers.error,
                request=request,
                error=error,
                elapsed=time.monotonic() - sent,
                attempt=attempt,
                final=wait is None,
            )
        if wait is None:
            raise error
        yield Sleep(wait)


def _status_failure(client: PlanClient, request: Request, response: Response, guard: Guard) -> Any:
    """Plan: read a non-2xx answer's body (bounded) and build its typed error."""
    try:
        raw = yield ReadBody(response, request, guard, ERROR_BODY_LIMIT, truncate=True)
    except APIConnectionError:
        raw = b""  # the status says enough
    headers = response.headers
    error = status_error(
        response.status,
        decode_body(raw, headers),
        headers,
        find_request_id(headers),
        retry_after=server_wait(headers),
    )
    error.message = guard.clean_status_message(error.message, request)
    error.args = (error.message,)
    return error


def _retry_wait(
    error: Any, attempt: int, retries: int, max_wait: Optional[float], request: Request
) -> Optional[float]:
    """How long to wait before the next attempt, or None when there is none to make."""
    if isinstance(error, APIStatusError):
        if 300 <= error.status < 400 or not should_retry(error.status, error.headers):
            return None
        reason = f"{error.status} {error.message[:100]}"
    elif isinstance(error, APIConnectionError):
        reason = f"{type(error).__name__}: {error}"
    else:
        return None  # a validation error: the server answered, and another try would not change it
    if attempt > retries:
        return None
    asked = getattr(error, "retry_after", None)
    if asked is not None and max_wait is not None and asked > max_wait:
        logger.info(
            "not retrying %s %s: the server asked to wait %.0f s, over max_retry_wait=%s s",
            request.method,
            _loggable(request.url),
            asked,
            max_wait,
        )
        return None
    wait = asked if asked is not None and asked > 0 else backoff(attempt - 1)
    logger.info(
        "retrying %s %s in %.2f s (attempt %d of %d): %s",
        request.method,
        _loggable(request.url),
        wait,
        attempt + 1,
        retries + 1,
        reason,
    )
    return wait


def _log_attempt(
    client: PlanClient, request: Request, attempt: int, sent: float, status: int, headers: Mapping[str, str]
) -> None:
    logger.debug(
        "%s %s -> %d request_id=%s %.0f ms transport=%s attempt=%d",
        request.method,
        _loggable(request.url),
        status,
        find_request_id(headers),
        (time.monotonic() - sent) * 1000,
        client.transport.name,
        attempt,
    )


def _log_failure(client: PlanClient, request: Request, attempt: int, sent: float, error: Any) -> None:
    logger.debug(
        "%s %s -> %s %.0f ms transport=%s attempt=%d",
        request.method,
        _loggable(request.url),
        f"{type(error).__name__}: {error}",
        (time.monotonic() - sent) * 1000,
        client.transport.name,
        attempt,
    )
