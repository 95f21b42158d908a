"""Batch jobs: ``run_batch`` and ``batch_results``, written once as plans for both clients.

The Batch API runs requests at half the price within a 24 h window. ``run_batch``
does the whole job, never losing an item:

1. every request is checked (its shape, a unique ``custom_id``, the parameters the
   endpoint takes) and written as a JSONL line to temporary files on disk, split so
   that no file is over the per-batch limits (``MAX_LINES``, ``MAX_BYTES``); nothing
   is uploaded until all of them passed. On disk, not in memory: ``requests`` may be
   a generator of millions, and a file is a body the upload can stream and, when a
   retry needs it, send again (a generator could be sent only once);
2. each file is uploaded (streamed from disk, ``purpose="batch"``) and its batch created;
3. the batches are polled every ``poll_interval`` seconds, with a progress line on stderr
   when it is a terminal (see ``progress.py``);
4. the output and error files are downloaded and parsed, and every ``custom_id`` gets a
   ``BatchResult``: an answer, an error, or why it was not run (expired, cancelled, the
   batch failed).

A job outlives the process that submitted it: the batch ids are logged (INFO), shown
in the progress line, and added as a note to any exception that stops the wait, and
``client.batch_results(batch_id_or_ids)`` picks the job up again (the custom ids are
read back from the batches' input files).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import (
    Any,
    Callable,
    Dict,
    Generator,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
    Union,
)

from ._drive import Call, Sleep, Thread, run_async, run_sync
from ._jobs import DEFAULT_POLL_INTERVAL, MAX_BYTES, MAX_LINES, Client
from ._logging import logger
from .errors import OpenAIError, status_error
from .http import Headers
from .progress import Progress, ProgressLike

__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "MAX_BYTES",
    "MAX_LINES",
    "BatchItemError",
    "BatchResult",
    "BatchResults",
    "batch_results",
    "check_requests",
    "read_request",
    "run_batch",
    "submit_batches",
]

#: A batch in one of these states changes no more.
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
#: API paths (relative to the base URL) and the capability name each belongs to (for default models).
CAPABILITIES = {
    "/chat/completions": "chat.completions",
    "/responses": "responses",
    "/embeddings": "embeddings",
    "/completions": "completions",
    "/moderations": "moderations",
}
_REQUEST_KEYS = frozenset({"custom_id", "body", "method", "url"})

Plan = Generator[Any, Any, Any]


class BatchItemError(OpenAIError):
    """Why an item of a batch has no answer, when no HTTP status says it: not run, or refused by the batch.

    ``code`` is the API's (``batch_expired``, ``batch_cancelled``, a validation code) or ours
    (``not_run``); ``batch_id`` names the batch.
    """

    def __init__(self, message: str, *, code: Optional[str] = None, batch_id: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.batch_id = batch_id


class BatchResult:
    """One item of a batch job.

    ``status`` is ``"completed"`` (``body`` is the answer), ``"failed"`` (the request ran and
    failed: ``error`` is the typed ``APIStatusError``, or a ``BatchItemError``),
    ``"expired"`` / ``"cancelled"`` (not run before the batch ended) or ``"not_run"`` (the
    batch failed validation, or ended without a line for this item); ``error`` says why.
    """

    __slots__ = ("batch_id", "body", "custom_id", "error", "request_id", "status", "status_code")

    def __init__(
        self,
        custom_id: str,
        status: str,
        *,
        body: Any = None,
        error: Optional[BaseException] = None,
        status_code: Optional[int] = None,
        request_id: Optional[str] = None,
        batch_id: Optional[str] = None,
    ) -> None:
        self.custom_id = custom_id
        self.status = status
        self.body = body
        self.error = error
        self.status_code = status_code
        self.request_id = request_id
        self.batch_id = batch_id

    @property
    def ok(self) -> bool:
        return self.status == "completed"

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready: what ``openai-bindings batch results`` writes, one line per item."""
        error: Optional[Dict[str, Any]] = None
        if self.error is not None:
            error = {
                "type": type(self.error).__name__,
                "code": getattr(self.error, "code", None),
                "message": getattr(self.error, "message", str(self.error)),
            }
        return {
            "custom_id": self.custom_id,
            "status": self.status,
            "status_code": self.status_code,
            "body": self.body,
            "error": error,
            "request_id": self.request_id,
            "batch_id": self.batch_id,
        }

    def __repr__(self) -> str:
        shown = f"error={self.error!r}" if self.error is not None else f"status_code={self.status_code}"
        return f"<BatchResult {self.custom_id!r} {self.status} {shown}>"


class BatchResults(Dict[str, BatchResult]):
    """Every item of a batch job, keyed by ``custom_id`` in the order the requests were given.

    ``batches`` holds the final batch objects (``batch_ids`` their ids); ``succeeded`` and
    ``errors`` split the items; ``counts`` tallies them by status.
    """

    def __init__(self, batches: Sequence[Mapping[str, Any]] = ()) -> None:
        super().__init__()
        self.batches: List[Mapping[str, Any]] = list(batches)

    @property
    def batch_ids(self) -> List[str]:
        return [batch["id"] for batch in self.batches]

    @property
    def succeeded(self) -> Dict[str, BatchResult]:
        return {key: result for key, result in self.items() if result.ok}

    @property
    def errors(self) -> Dict[str, BatchResult]:
        return {key: result for key, result in self.items() if not result.ok}

    @property
    def counts(self) -> Dict[str, int]:
        return dict(Counter(result.status for result in self.values()))

    def __repr__(self) -> str:
        return f"<BatchResults {len(self)} items {self.counts} batches={self.batch_ids}>"


# -- requests in the {"custom_id", "body"} form (shared with bulk) -----------------------------------


def api_path(url: str) -> str:
    """``/v1/chat/completions`` or ``/chat/completions`` -> ``/chat/completions`` (base-URL relative)."""
    if not isinstance(url, str) or not url.startswith("/"):
        raise ValueError(f"an endpoint is an API path such as '/v1/chat/completions', got {url!r}")
    return url[3:] if url.startswith("/v1/") else url


def check_requests(requests: Any) -> None:
    """A job's requests are an iterable of dicts, not one dict or a string."""
    if isinstance(requests, (str, bytes, Mapping)) or not isinstance(requests, Iterable):
        raise TypeError(
            "requests must be an iterable (a list, a generator) of {'custom_id': str, 'body': {...}} dicts"
        )


def read_request(item: Any, index: int, seen: Set[str], default_url: str) -> Tuple[str, str, Dict[str, Any]]:
    """Check one request of a job; ``(custom_id, API path, body)``. ``seen`` collects the ids."""
    where = f"request #{index}"
    if not isinstance(item, Mapping):
        raise TypeError(
            f"{where} must be a dict {{'custom_id': str, 'body': {{...}}}}, got {type(item).__name__}"
        )
    custom_id = item.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        raise ValueError(f"{where} needs a 'custom_id': a non-empty string that names it in the results")
    where = f"request #{index} (custom_id {custom_id!r})"
    if custom_id in seen:
        raise ValueError(f"{where}: this custom_id is used twice; every request needs its own")
    unknown = sorted(set(item) - _REQUEST_KEYS)
    if unknown:
        raise ValueError(
            f"{where} has unknown key(s) {', '.join(unknown)}: a request is 'custom_id' and 'body' "
            "(plus an optional 'url' and 'method'); API parameters go inside 'body'"
        )
    body = item.get("body")
    if not isinstance(body, Mapping):
        raise TypeError(
            f"{where}: 'body' must be a dict of the endpoint's parameters, got {type(body).__name__}"
        )
    method = item.get("method", "POST")
    if not isinstance(method, str) or method.upper() != "POST":
        raise ValueError(f"{where}: 'method' must be 'POST' (the only method these jobs run), got {method!r}")
    if body.get("stream"):
        raise ValueError(f"{where}: 'stream' cannot be true here; the answers are collected whole")
    url = item.get("url") or default_url
    try:
        path = api_path(url)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None
    seen.add(custom_id)
    return custom_id, path, dict(body)


# -- writing the input files -------------------------------------------------------------------------


class _InputFile:
    """One batch's input: a JSONL file on disk, and the custom ids it holds, in order."""

    __slots__ = ("custom_ids", "path", "size")

    def __init__(self, path: str) -> None:
        self.path = path
        self.size = 0
        self.custom_ids: List[str] = []


def _write_inputs(
    client: Client,
    requests: Iterable[Any],
    endpoint: str,
    directory: str,
    max_lines: int,
    max_bytes: int,
) -> List[_InputFile]:
    """Check every request and write the JSONL, split by the limits; raise before anything is sent."""
    check_requests(requests)
    path = api_path(endpoint)
    capability = CAPABILITIES.get(path)
    key = f"POST {path}"
    seen: Set[str] = set()
    files: List[_InputFile] = []
    handle: Any = None
    current: Optional[_InputFile] = None
    try:
        for index, item in enumerate(requests):
            custom_id, item_path, body = read_request(item, index, seen, endpoint)
            if item_path != path:
                raise ValueError(
                    f"request #{index} (custom_id {custom_id!r}) is for {item.get('url')!r}, but this "
                    f"batch runs {endpoint!r}: a batch runs one endpoint; run the others as another batch"
                )
            if capability is not None:
                client._with_model(body, capability)
            try:
                client.provider.check_params(key, body)
            except TypeError as error:
                raise TypeError(f"request #{index} (custom_id {custom_id!r}): {error}") from None
            line = _jsonl({"custom_id": custom_id, "method": "POST", "url": endpoint, "body": body})
            if len(line) > max_bytes:
                raise ValueError(
                    f"request #{index} (custom_id {custom_id!r}) is {len(line)} bytes as a JSONL line, "
                    f"over the per-batch limit of {max_bytes} bytes"
                )
            if (
                current is None
                or len(current.custom_ids) >= max_lines
                or current.size + len(line) > max_bytes
            ):
                if handle is not None:
                    handle.close()
                current = _InputFile(os.path.join(directory, f"batch-input-{len(files) + 1:04d}.jsonl"))
                files.append(current)
                handle = open(current.path, "wb")  # noqa: SIM115 - closed when the next opens, or below
            handle.write(line)
            current.size += len(line)
            current.custom_ids.append(custom_id)
    finally:
        if handle is not None:
            handle.close()
    if not files:
        raise ValueError("run_batch got no requests: give it at least one {'custom_id', 'body'} dict")
    return files


def _jsonl(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


# -- reading the results -----------------------------------------------------------------------------


def _parse_lines(raw: Any) -> Iterable[Dict[str, Any]]:
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if not isinstance(raw, (bytes, bytearray)):
        return
    data: bytes = bytes(raw)
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            logger.warning("batch file line %d is not JSON; skipped", number)
            continue
        if isinstance(entry, dict) and isinstance(entry.get("custom_id"), str):
            yield entry


def _result_of(entry: Mapping[str, Any], batch_id: str) -> BatchResult:
    """One line of an output or error file as a BatchResult."""
    custom_id = entry["custom_id"]
    response = entry.get("response") if isinstance(entry.get("response"), Mapping) else None
    error = entry.get("error") if isinstance(entry.get("error"), Mapping) else None
    status_code = response.get("status_code") if response is not None else None
    request_id = response.get("request_id") if response is not None else None
    body = response.get("body") if response is not None else None
    if error is None and isinstance(status_code, int) and 200 <= status_code < 300:
        return BatchResult(
            custom_id,
            "completed",
            body=body,
            status_code=status_code,
            request_id=request_id,
            batch_id=batch_id,
        )
    if error is not None:
        code = error.get("code")
        status = {"batch_expired": "expired", "batch_cancelled": "cancelled"}.get(str(code), "failed")
        failure: BaseException = BatchItemError(
            str(error.get("message") or code or "the batch gave no reason"), code=code, batch_id=batch_id
        )
    else:
        status = "failed"
        code_value = status_code if isinstance(status_code, int) else 500
        headers = Headers({"x-request-id": request_id} if isinstance(request_id, str) else {})
        failure = status_error(code_value, body, headers, request_id)
    return BatchResult(
        custom_id,
        status,
        body=body,
        error=failure,
        status_code=status_code,
        request_id=request_id,
        batch_id=batch_id,
    )


def _not_run(custom_id: str, batch: Mapping[str, Any], line: Optional[int]) -> BatchResult:
    """An item the batch's files say nothing about: why, from the batch's own status."""
    state = str(batch.get("status"))
    ident = batch.get("id")
    status, code = "not_run", "not_run"
    reason = f"batch {ident} ended ({state}) without a result for this request"
    if state == "expired":
        status, code = "expired", "batch_expired"
        reason = (
            f"batch {ident} expired (its completion window closed) before this request ran; submit it again"
        )
    elif state == "cancelled":
        status, code = "cancelled", "batch_cancelled"
        reason = f"batch {ident} was cancelled before this request ran"
    elif state == "failed":
        found = _batch_errors(batch)
        mine = [e for e in found if e.get("line") == line] or [e for e in found if e.get("line") is None]
        chosen = (mine or found or [{}])[0]
        where = f" (line {chosen['line']})" if chosen.get("line") else ""
        code = chosen.get("code") or "batch_failed"
        said = chosen.get("message") or "no reason given"
        reason = f"batch {ident} failed validation, so nothing in it ran: {said}{where}"
    error = BatchItemError(reason, code=code, batch_id=ident)
    return BatchResult(custom_id, status, error=error, batch_id=ident)


def _batch_errors(batch: Mapping[str, Any]) -> List[Dict[str, Any]]:
    errors = batch.get("errors")
    data = errors.get("data") if isinstance(errors, Mapping) else errors
    return [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []


def _counts(batches: Iterable[Mapping[str, Any]]) -> Dict[str, Any]:
    done = failed = total = 0
    states: Counter[str] = Counter()
    for batch in batches:
        counts = batch.get("request_counts") or {}
        done += int(counts.get("completed") or 0) + int(counts.get("failed") or 0)
        failed += int(counts.get("failed") or 0)
        total += int(counts.get("total") or 0)
        states[str(batch.get("status"))] += 1
    status = ", ".join(f"{n} {s}" if n > 1 or len(states) > 1 else s for s, n in states.items())
    return {"done": done, "failed": failed, "total": total or None, "status": status}


# -- the plans -----------------------------------------------------------------------------------------


class _Job:
    """What a job has submitted so far: named in any error that stops it, so it can be resumed."""

    def __init__(self) -> None:
        self.batch_ids: List[str] = []

    def note(self, error: BaseException) -> None:
        if not self.batch_ids:
            return
        note = (
            f"openai-bindings: the batch(es) {', '.join(self.batch_ids)} were submitted and go on "
            f"running on the server; resume with client.batch_results({self.resume_arg()})"
        )
        add_note = getattr(error, "add_note", None)
        if add_note is not None:  # Python 3.11+
            add_note(note)
        logger.warning(note)

    def resume_arg(self) -> str:
        return repr(self.batch_ids[0]) if len(self.batch_ids) == 1 else repr(self.batch_ids)


def _submit_plan(
    client: Client,
    requests: Iterable[Any],
    endpoint: str,
    completion_window: str,
    max_lines: int,
    max_bytes: int,
    params: Dict[str, Any],
    job: _Job,
) -> Plan:
    """Plan: check and write the inputs, then upload each and create its batch; the batch objects."""
    import shutil
    import tempfile

    directory = tempfile.mkdtemp(prefix="openai-bindings-batch-")
    try:
        inputs: List[_InputFile] = yield Thread(
            _write_inputs, client, requests, endpoint, directory, max_lines, max_bytes
        )
        created: List[Tuple[Dict[str, Any], List[str]]] = []
        for number, source in enumerate(inputs, 1):
            uploaded = yield Call(client.upload_file, source.path, "batch")
            batch = yield Call(
                client.create_batch,
                uploaded.body["id"],
                endpoint,
                completion_window=completion_window,
                **params,
            )
            created.append((batch.body, source.custom_ids))
            job.batch_ids.append(batch.body["id"])
            logger.info(
                "batch %s submitted (%d of %d, %d requests, input file %s)",
                batch.body["id"],
                number,
                len(inputs),
                len(source.custom_ids),
                uploaded.body["id"],
            )
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return created


def _follow_plan(
    client: Client,
    batches: List[Dict[str, Any]],
    custom_ids: Optional[List[List[str]]],
    poll_interval: float,
    progress: ProgressLike,
) -> Plan:
    """Plan: poll until every batch ended, then download and account for every item."""
    states = {batch["id"]: batch for batch in batches}
    label = batches[0]["id"] if len(batches) == 1 else f"{len(batches)} batches ({batches[0]['id']}, ...)"
    display = Progress(label, progress)
    try:
        while True:
            display.update(**_counts(states.values()))
            pending = [ident for ident, batch in states.items() if batch.get("status") not in TERMINAL]
            if not pending:
                break
            yield Sleep(poll_interval)
            for ident in pending:
                states[ident] = (yield Call(client.batch, ident)).body
    finally:
        display.close()
    final = [states[batch["id"]] for batch in batches]
    if custom_ids is None:
        custom_ids = []
        for batch in final:
            raw = (yield Call(client.file_content, batch["input_file_id"], max_response_size=None)).body
            custom_ids.append([entry["custom_id"] for entry in _parse_lines(raw)])
    results = BatchResults(final)
    for batch, ids in zip(final, custom_ids, strict=True):
        found: Dict[str, BatchResult] = {}
        for kind in ("output_file_id", "error_file_id"):
            file_id = batch.get(kind)
            if file_id:
                raw = (yield Call(client.file_content, file_id, max_response_size=None)).body
                for entry in _parse_lines(raw):
                    found[entry["custom_id"]] = _result_of(entry, batch["id"])
        for line, custom_id in enumerate(ids, 1):
            mine = found.pop(custom_id, None)
            results[custom_id] = mine if mine is not None else _not_run(custom_id, batch, line)
        for custom_id, result in found.items():  # in the files but not in the input: keep it, say so
            logger.warning("batch %s returned custom_id %r that was not in its input", batch["id"], custom_id)
            results.setdefault(custom_id, result)
    return results


def _resume_plan(client: Client, batch_ids: List[str], poll_interval: float, progress: ProgressLike) -> Plan:
    batches = []
    for ident in batch_ids:
        batches.append((yield Call(client.batch, ident)).body)
    return (yield from _follow_plan(client, batches, None, poll_interval, progress))


def _drive_job(client: Client, plan: Plan, job: _Job) -> Any:
    """Run a job's plan on the client's driver; whatever stops it names the batches to resume."""
    if client.is_async:

        async def run() -> Any:
            try:
                return await run_async(plan)
            except BaseException as error:
                job.note(error)
                raise

        return run()
    try:
        return run_sync(plan)
    except BaseException as error:
        job.note(error)
        raise


def _full_endpoint(endpoint: str, completion_window: str) -> str:
    """The endpoint as a batch line names it (``/v1/...``), once the settings are checked."""
    if not isinstance(completion_window, str) or not completion_window:
        raise ValueError(f"completion_window must be a string such as '24h', got {completion_window!r}")
    return "/v1" + api_path(endpoint)


def _check_setting(name: str, value: Any, kind: Callable[[Any], Any]) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return kind(value)


def run_batch(
    client: Any,
    requests: Iterable[Mapping[str, Any]],
    *,
    endpoint: str,
    completion_window: str,
    poll_interval: float,
    progress: ProgressLike,
    max_lines: int,
    max_bytes: int,
    **params: Any,
) -> Any:
    """``client.run_batch(...)``: see ``_scale.BatchJobs.run_batch``."""
    endpoint = _full_endpoint(endpoint, completion_window)
    poll = _check_setting("poll_interval", poll_interval, float)
    lines = _check_setting("max_lines", max_lines, int)
    size = _check_setting("max_bytes", max_bytes, int)
    Progress("check", progress)  # a bad progress= fails now, not after the upload
    job = _Job()

    def plan() -> Plan:
        created = yield from _submit_plan(
            client, requests, endpoint, completion_window, lines, size, params, job
        )
        batches = [batch for batch, _ in created]
        return (yield from _follow_plan(client, batches, [ids for _, ids in created], poll, progress))

    return _drive_job(client, plan(), job)


def submit_batches(
    client: Any,
    requests: Iterable[Mapping[str, Any]],
    *,
    endpoint: str = "/v1/chat/completions",
    completion_window: str = "24h",
    max_lines: int = MAX_LINES,
    max_bytes: int = MAX_BYTES,
    **params: Any,
) -> Any:
    """The first half of ``run_batch``: check, write, upload and create the batches, without waiting.

    Returns the batch objects (awaitable on AsyncOpenAI); ``batch_results`` takes it from there.
    """
    endpoint = _full_endpoint(endpoint, completion_window)
    lines = _check_setting("max_lines", max_lines, int)
    size = _check_setting("max_bytes", max_bytes, int)
    job = _Job()

    def plan() -> Plan:
        created = yield from _submit_plan(
            client, requests, endpoint, completion_window, lines, size, params, job
        )
        return [batch for batch, _ in created]

    return _drive_job(client, plan(), job)


def batch_results(
    client: Any, batch_id: Union[str, Sequence[str]], *, poll_interval: float, progress: ProgressLike
) -> Any:
    """``client.batch_results(...)``: see ``_scale.BatchJobs.batch_results``."""
    ids = [batch_id] if isinstance(batch_id, str) else list(batch_id)
    if not ids or not all(isinstance(i, str) and i for i in ids):
        raise ValueError(f"batch_results takes a batch id or a list of them, got {batch_id!r}")
    poll = _check_setting("poll_interval", poll_interval, float)
    Progress("check", progress)
    job = _Job()
    job.batch_ids = ids
    return _drive_job(client, _resume_plan(client, ids, poll, progress), job)
