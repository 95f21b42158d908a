"""What every endpoint group stands on: turning parameters into an ``APICall`` and running it.

An endpoint method says where its request goes and how its answer reads;
``_run`` (the client's) executes the call, blocking on ``OpenAI`` and awaiting
on ``AsyncOpenAI``. So each endpoint is written once for both clients.

Paths are written as templates with named placeholders (``/batches/{batch_id}``),
the way the API reference writes them: the ids are checked and filled in, and
the template names the endpoint in the parameter table (``GET /batches/{batch_id}``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Generator, Optional, Sequence, Tuple

from .._drive import run_async, run_sync
from .._plan import APICall, Options, split_options
from ..validation import check_id

if TYPE_CHECKING:
    from ..provider import Provider

__all__ = ["Endpoints"]


class Endpoints:
    """Base of the endpoint groups (chat, responses, files, batches...), mixed into both clients."""

    provider: Provider
    is_async: bool

    def _run(self, call: APICall, options: Options) -> Any:
        raise NotImplementedError

    def _drive(self, plan: Generator[Any, Any, Any]) -> Any:
        """Run a multi-request plan (an upload in parts, a batch job) on this client's driver."""
        return run_async(plan) if self.is_async else run_sync(plan)

    # -- describing calls ----------------------------------------------------------------------

    @staticmethod
    def _path(template: str, ids: Dict[str, Any]) -> str:
        if not ids:
            return template
        checked = {
            name: check_id(value, name.replace("_", " "), allow_slash=name == "model")
            for name, value in ids.items()
        }
        return template.format(**checked)

    def _with_model(self, body: Dict[str, Any], endpoint: str) -> Dict[str, Any]:
        """Fill in the provider's default model when the caller gave none."""
        if body.get("model") is None:
            model = self.provider.model_for(endpoint)
            if model is None:
                body.pop("model", None)
            else:
                body["model"] = model
        return body

    @staticmethod
    def _stream_kind(body: Dict[str, Any], kind: Optional[str]) -> Optional[str]:
        stream = body.get("stream")
        if stream is None or kind is None:
            return None
        if not isinstance(stream, bool):
            raise TypeError(f"stream must be True or False, got {stream!r}")
        return kind if stream else None

    def _json(
        self,
        method: str,
        template: str,
        endpoint: str,
        params: Dict[str, Any],
        *,
        stream: Optional[str] = None,
        legacy: bool = False,
        model: bool = False,
        headers: Optional[Dict[str, str]] = None,
        **ids: Any,
    ) -> Any:
        """A request whose parameters go as a JSON body."""
        options, body = split_options(params)
        output_type = _structured(body)
        if model:
            self._with_model(body, endpoint)
        key = f"{method} {template}"
        self.provider.check_params(key, body)
        call = APICall(
            method,
            self._path(template, ids),
            endpoint,
            json=body,
            stream=self._stream_kind(body, stream),
            legacy=legacy,
            headers=headers,
            key=key,
            output_type=output_type,
        )
        return self._run(call, options)

    def _query(
        self,
        method: str,
        template: str,
        endpoint: str,
        params: Dict[str, Any],
        *,
        raw: bool = False,
        headers: Optional[Dict[str, str]] = None,
        **ids: Any,
    ) -> Any:
        """A request whose parameters go in the query string (GET, DELETE, bodiless POST)."""
        options, query = split_options(params)
        key = f"{method} {template}"
        self.provider.check_params(key, query)
        call = APICall(
            method,
            self._path(template, ids),
            endpoint,
            params=query or None,
            raw=raw,
            headers=headers,
            key=key,
        )
        return self._run(call, options)

    def _form(
        self,
        template: str,
        endpoint: str,
        params: Dict[str, Any],
        files: Sequence[Tuple[str, Any]],
        *,
        stream: Optional[str] = None,
        model: bool = False,
        raw: bool = False,
        **ids: Any,
    ) -> Any:
        """A multipart/form-data POST: the files streamed from disk, the parameters as fields."""
        from ..multipart import MultipartBody

        options, fields = split_options(params)
        if model:
            self._with_model(fields, endpoint)
        self.provider.check_params(
            f"POST {template}", {**fields, **{name.split("[")[0]: True for name, _ in files}}
        )
        body = MultipartBody(fields, files)
        call = APICall(
            "POST",
            self._path(template, ids),
            endpoint,
            body=body,
            content_type=body.content_type,
            stream=self._stream_kind(fields, stream),
            raw=raw,
            key=f"POST {template}",
            form=fields,
        )
        return self._run(call, options)


def _structured(body: Dict[str, Any]) -> Any:
    """Turn ``response_format=`` / ``text_format=`` given as a Python type into the strict schema the
    API takes; the type, for parsing the answer (None when none was given)."""
    response_format = body.get("response_format")
    text_format = body.pop("text_format", None)
    if response_format is None and text_format is None:
        return None
    from ..structured import is_type_spec, response_format_for, text_format_for

    if text_format is not None:
        if not is_type_spec(text_format):
            raise TypeError(
                "text_format takes a Python type (a dataclass, TypedDict, pydantic model...); for a "
                "schema as a dict, pass text={'format': {...}}"
            )
        body["text"] = {**(body.get("text") or {}), **text_format_for(text_format)}
        return text_format
    if is_type_spec(response_format):
        body["response_format"] = response_format_for(response_format)
        return response_format
    return None
