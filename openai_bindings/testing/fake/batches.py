"""Batches: a JSONL file of requests run through the same handlers as live requests.

Each line runs when the batch is created (so scripted answers are used in file
order); each retrieval is one poll that moves the batch along its lifecycle,
``validating -> in_progress -> finalizing -> completed``, with ``request_counts``
growing as it goes. The output and error files are written when it ends.
Scripting (on the server): ``batch_polls(n)``, ``expire_next_batch()``,
``fail_next_batch()``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from ..server import Action, Reply
from .common import Call, Refused, error, find, listing, now
from .files import get as get_file
from .files import store_file

if TYPE_CHECKING:
    from .common import FakeServer as FakeOpenAIServer

ENDPOINTS = ("/v1/responses", "/v1/chat/completions", "/v1/embeddings", "/v1/completions", "/v1/moderations")
#: The API's per-batch limits.
MAX_LINES = 50_000
MAX_BYTES = 200 * 1024 * 1024


@dataclass
class BatchPlan:
    """How a batch will go: ``polls`` retrievals to finish, and how it ends."""

    polls: int = 3
    outcome: str = "completed"  # completed | expired | failed
    completed: Optional[int] = None  # lines run before expiring (default: half)
    errors: List[Dict[str, Any]] = field(default_factory=list)  # validation errors of a failing batch


@dataclass
class BatchRun:
    plan: BatchPlan
    lines: List[Tuple[str, Optional[Dict[str, Any]]]] = field(
        default_factory=list
    )  # (custom_id, result line)
    polls: int = 0
    cancelling: bool = False


def _line_errors(raw: bytes, endpoint: str) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """The requests of a batch input file, and the API's validation errors for its bad lines."""
    requests: List[Dict[str, Any]] = []
    errors: List[Dict[str, Any]] = []
    seen = set()

    def bad(line: int, code: str, message: str, param: Optional[str] = None) -> None:
        errors.append({"code": code, "message": message, "param": param, "line": line})

    if len(raw) > MAX_BYTES:
        bad(1, "file_too_large", f"The input file is larger than {MAX_BYTES} bytes.")
        return requests, errors
    lines = [line for line in raw.decode("utf-8", "replace").splitlines() if line.strip()]
    if len(lines) > MAX_LINES:
        bad(
            1,
            "too_many_requests",
            f"A batch may hold at most {MAX_LINES} requests; this file has {len(lines)}.",
        )
    if not lines:
        bad(1, "empty_file", "The input file is empty.")
    for number, line in enumerate(lines, 1):
        try:
            entry = json.loads(line)
        except ValueError:
            bad(number, "invalid_json_line", "This line is not parseable as valid JSON.")
            continue
        if not isinstance(entry, dict):
            bad(number, "invalid_json_line", "This line is not a JSON object.")
            continue
        custom_id = entry.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            bad(number, "missing_required_parameter", "Missing required parameter: 'custom_id'.", "custom_id")
        elif custom_id in seen:
            bad(
                number,
                "duplicate_custom_id",
                "The custom_id for this request is a duplicate of another request.",
                "custom_id",
            )
        if entry.get("method") != "POST":
            bad(number, "invalid_method", "The method for this request must be POST.", "method")
        if entry.get("url") != endpoint:
            bad(
                number,
                "mismatched_endpoint",
                f"The URL provided for this request does not match the batch endpoint ({endpoint}).",
                "url",
            )
        if not isinstance(entry.get("body"), dict):
            bad(number, "missing_required_parameter", "Missing required parameter: 'body'.", "body")
        seen.add(custom_id)
        requests.append(entry)
    return requests, errors


def _result(fake: FakeOpenAIServer, entry: Dict[str, Any]) -> Dict[str, Any]:
    """One request run as if it came live, as its output-file line."""
    body = entry["body"]
    if body.get("stream"):
        status, answer, request_id = (
            400,
            error(400, "Streaming is not supported in batches.", param="stream").body,
            fake.new_request_id(),
        )
    else:
        status, answer, request_id = fake.run_line("POST", entry["url"], body)
    return {
        "id": fake.new_id("batch_req"),
        "custom_id": entry["custom_id"],
        "response": {"status_code": status, "request_id": request_id, "body": answer},
        "error": None,
    }


def create(fake: FakeOpenAIServer, call: Call) -> Action:
    body = call.body
    input_file_id = call.require("input_file_id")
    endpoint = call.require("endpoint")
    window = call.require("completion_window")
    if endpoint not in ENDPOINTS:
        allowed = ", ".join(f"'{e}'" for e in ENDPOINTS)
        raise Refused(
            error(
                400,
                f"Invalid value: {endpoint!r}. Supported values are: {allowed}.",
                param="endpoint",
                code="invalid_value",
            )
        )
    if window != "24h":
        raise Refused(
            error(
                400,
                f"Invalid value: {window!r}. Supported values are: '24h'.",
                param="completion_window",
                code="invalid_value",
            )
        )
    source = get_file(fake, input_file_id)
    if source["purpose"] != "batch":
        raise Refused(
            error(400, f"File {input_file_id} must be uploaded with purpose 'batch'.", param="input_file_id")
        )
    plan = fake.batch_plans.popleft() if fake.batch_plans else BatchPlan(polls=fake.batch_default_polls)
    requests, errors = _line_errors(fake.file_contents[input_file_id], endpoint)
    run = BatchRun(plan)
    if errors and plan.outcome != "failed":
        plan.outcome, plan.errors = "failed", errors
    if plan.outcome != "failed":
        ran = (
            len(requests)
            if plan.outcome == "completed"
            else (plan.completed if plan.completed is not None else len(requests) // 2)
        )
        run.lines = [(e["custom_id"], _result(fake, e) if n < ran else None) for n, e in enumerate(requests)]
    ident = fake.new_id("batch")
    created = now()
    model = next((e["body"].get("model") for e in requests if isinstance(e.get("body"), dict)), None)
    fake.batches[ident] = {
        "id": ident,
        "object": "batch",
        "endpoint": endpoint,
        "model": model,
        "errors": None,
        "input_file_id": input_file_id,
        "completion_window": window,
        "status": "validating",
        "output_file_id": None,
        "error_file_id": None,
        "created_at": created,
        "in_progress_at": None,
        "expires_at": created + 86400,
        "finalizing_at": None,
        "completed_at": None,
        "failed_at": None,
        "expired_at": None,
        "cancelling_at": None,
        "cancelled_at": None,
        "request_counts": {"total": 0, "completed": 0, "failed": 0},
        "metadata": body.get("metadata") or {},
        "usage": None,
    }
    fake.batch_runs[ident] = run
    return Reply(body=fake.batches[ident])


def _counts(lines: List[Tuple[str, Optional[Dict[str, Any]]]], done: int) -> Dict[str, int]:
    finished = [result for _, result in lines[:done] if result is not None]
    ok = sum(1 for r in finished if 200 <= r["response"]["status_code"] < 300)
    return {"total": len(lines), "completed": ok, "failed": len(finished) - ok}


def _usage(results: List[Dict[str, Any]]) -> Dict[str, Any]:
    inputs = outputs = 0
    for result in results:
        answer = result["response"]["body"]
        used = answer.get("usage") if isinstance(answer, dict) else None
        if isinstance(used, dict):
            inputs += int(used.get("input_tokens", used.get("prompt_tokens", 0)) or 0)
            outputs += int(used.get("output_tokens", used.get("completion_tokens", 0)) or 0)
    return {
        "input_tokens": inputs,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": outputs,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": inputs + outputs,
    }


def _finish(fake: FakeOpenAIServer, batch: Dict[str, Any], run: BatchRun, status: str) -> None:
    """End the batch: write its output and error files, and stamp the final status."""
    moment = now()
    unfinished = {
        "expired": (
            "batch_expired",
            "This request could not be executed before the completion window expired.",
        ),
        "cancelled": ("batch_cancelled", "This request was not executed because the batch was cancelled."),
    }.get(status)
    done = [r for _, r in run.lines if r is not None]
    ok = [r for r in done if 200 <= r["response"]["status_code"] < 300]
    failed = [r for r in done if r not in ok]
    if unfinished is not None:
        code, message = unfinished
        failed += [
            {
                "id": fake.new_id("batch_req"),
                "custom_id": c,
                "response": None,
                "error": {"code": code, "message": message},
            }
            for c, r in run.lines
            if r is None
        ]
    for kind, lines in (("output", ok), ("error", failed)):
        if lines:
            data = "".join(json.dumps(line) + "\n" for line in lines).encode()
            stored = store_file(fake, f"batch_{batch['id']}_{kind}.jsonl", "batch_output", data)
            batch[f"{kind}_file_id"] = stored["id"]
    batch["request_counts"] = {"total": len(run.lines), "completed": len(ok), "failed": len(failed)}
    batch["usage"] = _usage(done)
    batch["status"] = status
    batch[f"{status}_at"] = moment
    if status == "completed" and batch["finalizing_at"] is None:
        batch["finalizing_at"] = moment


def advance(fake: FakeOpenAIServer, batch: Dict[str, Any]) -> None:
    """One poll: the next step of the batch's lifecycle, as its plan says."""
    run = fake.batch_runs.get(batch["id"])
    if run is None or batch["status"] in ("completed", "failed", "expired", "cancelled"):
        return
    run.polls += 1
    moment = now()
    if run.cancelling:
        _finish(fake, batch, run, "cancelled")
        return
    if run.plan.outcome == "failed":
        batch.update(status="failed", failed_at=moment, errors={"object": "list", "data": run.plan.errors})
        return
    total = len(run.lines)
    if batch["in_progress_at"] is None:
        batch["in_progress_at"] = moment
    polls = max(1, run.plan.polls)
    if run.polls >= polls:
        _finish(fake, batch, run, "expired" if run.plan.outcome == "expired" else "completed")
    elif run.polls == polls - 1 and polls >= 3:
        batch.update(status="finalizing", finalizing_at=moment, request_counts=_counts(run.lines, total))
    else:
        batch.update(status="in_progress", request_counts=_counts(run.lines, total * run.polls // polls))


def _get(fake: FakeOpenAIServer, call: Call) -> Dict[str, Any]:
    return find(fake.batches, call.args["batch_id"], "No batch found with id '{id}'.")


def retrieve(fake: FakeOpenAIServer, call: Call) -> Action:
    batch = _get(fake, call)
    advance(fake, batch)
    return Reply(body=batch)


def list_batches(fake: FakeOpenAIServer, call: Call) -> Action:
    return listing(call, list(fake.batches.values()))


def cancel(fake: FakeOpenAIServer, call: Call) -> Action:
    batch = _get(fake, call)
    if batch["status"] in ("completed", "failed", "expired", "cancelled"):
        raise Refused(error(409, f"Cannot cancel a batch with status '{batch['status']}'.", param="batch_id"))
    run = fake.batch_runs[batch["id"]]
    if not run.cancelling:
        done = len(run.lines) * run.polls // max(1, run.plan.polls)
        run.lines = [(c, r if n < done else None) for n, (c, r) in enumerate(run.lines)]
        run.cancelling = True
        batch.update(status="cancelling", cancelling_at=now())
    return Reply(body=batch)


ROUTES = {
    "POST /batches": create,
    "GET /batches": list_batches,
    "GET /batches/{batch_id}": retrieve,
    "POST /batches/{batch_id}/cancel": cancel,
}
