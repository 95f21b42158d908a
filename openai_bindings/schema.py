"""JSON-schema checks of tool arguments, and tool schemas derived from Python functions.

``jsonschema`` is used when it is installed. Without it, a documented subset is
checked: ``type`` (one or a list; integer vs number, bool is not a number),
``properties``, ``required``, ``additionalProperties: false``, ``enum``,
``const``, ``items``, ``minItems`` / ``maxItems``, ``minimum`` / ``maximum``,
``minLength`` / ``maxLength``, ``anyOf`` / ``oneOf``, nested to any depth.
"""

from __future__ import annotations

import inspect
import re
import typing
from typing import Any, Callable, Dict, List, Literal, Optional, Union

__all__ = ["function_schema", "validate"]

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
        return _check(instance, schema, "arguments")
    validator = jsonschema.validators.validator_for(schema)(schema)
    problems = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        where = "arguments" + "".join(f"[{p!r}]" for p in error.absolute_path)
        problems.append(f"{where}: {error.message}")
    return problems


def _check(value: Any, schema: Dict[str, Any], where: str) -> List[str]:
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
            matches = sum(not _check(value, option, where) for option in schema[key])
            if matches == 0 or (key == "oneOf" and matches > 1):
                problems.append(f"{where}: {value!r:.60} does not match {key}")
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for name in schema.get("required") or ():
            if name not in value:
                problems.append(f"{where}: {name!r} is a required property")
        for name, item in value.items():
            if name in properties:
                problems += _check(item, properties[name], f"{where}[{name!r}]")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{where}: additional property {name!r} is not allowed")
            elif isinstance(schema.get("additionalProperties"), dict):
                problems += _check(item, schema["additionalProperties"], f"{where}[{name!r}]")
    if isinstance(value, list):
        if isinstance(schema.get("items"), dict):
            for index, item in enumerate(value):
                problems += _check(item, schema["items"], f"{where}[{index}]")
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


# -- schemas from Python functions ---------------------------------------------------------------


def _type_schema(annotation: Any) -> Dict[str, Any]:
    if annotation is inspect.Parameter.empty or annotation is Any:
        return {}
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Union:
        options = [a for a in args if a is not type(None)]
        schema = (
            _type_schema(options[0]) if len(options) == 1 else {"anyOf": [_type_schema(a) for a in options]}
        )
        if len(options) < len(args) and "type" in schema:
            schema = {**schema, "type": [schema["type"], "null"]}
        return schema
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (list, List, tuple, set, frozenset) or annotation in (list, tuple, set):
        return {"type": "array", **({"items": _type_schema(args[0])} if args else {})}
    if origin in (dict, Dict) or annotation is dict:
        return {"type": "object"}
    simple = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}
    if annotation in simple:
        return {"type": simple[annotation]}
    return {}


def _param_docs(doc: str) -> Dict[str, str]:
    """Parameter descriptions from Google style (``name: text``) or Sphinx (``:param name: text``)."""
    found: Dict[str, str] = {}
    for match in re.finditer(
        r"^[ \t]*(?::param[ \t]+)?(\w+)[ \t]*(?:\([^)]*\))?[ \t]*:[ \t]*(\S.*)$", doc, re.MULTILINE
    ):
        found.setdefault(match.group(1), match.group(2).strip())
    return found


def function_schema(fn: Callable[..., Any], name: Optional[str] = None) -> Dict[str, Any]:
    """A chat-completions tool definition for a typed function (name, description, parameters)."""
    doc = inspect.getdoc(fn) or ""
    summary = doc.split("\n\n", 1)[0].strip()
    described = _param_docs(doc.split("\n\n", 1)[1]) if "\n\n" in doc else {}
    try:
        hints = typing.get_type_hints(fn)
    except Exception:
        hints = {}
    properties: Dict[str, Any] = {}
    required: List[str] = []
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) or param.name in ("self", "cls"):
            continue
        schema = _type_schema(hints.get(param.name, param.annotation))
        if param.name in described:
            schema["description"] = described[param.name]
        if param.default is param.empty:
            required.append(param.name)
        elif param.default is None or isinstance(param.default, (str, int, float, bool)):
            schema["default"] = param.default
        properties[param.name] = schema
    function: Dict[str, Any] = {
        "name": name or fn.__name__,
        "parameters": {"type": "object", "properties": properties, "required": required},
    }
    if summary:
        function["description"] = summary
    return {"type": "function", "function": function}
