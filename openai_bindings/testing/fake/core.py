"""FakeOpenAIServer: the whole OpenAI API on 127.0.0.1, answering as the real one does.

Standard library only. Answers are built from what the request asked
(streamed when ``stream`` is true), so one scripted reply serves plain and
streamed calls, chat completions and the Responses API alike:

    with FakeOpenAIServer() as server:
        server.reply_with("Hello!")                                   # the next model answer
        server.reply_with_tool_call("get_weather", {"city": "Paris"}) # or a tool call
        server.fail_with(429, "slow down", headers={"Retry-After": "1"})
        client = openai_bindings.OpenAI(base_url=server.base_url)

Without a scripted answer, the model echoes the last user text (``echo: ...``),
or sends a value of the JSON schema the request asked for. Like the API, the
server refuses unknown parameters, unknown models (with ``models=[...]``),
paths outside ``/v1``, and assistants calls without ``OpenAI-Beta``; every answer
has an ``x-request-id``. Faults: ``delay_next(seconds)``, ``drop_next()``, and
any ``Stall`` / ``Drop`` / ``Reset`` / raw ``Reply`` queued with ``queue()``.
Every request is recorded in ``server.requests``.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import uuid
from collections import deque
from typing import Any, Deque, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from ...http import Headers
from ...params import known_params
from ..server import Action, Drop, LocalServer, RecordedRequest, Reply
from . import routes
from .batches import BatchPlan, BatchRun
from .common import Call, Refused, base_name, error
from .images import IMAGE_PATH, PNG_1X1
from .ratelimit import Limiter, RateLimit
from .script import Script, ScriptedToolCall, Text, Tools

__all__ = ["FakeOpenAIServer"]

#: Endpoints that word an unknown parameter the older way.
_LEGACY_WORDING = ("POST /chat/completions", "POST /completions", "POST /embeddings", "POST /moderations")
_BETA = "assistants=v2"


class FakeOpenAIServer(LocalServer):
    """The OpenAI API, faithful to its schemas, with scripted answers and faults.

    ``models``: the only models that exist (others get 404 ``model_not_found``);
    by default any model is accepted and ``fake-model`` / ``fake-embedding`` are listed.
    ``rate_limit``: a ``RateLimit`` (or a dict of its fields) the server enforces,
    sending ``x-ratelimit-*`` headers and 429s. ``check_params=False`` lets
    unknown parameters through (for vendor extensions). ``cors=True`` lets a
    browser page call it. Other keywords go to ``LocalServer`` (``host``, ``port``).
    """

    model = "fake-model"
    embedding_model = "fake-embedding"

    def __init__(
        self,
        *,
        models: Optional[Iterable[str]] = None,
        rate_limit: Union[RateLimit, Mapping[str, Any], None] = None,
        check_params: bool = True,
        **kwargs: Any,
    ) -> None:
        names = None if models is None else list(models)
        if names is not None and (not names or not all(isinstance(n, str) and n for n in names)):
            raise ValueError(f"models= must be a non-empty list of model names, got {models!r}")
        super().__init__(**kwargs)
        self.restrict_models = names is not None
        self.models: List[str] = names if names is not None else [self.model, self.embedding_model]
        if names is not None:
            self.model = names[0]
        self.check_params = check_params
        self.limiter = Limiter(rate_limit) if rate_limit is not None else None
        self.script = Script()
        self._counter = 0
        self._ids = threading.Lock()
        self._state = threading.RLock()  # re-entrant: a batch runs its lines through default()
        self._delay = 0.0
        # What the API keeps, by id, oldest first.
        self.responses: Dict[str, Dict[str, Any]] = {}
        self.response_inputs: Dict[str, List[Dict[str, Any]]] = {}
        self.response_pending: Dict[str, Dict[str, Any]] = {}
        self.chat_completions: Dict[str, Dict[str, Any]] = {}
        self.chat_messages: Dict[str, List[Dict[str, Any]]] = {}
        self.files: Dict[str, Dict[str, Any]] = {}
        self.file_contents: Dict[str, bytes] = {}
        self.uploads: Dict[str, Dict[str, Any]] = {}
        self.upload_parts: Dict[str, Tuple[str, bytes]] = {}
        self.upload_expiry: Dict[str, Optional[int]] = {}
        self.batches: Dict[str, Dict[str, Any]] = {}
        self.batch_runs: Dict[str, BatchRun] = {}
        self.batch_plans: Deque[BatchPlan] = deque()
        self.batch_default_polls = 3
        self.conversations: Dict[str, Dict[str, Any]] = {}
        self.conversation_items: Dict[str, List[Dict[str, Any]]] = {}
        self.vector_stores: Dict[str, Dict[str, Any]] = {}
        self.vector_store_files: Dict[str, Dict[str, Dict[str, Any]]] = {}
        self.assistants: Dict[str, Dict[str, Any]] = {}
        self.threads: Dict[str, Dict[str, Any]] = {}
        self.thread_messages: Dict[str, List[Dict[str, Any]]] = {}
        self.route(
            "GET", IMAGE_PATH, lambda request: Reply(body=PNG_1X1, headers={"Content-Type": "image/png"})
        )

    @property
    def base_url(self) -> str:
        return self.url("/v1")

    # -- scripting ---------------------------------------------------------------------

    def reply_with(self, *texts: str) -> None:
        """The next model answers (chat, completions, Responses, transcripts) are these texts, in order."""
        self.script.push(*(Text(text) for text in texts))

    def reply_with_tool_call(
        self,
        name: str,
        arguments: Union[Dict[str, Any], str],
        call_id: Optional[str] = None,
    ) -> None:
        """The next model answer asks for one tool call."""
        self.script.push(Tools([ScriptedToolCall(name, arguments, call_id)]))

    def reply_with_tool_calls(
        self, *calls: Union[ScriptedToolCall, tuple], text: Optional[str] = None
    ) -> None:
        """The next model answer asks for several tool calls at once (parallel calls)."""
        made = [c if isinstance(c, ScriptedToolCall) else ScriptedToolCall(*c) for c in calls]
        self.script.push(Tools(made, text))

    def fail_with(
        self,
        status: int,
        message: str = "scripted failure",
        code: Optional[str] = None,
        headers: Optional[Dict[str, str]] = None,
    ) -> None:
        """The next model request gets this error status and an OpenAI-shaped error body."""
        self.script.push(error(status, message, code=code, headers=headers))

    def delay_next(self, seconds: float) -> None:
        """The next answer (of any endpoint) waits this long before its status line."""
        self._delay = seconds

    def drop_next(self, after: bytes = b"") -> None:
        """The next request's connection is dropped mid-answer, after sending ``after``."""
        self.queue(Drop(sent=after))

    def batch_polls(self, polls: int) -> None:
        """Batches created from now on need this many retrievals to finish (default 3)."""
        if not isinstance(polls, int) or polls < 1:
            raise ValueError(f"batch_polls takes a positive number of polls, got {polls!r}")
        self.batch_default_polls = polls

    def expire_next_batch(self, completed: Optional[int] = None, polls: Optional[int] = None) -> None:
        """The next batch expires after running its first ``completed`` lines (default: half of them)."""
        self.batch_plans.append(BatchPlan(polls or self.batch_default_polls, "expired", completed))

    def fail_next_batch(self, message: str = "scripted batch failure", code: str = "invalid_request") -> None:
        """The next batch fails validation with this error."""
        errors = [{"code": code, "message": message, "param": None, "line": None}]
        self.batch_plans.append(BatchPlan(1, "failed", errors=errors))

    # -- helpers for the handlers ----------------------------------------------------------

    def new_id(self, prefix: str, separator: str = "_") -> str:
        with self._ids:
            self._counter += 1
            return f"{prefix}{separator}{self._counter:04d}"

    @staticmethod
    def new_request_id() -> str:
        return f"req_{uuid.uuid4().hex}"

    def model_for(self, body: Mapping[str, Any]) -> str:
        model = body.get("model")
        return model if isinstance(model, str) and model else self.model

    # -- the request pipeline ---------------------------------------------------------------

    def _action_for(self, request: RecordedRequest) -> Action:
        limit_headers: Dict[str, str] = {}
        action: Optional[Action] = None
        if self.limiter is not None and request.path.startswith("/v1/"):
            body = request.json
            model = body.get("model") if isinstance(body, dict) else None
            limit_headers, action = self.limiter.admit(body, model if isinstance(model, str) else None)
        if action is None:
            action = super()._action_for(request)
        if not isinstance(action, Reply):
            return action
        present = {name.lower() for name in action.headers}
        headers = dict(action.headers)
        if "x-request-id" not in present:
            headers["x-request-id"] = self.new_request_id()
        headers.update({k: v for k, v in limit_headers.items() if k not in present})
        action = dataclasses.replace(action, headers=headers)
        if self._delay:
            action.delay, self._delay = self._delay, 0.0
        return action

    def default(self, request: RecordedRequest) -> Action:
        """The route table, behind the checks the API makes before any endpoint runs.

        Handlers run one at a time (the stores stay consistent under concurrent
        clients); answers are still sent, delayed and streamed concurrently.
        """
        with self._state:
            try:
                return self.dispatch(request)
            except Refused as refused:
                return refused.reply

    def dispatch(self, request: RecordedRequest) -> Action:
        found = routes.match(request.method, request.path[3:]) if request.path.startswith("/v1/") else None
        if found is None:
            raise Refused(error(404, f"Invalid URL ({request.method} {request.path})"))
        key, handler, args = found
        call = Call.parse(request, key, args)
        self._check(call)
        return handler(self, call)

    def _check(self, call: Call) -> None:
        """What the API refuses before any endpoint runs: no beta header, unknown parameters or models."""
        path = call.key.split(" ", 1)[1]
        if path.startswith(("/assistants", "/threads")) and _BETA not in call.request.headers.get(
            "openai-beta", ""
        ):
            raise Refused(
                error(
                    400,
                    "You must provide the 'OpenAI-Beta' header to access the Assistants API. "
                    "Please try again by setting the header 'OpenAI-Beta: assistants=v2'.",
                    code="invalid_beta",
                )
            )
        if self.check_params and call.request.method == "POST":  # bodies; query strings are let be
            known = known_params(call.key)
            if known is not None:
                for name in {**call.body, **call.files}:
                    if base_name(name) not in known:
                        raise Refused(_unknown_parameter(call.key, base_name(name)))
        model = call.body.get("model")
        if (
            self.restrict_models
            and call.request.method == "POST"
            and model is not None
            and model not in self.models
        ):
            raise Refused(
                error(
                    404,
                    f"The model `{model}` does not exist or you do not have access to it.",
                    code="model_not_found",
                )
            )

    def run_line(self, method: str, url: str, body: Dict[str, Any]) -> Tuple[int, Any, str]:
        """Answer one batch line as if it had come over HTTP: (status, decoded body, request id)."""
        request = RecordedRequest(
            method=method,
            path=url.split("?", 1)[0],
            query={},
            headers=Headers({"content-type": "application/json"}),
            body=json.dumps(body).encode(),
            connection=0,
        )
        handler = self._routes.get((method, request.path))
        action = handler(request) if handler is not None else self.default(request)
        request_id = self.new_request_id()
        if not isinstance(action, Reply) or action.chunks is not None:
            failure = error(500, "The server had an error while processing this request.")
            return 500, failure.body, request_id
        payload, _ = action.encoded()
        try:
            decoded = json.loads(payload) if payload else None
        except ValueError:
            decoded = payload.decode("utf-8", "replace")
        return action.status, decoded, request_id


def _unknown_parameter(key: str, name: str) -> Reply:
    if key in _LEGACY_WORDING:
        return error(400, f"Unrecognized request argument supplied: {name}")
    return error(400, f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")
