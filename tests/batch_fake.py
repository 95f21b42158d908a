"""Batches on the FakeOpenAIServer, until the rebuilt fake (with its own batches) lands in main.

Same scripting names as the rebuilt fake: ``batch_polls(n)``, ``expire_next_batch(completed)``,
``fail_next_batch(message)``. Lines run through the server's own handlers when the batch is
created; each retrieval moves the batch one step along validating -> in_progress -> completed.
"""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any, Deque, Dict, List, Optional

from openai_bindings.testing import FakeOpenAIServer
from openai_bindings.testing.server import Action, RecordedRequest, Reply


class BatchFake(FakeOpenAIServer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.batches: Dict[str, Dict[str, Any]] = {}
        self._runs: Dict[str, Dict[str, Any]] = {}
        self._plans: Deque[Dict[str, Any]] = deque()
        self._polls = 3
        self.route("POST", "/v1/batches", self._create_batch)

    def batch_polls(self, polls: int) -> None:
        self._polls = polls

    def expire_next_batch(self, completed: Optional[int] = None) -> None:
        self._plans.append({"outcome": "expired", "completed": completed})

    def fail_next_batch(self, message: str = "scripted batch failure", code: str = "invalid_request") -> None:
        self._plans.append(
            {"outcome": "failed", "errors": [{"code": code, "message": message, "line": None}]}
        )

    def default(self, request: RecordedRequest) -> Action:
        if request.path.startswith("/v1/batches/") and request.method == "GET":
            ident = request.path.split("/")[3]
            if ident not in self.batches:
                return self._error(404, f"No batch found with id '{ident}'.")
            self._advance(ident)
            return Reply(body=self.batches[ident])
        return super().default(request)

    def _run_line(self, entry: Dict[str, Any]) -> Dict[str, Any]:
        handler = self._routes[("POST", entry["url"])]
        fake = RecordedRequest(
            "POST", entry["url"], {}, request_headers(), json.dumps(entry["body"]).encode(), 0
        )
        reply = handler(fake)
        assert isinstance(reply, Reply)
        payload, _ = reply.encoded()
        return {
            "id": self._next_id("batch_req"),
            "custom_id": entry["custom_id"],
            "response": {"status_code": reply.status, "request_id": "req_x", "body": json.loads(payload)},
            "error": None,
        }

    def _create_batch(self, request: RecordedRequest) -> Action:
        body = request.json or {}
        raw = self.file_contents[body["input_file_id"]]
        entries = [json.loads(line) for line in raw.splitlines() if line.strip()]
        plan = self._plans.popleft() if self._plans else {"outcome": "completed"}
        ran = len(entries)
        if plan["outcome"] == "expired":
            ran = plan["completed"] if plan["completed"] is not None else len(entries) // 2
        lines: List[Any] = []
        if plan["outcome"] != "failed":
            lines = [(e["custom_id"], self._run_line(e) if n < ran else None) for n, e in enumerate(entries)]
        ident = self._next_id("batch")
        self.batches[ident] = {
            "id": ident,
            "object": "batch",
            "endpoint": body["endpoint"],
            "input_file_id": body["input_file_id"],
            "completion_window": body["completion_window"],
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "errors": None,
            "created_at": int(time.time()),
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": body.get("metadata"),
        }
        self._runs[ident] = {"plan": plan, "lines": lines, "polls": 0}
        return Reply(body=self.batches[ident])

    def _advance(self, ident: str) -> None:
        batch, run = self.batches[ident], self._runs[ident]
        if batch["status"] in ("completed", "failed", "expired", "cancelled"):
            return
        run["polls"] += 1
        plan = run["plan"]
        if plan["outcome"] == "failed":
            batch.update(status="failed", errors={"object": "list", "data": plan["errors"]})
            return
        lines = run["lines"]
        if run["polls"] < self._polls:
            done = [r for _, r in lines[: len(lines) * run["polls"] // self._polls] if r]
            ok = sum(1 for r in done if r["response"]["status_code"] < 300)
            batch.update(
                status="in_progress",
                request_counts={"total": len(lines), "completed": ok, "failed": len(done) - ok},
            )
            return
        done = [r for _, r in lines if r is not None]
        ok = [r for r in done if r["response"]["status_code"] < 300]
        failed = [r for r in done if r["response"]["status_code"] >= 300]
        status = "expired" if plan["outcome"] == "expired" else "completed"
        if status == "expired":
            failed += [
                {
                    "id": self._next_id("batch_req"),
                    "custom_id": c,
                    "response": None,
                    "error": {"code": "batch_expired", "message": "This request could not be executed."},
                }
                for c, r in lines
                if r is None
            ]
        for kind, items in (("output", ok), ("error", failed)):
            if items:
                file_id = self._next_id("file")
                data = "".join(json.dumps(item) + "\n" for item in items).encode()
                self.files[file_id] = {
                    "id": file_id,
                    "object": "file",
                    "bytes": len(data),
                    "created_at": int(time.time()),
                    "filename": f"{ident}_{kind}.jsonl",
                    "purpose": "batch_output",
                }
                self.file_contents[file_id] = data
                batch[f"{kind}_file_id"] = file_id
        batch.update(
            status=status,
            request_counts={"total": len(lines), "completed": len(ok), "failed": len(failed)},
        )


def request_headers() -> Any:
    from openai_bindings.http import Headers

    return Headers({"content-type": "application/json"})
