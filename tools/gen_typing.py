#!/usr/bin/env python3
"""Generate openai_bindings/_typing.pyi: typed declarations of both clients' calls.

Run it whenever an endpoint is added or its signature changes, and commit the output
(tests/test_typing.py fails while the committed file is stale):

    python tools/gen_typing.py            # rewrite openai_bindings/_typing.pyi
    python tools/gen_typing.py --check    # exit 1, saying so, when it is stale

Every endpoint is defined once, in openai_bindings/api/*.py, and runs on both
clients: it returns an APIResult (a Stream with ``stream=True``) on ``OpenAI``, and
the same call is a coroutine on ``AsyncOpenAI``. At run time each method is typed
``(**params: Any) -> Any``. This script reads those definitions (signatures and
docstrings, through ``inspect``; whether a method is a call and whether it streams,
through its source). A call is a public method that returns what the client runs
(``return self._json/_query/_form/_run/_drive(...)``): every method of an endpoint
group, ``BaseClient.request``, and any such method of BaseClient's other mixins (one
that runs its plan from another module says so in RESULT_TYPES: ``call=True``). It
writes a stub that declares, for type checkers only:

- ``SyncClient`` and ``AsyncClient``, subclasses of ``BaseClient`` that
  ``OpenAI`` / ``AsyncOpenAI`` derive from while type checking (see client.py);
- for each call: its own parameters (``Any`` ones typed from PARAM_TYPES), the
  per-call options (``_plan.OPTION_NAMES``, typed from OPTION_TYPES), and its result:
  ``APIResult[Body]``, or with ``stream=True`` ``Stream[Event]`` (``AsyncStream`` on
  the async client, whose methods are ``async def``, so a forgotten ``await`` is an
  error). Body and event types come from RESULT_TYPES below; a call it does not name
  gets ``APIResult[Any]``.

A new call that streams but has no event type here, a new option with no type, or an
annotation the stub cannot name stops the script with a message saying what to add.
It needs only the standard library and this repository's package.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import keyword
import os
import re
import sys
import textwrap
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Set

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.join(ROOT, "openai_bindings", "_typing.pyi")
LINE_LENGTH = 110  # pyproject.toml's, so that `ruff format` leaves the output as it is


@dataclass(frozen=True)
class Result:
    """What a call gives: ``APIResult[body]``, and with ``stream=True`` a stream of ``events``."""

    body: Optional[str] = None  # the body's type (None: Any)
    events: Optional[str] = None  # the event type, for the calls that stream
    format: Optional[str] = None  # the structured-output option it takes ("response_format"...)
    #: For a method that runs a plan through the client's driver from elsewhere (``return
    #: run_batch(self, ...)``), which its source does not show: it is a call all the same, and
    #: gives ``returns`` (by default its own return annotation).
    call: bool = False
    returns: Optional[str] = None


#: Result types by method (names from openai_bindings.types, or builtins). A call not listed gives
#: APIResult[Any]; one that runs a plan of several requests (``return self._drive(...)``), what its
#: own return annotation says, unless it is listed here (then it gives an APIResult too).
RESULT_TYPES: Dict[str, Result] = {
    "create_chat_completion": Result("ChatCompletion", "ChatCompletionChunk", "response_format"),
    "chat": Result("ChatCompletion", "LegacyChunk", "response_format"),
    "chat_completion": Result("ChatCompletion"),
    "update_chat_completion": Result("ChatCompletion"),
    "delete_chat_completion": Result("Deleted"),
    "completion": Result("Completion", "Completion"),
    "embedding": Result("EmbeddingList"),
    "moderation": Result("ModerationResponse"),
    "create_response": Result("Response", "ResponseStreamEvent", "text_format"),
    "response": Result("Response"),
    "cancel_response": Result("Response"),
    "models": Result("ModelList"),
    "model": Result("Model"),
    "delete_model": Result("Deleted"),
    "files": Result("FileList"),
    "file": Result("FileObject"),
    "delete_file": Result("Deleted"),
    "file_content": Result("bytes"),
    "upload_file": Result("FileObject"),
    "image_generation": Result("ImagesResponse", "ImageStreamEvent"),
    "image_edit": Result("ImagesResponse", "ImageStreamEvent"),
    "image_variation": Result("ImagesResponse"),
    "speech": Result("bytes", "bytes"),
    "transcription": Result(None, "TranscriptionStreamEvent"),
    "create_batch": Result("Batch"),
    "batch": Result("Batch"),
    "batches": Result("BatchList"),
    "cancel_batch": Result("Batch"),
    "delete_conversation": Result("Deleted"),
    "delete_vector_store": Result("Deleted"),
    "delete_thread": Result("Deleted"),
    "request": Result(None, "Any"),
    "run_batch": Result(call=True, returns="BatchResults"),
    "batch_results": Result(call=True, returns="BatchResults"),
}

#: Types for parameters the runtime signature leaves as Any: by (method, name), else by name.
PARAM_TYPES: Dict[Any, str] = {
    "messages": "ChatMessages",
    "prompt": "TextInput",
    "file": "FileInput",
    "data": "FileInput",
    "image": "Union[FileInput, List[FileInput]]",
    "items": "Sequence[Mapping[str, Any]]",
    "query": "Union[str, Sequence[str]]",
    ("embedding", "input"): "TextInput",
    ("moderation", "input"): "ModerationInput",
    ("create_response", "input"): "Optional[ResponseInput]",
}

#: The per-call options every call takes (openai_bindings._plan.OPTION_NAMES), and their types.
OPTION_TYPES: Dict[str, str] = {
    "timeout": "TimeoutLike",
    "max_retries": "int",
    "max_retry_wait": "Optional[float]",
    "max_response_size": "Optional[int]",
    "extra_headers": "Optional[Mapping[str, str]]",
    "extra_query": "Optional[Mapping[str, Any]]",
    "extra_body": "Optional[Mapping[str, Any]]",
}
#: A Python type (dataclass, TypedDict, pydantic model, Enum, Literal, list[...]...) or the API's
#: own dict: no static type says all of that, so Any.
FORMAT_TYPE = "Any"

#: Where each name the stub may use comes from.
IMPORTS: Dict[str, str] = {
    **dict.fromkeys(
        ["IO", "Any", "Callable", "Dict", "Iterable", "List", "Literal", "Mapping", "Optional", "Sequence"],
        "typing",
    ),
    **dict.fromkeys(["Tuple", "Union", "overload"], "typing"),
    "BaseClient": ".client",
    "Body": ".http",
    "TimeoutLike": ".http",
    "APIResult": ".result",
    "AsyncStream": ".streaming",
    "LegacyChunk": ".streaming",
    "Stream": ".streaming",
    "BatchResults": ".batch",
    "ProgressLike": ".progress",
}
BUILTINS = {"bool", "bytes", "dict", "float", "int", "list", "object", "str", "tuple", "None"}

#: What makes a method a call: it returns what one of these gives (a coroutine on AsyncOpenAI).
#: ``_drive`` runs a plan of several requests, whose result is the plan's own.
RUNNERS = {"_json", "_query", "_form", "_run", "_drive"}

HEADER = '''\
# Generated by tools/gen_typing.py from openai_bindings/api/*.py and client.py: do not edit.
# Re-run `python tools/gen_typing.py` after adding or changing an endpoint.
"""Typed declarations of both clients' calls, for type checkers only (nothing here runs).

``OpenAI`` derives from ``SyncClient`` and ``AsyncOpenAI`` from ``AsyncClient`` only while
type checking (see client.py); at run time their methods are api/*.py's, defined once for
both. Here each call is ``APIResult[Body]``, or ``Stream[Event]`` with ``stream=True``; on
the async client it is an ``async def``, so a forgotten ``await`` is a type error.
"""
'''


@dataclass
class Call:
    """One call of the clients, as read from its definition."""

    name: str
    group: str  # the file that defines it, in the package
    signature: inspect.Signature
    doc: str
    streams: bool
    result: Result
    returns: str  # what it gives without stream=True


class GenerationError(Exception):
    """The definitions need something this script does not know: the message says what to add."""


# -- reading the definitions ----------------------------------------------------------------------


def _source_tree(function: Callable[..., Any]) -> ast.FunctionDef:
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    node = tree.body[0]
    assert isinstance(node, ast.FunctionDef)
    return node


def _returns(node: ast.FunctionDef) -> Iterator[Optional[ast.expr]]:
    """The values the function itself returns (not those of functions nested in it)."""
    todo: List[ast.AST] = list(node.body)
    while todo:
        item = todo.pop()
        if isinstance(item, ast.Return):
            yield item.value
        elif not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            todo.extend(ast.iter_child_nodes(item))


def _runners(node: ast.FunctionDef) -> Optional[Set[str]]:
    """The runners its returns hand back (``return self._json(...)``); None when some return does not."""
    runners: Set[str] = set()
    for value in _returns(node):
        if not (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Attribute)
            and isinstance(value.func.value, ast.Name)
            and value.func.value.id == "self"
            and value.func.attr in RUNNERS
        ):
            return None
        runners.add(value.func.attr)
    return runners or None


def _streams(node: ast.FunctionDef) -> bool:
    """Some call in its body passes a ``stream=`` that is not simply None or False."""
    for item in ast.walk(node):
        if isinstance(item, ast.Call):
            for kw in item.keywords:
                if kw.arg == "stream" and not (
                    isinstance(kw.value, ast.Constant) and kw.value.value in (None, False)
                ):
                    return True
    return False


def read_calls() -> List[Call]:
    """Every call of the clients: the endpoint groups', then BaseClient's and its other mixins'."""
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from openai_bindings.api import AllEndpoints
    from openai_bindings.api._base import Endpoints
    from openai_bindings.client import BaseClient

    groups = [
        cls
        for cls in AllEndpoints.__mro__
        if issubclass(cls, Endpoints) and cls not in (AllEndpoints, Endpoints)
    ]
    others = [
        cls
        for cls in BaseClient.__mro__
        if cls.__module__.startswith("openai_bindings.") and cls not in (*groups, AllEndpoints, Endpoints)
    ]
    calls: List[Call] = []
    seen = set()
    for cls in [*groups, *others]:
        in_api = cls in groups
        for name, function in vars(cls).items():
            if name.startswith("_") or not inspect.isfunction(function) or name in seen:
                continue
            node = _source_tree(function)
            result = RESULT_TYPES.get(name, Result())
            runners = _runners(node) or ({"_drive"} if result.call else None)
            if runners is None:
                if in_api:
                    raise GenerationError(
                        f"{cls.__module__}.{cls.__name__}.{name}: every public method of an endpoint "
                        f"group must `return self._json/_query/_form/_run/_drive(...)`, so that it is "
                        "a coroutine on AsyncOpenAI; prefix a helper's name with '_'"
                    )
                continue  # a plain method of BaseClient (sessions, paginate): typed where it is defined
            seen.add(name)
            streams = _streams(node)
            if streams and result.events is None:
                raise GenerationError(
                    f"{name} streams: give its event type in RESULT_TYPES of tools/gen_typing.py, "
                    f'e.g. "{name}": Result("BodyType", "EventType")'
                )
            if result.events is not None and not streams:
                raise GenerationError(f"{name} does not stream: drop the event type RESULT_TYPES gives it")
            signature = inspect.signature(function)
            if result.returns is not None:
                returns = result.returns
            elif result.body is not None or runners != {"_drive"}:
                returns = f"APIResult[{result.body or 'Any'}]"
            else:  # a plan of several requests: it says itself what it gives
                returns = _annotation_text(signature.return_annotation, signature)
            calls.append(
                Call(
                    name,
                    cls.__module__.split(".", 1)[1].replace(".", "/") + ".py",
                    signature,
                    inspect.getdoc(function) or "",
                    streams,
                    result,
                    returns,
                )
            )
    stale = sorted(set(RESULT_TYPES) - seen)
    if stale:
        raise GenerationError(f"RESULT_TYPES names methods the clients do not have: {', '.join(stale)}")
    return calls


def _options() -> Dict[str, str]:
    from openai_bindings._plan import _CALLBACK_NAMES, OPTION_NAMES

    missing = [name for name in OPTION_NAMES if name not in OPTION_TYPES]
    if missing:
        raise GenerationError(f"give the type of the option(s) {', '.join(missing)} in OPTION_TYPES")
    return {**{name: OPTION_TYPES[name] for name in OPTION_NAMES}, **dict.fromkeys(_CALLBACK_NAMES, "")}


# -- writing the stub ----------------------------------------------------------------------------------


def _parameters(call: Call, stream: Optional[str], options: Dict[str, str]) -> List[str]:
    """The parameters of one declaration; ``stream`` is the annotation of ``stream=`` (None: absent)."""
    out: List[str] = ["self"]
    keyword_only = False
    var_keyword: Optional[inspect.Parameter] = None
    for parameter in list(call.signature.parameters.values())[1:]:
        kind = parameter.kind
        if kind is parameter.VAR_KEYWORD:
            var_keyword = parameter
            continue
        if kind is parameter.VAR_POSITIONAL:
            keyword_only = True
            out.append(f"*{parameter.name}: {_annotation(call, parameter)}")
            continue
        if parameter.name == "stream" or parameter.name in options:
            continue  # declared below, the same way for every call
        if kind is parameter.KEYWORD_ONLY and not keyword_only:
            keyword_only = True
            out.append("*")
        default = "" if parameter.default is parameter.empty else " = ..."
        out.append(f"{parameter.name}: {_annotation(call, parameter)}{default}")
    if var_keyword is None:  # it takes no options: nothing more to declare
        return out
    if not keyword_only:
        out.append("*")
    if stream is not None:
        out.append(f"stream: {stream}")
    if call.result.format is not None:
        out.append(f"{call.result.format}: {FORMAT_TYPE} = ...")
    event = call.result.events or "Any"
    for name, annotation in options.items():
        if not annotation:  # a stream callback, called with each event: only where a stream may be
            if stream is None or stream.startswith("Literal[False]"):
                continue
            annotation = f"Optional[Callable[[{event}], Any]]"
        out.append(f"{name}: {annotation} = ...")
    out.append(f"**{var_keyword.name}: Any")
    return out


def _annotation(call: Call, parameter: inspect.Parameter) -> str:
    annotation = _annotation_text(parameter.annotation, call.signature)
    if annotation == "Any":
        annotation = PARAM_TYPES.get((call.name, parameter.name), PARAM_TYPES.get(parameter.name, "Any"))
    return annotation


def _annotation_text(annotation: Any, signature: inspect.Signature) -> str:
    if annotation is signature.empty:
        return "Any"
    if not isinstance(annotation, str):  # only without `from __future__ import annotations`
        return inspect.formatannotation(annotation)
    return annotation


def _declaration(call: Call, asynchronous: bool, stream: Optional[str], returns: str, overload: bool) -> str:
    options = _options()
    head = f"{'async def' if asynchronous else 'def'} {call.name}("
    parameters = _parameters(call, stream, options)
    one_line = f"    {head}{', '.join(parameters)}) -> {returns}:"
    if len(one_line) <= LINE_LENGTH:
        lines = [one_line]
    else:
        lines = [f"    {head}", *(f"        {p}," for p in parameters), f"    ) -> {returns}:"]
    decorator = ["    @overload"] if overload else []
    return "\n".join([*decorator, *lines, _docstring(call.doc)])


def _docstring(doc: str) -> str:
    if not doc:
        return "        ..."
    doc = doc.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if doc.endswith('"'):
        doc += " "
    lines = doc.splitlines()
    if len(lines) == 1:
        return f'        """{doc}"""'
    body = "\n".join(f"        {line}".rstrip() for line in lines[1:])
    return f'        """{lines[0]}\n{body}\n        """'


def _declarations(call: Call, asynchronous: bool) -> List[str]:
    body = call.returns
    if not call.streams:
        return [_declaration(call, asynchronous, None, body, overload=False)]
    stream = f"{'AsyncStream' if asynchronous else 'Stream'}[{call.result.events}]"
    return [
        _declaration(call, asynchronous, "Literal[True]", stream, overload=True),
        _declaration(call, asynchronous, "Literal[False] = ...", body, overload=True),
        _declaration(call, asynchronous, "bool = ...", f"Union[{body}, {stream}]", overload=True),
    ]


def _client(name: str, doc: str, calls: List[Call], asynchronous: bool) -> str:
    parts = [f"class {name}(BaseClient):\n    {doc}\n"]
    group = None
    for call in calls:
        if call.group != group:
            group = call.group
            parts.append(f"    # -- {group} " + "-" * (LINE_LENGTH - 13 - len(group)))
        parts.extend(_declarations(call, asynchronous))
    return "\n".join(parts)


def _imports(text: str) -> str:
    """The import lines for the names the declarations use."""
    from openai_bindings import types

    known = {**IMPORTS, **dict.fromkeys(types.__all__, ".types")}
    used = set(re.findall(r"\b[A-Za-z_][A-Za-z_0-9]*\b", _code_only(text)))
    by_module: Dict[str, List[str]] = {}
    for name in sorted(used):
        module = known.get(name)
        if module is not None:
            by_module.setdefault(module, []).append(name)
    lines: List[str] = []
    for module in sorted(by_module, key=lambda m: (m.startswith("."), m)):
        if module.startswith(".") and lines and not lines[-1].startswith("from ."):
            lines.append("")  # the package's own imports are a section of their own
        names = sorted(by_module[module], key=_isort_key)
        line = f"from {module} import {', '.join(names)}"
        if len(line) > LINE_LENGTH:
            line = f"from {module} import (\n" + "".join(f"    {n},\n" for n in names) + ")"
        lines.append(line)
    return "\n".join(lines)


def _isort_key(name: str) -> tuple:
    """isort's (and ruff's) order by type: CONSTANTS, then Classes, then functions."""
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return (kind, name.lower(), name)


def _code_only(text: str) -> str:
    """The declarations without their docstrings and comments (whose words are not names)."""
    text = re.sub(r'"""(?:[^"\\]|\\.|"(?!""))*"""', "", text)
    return re.sub(r"#[^\n]*", "", text)


def _check_names(text: str) -> None:
    from openai_bindings import types

    known = {*IMPORTS, *types.__all__, *BUILTINS, "self", "SyncClient", "AsyncClient"}
    code = _code_only(text)
    code = re.sub(r"\b(?:async def|def|class) [A-Za-z_0-9]+", "", code)  # the names being declared
    code = re.sub(r"\b[A-Za-z_0-9]+(?=:)|\*\*?[A-Za-z_0-9]+", "", code)  # parameter names
    unknown = {
        name
        for name in re.findall(r"\b[A-Za-z_][A-Za-z_0-9]*\b", code)
        if name not in known and not keyword.iskeyword(name)
    }
    if unknown:
        raise GenerationError(
            f"the signatures use {', '.join(sorted(unknown))}, which the stub cannot name: add "
            "each to IMPORTS in tools/gen_typing.py (or to openai_bindings.types)"
        )


def render() -> str:
    """The text of openai_bindings/_typing.pyi for the definitions as they are now."""
    calls = read_calls()
    sync_doc = '"""What OpenAI is to a type checker: each call returns its result."""'
    async_doc = '"""What AsyncOpenAI is to a type checker: each call is a coroutine to await."""'
    classes = "\n\n".join(  # stubs put one blank line between classes
        [_client("SyncClient", sync_doc, calls, False), _client("AsyncClient", async_doc, calls, True)]
    )
    _check_names(classes)
    return f'{HEADER}\n{_imports(classes)}\n\n__all__ = ["AsyncClient", "SyncClient"]\n\n{classes}\n'


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed output is stale")
    parser.add_argument("--output", default=OUTPUT, help="where to write (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        text = render()
    except GenerationError as error:
        print(f"gen_typing: {error}", file=sys.stderr)
        return 2
    try:
        with open(args.output, encoding="utf-8") as handle:
            current: Optional[str] = handle.read()
    except FileNotFoundError:
        current = None
    if args.check:
        if current != text:
            print(f"{args.output} is stale: run python tools/gen_typing.py and commit it", file=sys.stderr)
            return 1
        return 0
    if current != text:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
