"""Tool schemas derived from Python functions, checks of the model's arguments, and calls with them.

``function_schema`` builds a tool definition from a function's signature and
docstring with the same builder as ``structured.json_schema``, so dataclass,
TypedDict, Enum, Literal and pydantic parameters mean the same thing in a tool as
in a structured output. ``convert_arguments`` / ``call_with_arguments`` turn the
model's JSON arguments into those types (a dataclass parameter receives a
dataclass instance) before the call.

``validate`` uses ``jsonschema`` when it is installed. Without it, a documented
subset is checked: ``type`` (one or a list; integer vs number, bool is not a
number), ``properties``, ``required``, ``additionalProperties: false``, ``enum``,
``const``, ``items``, ``minItems`` / ``maxItems``, ``minimum`` / ``maximum``,
``minLength`` / ``maxLength``, ``anyOf`` / ``oneOf``, ``$ref`` within the schema
(``#``, ``#/$defs/...``), nested to any depth.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import typing
from typing import Any, Callable, Dict, List, Optional, Tuple

from .structured import (
    StructuredOutputError,
    _admits_none,
    _Builder,
    _Field,
    _Mismatch,
    _parse,
    _resolve,
    parse_docstring,
)

__all__ = ["call_with_arguments", "convert_arguments", "function_schema", "validate"]

_TYPES: Dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def validate(instance: Any, schema: Optional[Dict[str, Any]]) -> List[str]:
    """The problems with ``instance`` under ``schema`` (empty when it is valid)."""
    if not schema:
        return []
    try:
        import jsonschema
    except ImportError:
        return _check(instance, schema, "arguments", schema)
    validator = jsonschema.validators.validator_for(schema)(schema)
    problems = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        where = "arguments" + "".join(f"[{p!r}]" for p in error.absolute_path)
        problems.append(f"{where}: {error.message}")
    return problems


def _check(value: Any, schema: Dict[str, Any], where: str, root: Dict[str, Any]) -> List[str]:
    if "$ref" in schema:
        schema = {**_resolve(root, schema["$ref"]), **{k: v for k, v in schema.items() if k != "$ref"}}
    problems: List[str] = []
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_TYPES.get(k, lambda v: True)(value) for k in kinds):
            return [f"{where}: {value!r:.60} is not of type {' or '.join(map(repr, kinds))}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r:.60} is not one of {schema['enum']!r}")
    if "const" in schema and value != schema["const"]:
        problems.append(f"{where}: {value!r:.60} was expected to be {schema['const']!r}")
    for key in ("anyOf", "oneOf"):
        if key in schema:
            matches = sum(not _check(value, option, where, root) for option in schema[key])
            if matches == 0 or (key == "oneOf" and matches > 1):
                problems.append(f"{where}: {value!r:.60} does not match {key}")
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for name in schema.get("required") or ():
            if name not in value:
                problems.append(f"{where}: {name!r} is a required property")
        for name, item in value.items():
            if name in properties:
                problems += _check(item, properties[name], f"{where}[{name!r}]", root)
            elif schema.get("additionalProperties") is False:
                problems.append(f"{where}: additional property {name!r} is not allowed")
            elif isinstance(schema.get("additionalProperties"), dict):
                problems += _check(item, schema["additionalProperties"], f"{where}[{name!r}]", root)
    if isinstance(value, list):
        if isinstance(schema.get("items"), dict):
            for index, item in enumerate(value):
                problems += _check(item, schema["items"], f"{where}[{index}]", root)
        if len(value) < schema.get("minItems", 0):
            problems.append(f"{where}: needs at least {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            problems.append(f"{where}: takes at most {schema['maxItems']} items")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            problems.append(f"{where}: shorter than {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            problems.append(f"{where}: longer than {schema['maxLength']} characters")
    if _TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{where}: {value} is less than the minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{where}: {value} is more than the maximum {schema['maximum']}")
    return problems


# -- tools from Python functions ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Signature:
    """What a function takes, worked out once: its parameters as fields, and its description."""

    name: str
    fields: Tuple[_Field, ...]
    positional_only: Tuple[str, ...]
    var_keyword: bool
    description: str


def _type_hints(fn: Callable[..., Any]) -> Dict[str, Any]:
    call = None if inspect.isroutine(fn) else type(fn).__dict__.get("__call__")  # a callable object
    for target in (fn, getattr(fn, "__func__", None), call):
        if target is None:
            continue
        try:
            return typing.get_type_hints(target, include_extras=True)
        except Exception:
            continue
    return {}


def _build_signature(fn: Callable[..., Any]) -> _Signature:
    hints = _type_hints(fn)
    parameters = [
        p
        for p in inspect.signature(fn).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name not in ("self", "cls")
    ]
    description, described = parse_docstring(inspect.getdoc(fn), [p.name for p in parameters])
    fields = []
    for p in parameters:
        tp = hints.get(p.name, p.annotation)  # a string when it cannot be resolved: any value
        optional = p.default is not p.empty
        fields.append(
            _Field(
                p.name, tp, optional, p.default if optional else dataclasses.MISSING, described.get(p.name)
            )
        )
    return _Signature(
        getattr(fn, "__name__", type(fn).__name__),
        tuple(fields),
        tuple(p.name for p in parameters if p.kind is p.POSITIONAL_ONLY),
        any(p.kind is p.VAR_KEYWORD for p in inspect.signature(fn).parameters.values()),
        description,
    )


_cached_signature = functools.lru_cache(maxsize=512)(_build_signature)


def _signature(fn: Callable[..., Any]) -> _Signature:
    try:
        return _cached_signature(fn)
    except TypeError:  # an unhashable callable
        return _build_signature(fn)


def function_schema(
    fn: Callable[..., Any], name: Optional[str] = None, *, strict: bool = False
) -> Dict[str, Any]:
    """A chat-completions tool definition for a typed function: name, description (the docstring's
    text before its parameter section), and the parameters' JSON schema, with each parameter's
    description from Google-style (``Args:``) or Sphinx-style (``:param x:``) docstrings.

    Parameters may be dataclasses, TypedDicts, NamedTuples, Enums, Literals, pydantic models,
    lists and Optionals of those. ``strict=True`` makes a strict tool (``"strict": true``): every
    parameter required, those with defaults nullable (null means "use the default"), and types
    strict mode rejects refused with TypeError. The Responses API takes the same definition
    flattened: ``{"type": "function", **schema["function"]}``.
    """
    signature = _signature(fn)
    tool_name = name or signature.name
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", tool_name):
        raise ValueError(
            f"tool name {tool_name!r} must be 1-64 letters, digits, '_' or '-'; pass name= to choose one"
        )
    builder = _Builder(strict)
    parameters = builder.document(
        builder.object(tool_name, signature.fields, closed=not signature.var_keyword)
    )
    function: Dict[str, Any] = {"name": tool_name}
    if signature.description:
        function["description"] = signature.description
    function["parameters"] = parameters
    if strict:
        function["strict"] = True
    return {"type": "function", "function": function}


def convert_arguments(fn: Callable[..., Any], arguments: Dict[str, Any]) -> Dict[str, Any]:
    """The model's decoded JSON arguments turned into ``fn``'s annotated types, as keyword arguments.

    A dataclass parameter receives a dataclass instance, an Enum one its member, a datetime one
    a datetime. ``null`` for a parameter with a default that is not Optional means "use the
    default" (strict tools send it). StructuredOutputError names the argument that does not fit.
    """
    if not isinstance(arguments, dict):
        raise StructuredOutputError(f"the arguments must be a JSON object, got {type(arguments).__name__}")
    signature = _signature(fn)
    fields = {field.name: field for field in signature.fields}
    converted: Dict[str, Any] = {}
    for key, value in arguments.items():
        field = fields.get(key)
        if field is None:
            if signature.var_keyword:
                converted[key] = value
                continue
            raise StructuredOutputError(
                f"unexpected argument {key!r}; {signature.name} takes {', '.join(fields) or 'no arguments'}",
                key,
            )
        if value is None and field.optional and not _admits_none(field.tp):
            continue
        try:
            converted[key] = _parse(field.tp, value, key)
        except _Mismatch as problem:
            raise StructuredOutputError(f"argument {problem.path}: {problem.message}", problem.path) from (
                problem.__cause__
            )
    missing = [name for name, field in fields.items() if not field.optional and name not in converted]
    if missing:
        raise StructuredOutputError(
            f"missing argument(s) {', '.join(map(repr, missing))} for {signature.name}"
        )
    return converted


def call_with_arguments(fn: Callable[..., Any], arguments: Dict[str, Any]) -> Any:
    """``fn`` called with the model's arguments converted by ``convert_arguments`` (an ``async def``
    returns its coroutine, for the caller to await)."""
    keywords = convert_arguments(fn, arguments)
    positional = [keywords.pop(name) for name in _signature(fn).positional_only if name in keywords]
    return fn(*positional, **keywords)
