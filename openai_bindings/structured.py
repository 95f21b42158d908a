"""Python types in, Python types out: strict JSON schemas for structured outputs, and parsing back.

``json_schema(tp)`` turns a type into the schema the API's structured-output
mode ("strict") accepts, and refuses, before anything is sent, a type that
mode would reject, saying why. ``parse_as(tp, value)`` builds an instance of the
type from the decoded JSON answer. Tool schemas (``schema.function_schema``)
come from the same builder, so a dataclass means the same thing everywhere.

What strict mode requires, and how each Python shape maps onto it:

- every object lists all its properties in ``required`` and sets
  ``additionalProperties: false``. A field that may be left out (a dataclass
  field with a default, a ``NotRequired`` TypedDict key, a NamedTuple default)
  is therefore *required but nullable*; ``null`` then means "left out": the
  default is used, the TypedDict key is omitted.
- ``Optional[X]`` / ``X | None`` is ``anyOf`` with ``{"type": "null"}``; other
  unions are ``anyOf``. Named types (dataclasses, TypedDicts, NamedTuples, Enums,
  pydantic models) go to ``$defs`` and are used through ``$ref``, so nested and
  recursive types work.
- the root must be an object: a type that is not one (``list[Item]``, an Enum,
  ``Optional[Item]``...) is wrapped as ``{"value": ...}``, and ``parse_as``
  unwraps it.
- ``list[X]``, ``set[X]``, ``tuple[X, ...]`` are arrays of X. Fixed tuples
  (``tuple[int, str]``) are refused: strict mode has no positional arrays
  (``prefixItems``); use a NamedTuple or dataclass. ``dict[str, X]`` is refused:
  it needs ``additionalProperties`` with a schema, which strict mode rejects;
  use a dataclass or TypedDict with named fields, or a list of key/value items.
- ``datetime``, ``date``, ``time`` and ``UUID`` are strings with a ``format``.
- titles come from class names, descriptions from docstrings (Google
  ``Attributes:``/``Args:`` sections or Sphinx ``:ivar x:``/``:param x:``),
  ``field(metadata={"description": ...})`` and ``Annotated[X, "description"]``.

pydantic stays optional: it is never imported here; a pydantic v2 model is
recognised when pydantic is already loaded, its own ``model_json_schema()`` is
used, then made strict by the same pass as everything else.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as _dt
import enum
import functools
import inspect
import json
import re
import sys
import types
import typing
from collections import abc
from typing import Any, Callable, Dict, Iterator, List, Literal, NoReturn, Optional, Tuple, Union

__all__ = [
    "StructuredOutputError",
    "is_type_spec",
    "json_schema",
    "parse_as",
    "parse_chat_completion",
    "parse_json",
    "parse_message",
    "parse_response",
    "response_format_for",
    "strict_schema",
    "text_format_for",
]

#: The API's documented limits for a strict schema.
MAX_PROPERTIES = 5000
MAX_DEPTH = 10
MAX_ENUM_VALUES = 1000
MAX_STRING_LENGTH = 120_000

_NONE = type(None)
_FORMATS: Dict[Any, str] = {_dt.datetime: "date-time", _dt.date: "date", _dt.time: "time"}
_SEQUENCES = (list, set, frozenset, abc.Sequence, abc.MutableSequence, abc.Set, abc.MutableSet, abc.Iterable)
_MAPPINGS = (dict, abc.Mapping, abc.MutableMapping)
_QUALIFIERS = frozenset({"Required", "NotRequired", "ReadOnly", "Final", "ClassVar"})
_UNSUPPORTED_KEYWORDS = (
    "not",
    "if",
    "then",
    "else",
    "dependentRequired",
    "dependentSchemas",
    "patternProperties",
    "unevaluatedProperties",
    "propertyNames",
    "prefixItems",
)
_SUPPORTED = (
    "supported: dataclasses, TypedDict, NamedTuple, Enum, Literal, str, int, float, bool, None, "
    "datetime/date/time/UUID, list[X], set[X], tuple[X, ...], Optional/Union of those, "
    "and pydantic v2 models"
)


class StructuredOutputError(ValueError):
    """The model's answer does not fit the type (``path`` says where), or is not JSON at all."""

    def __init__(self, message: str, path: str = "$") -> None:
        super().__init__(message)
        self.path = path


# -- small helpers about types ---------------------------------------------------------------------


def type_name(tp: Any) -> str:
    """A readable name for messages: ``Weather``, ``list[Item]``, ``Optional[int]`` (no module paths)."""
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__name__
    text = re.sub(r"(?<![\w'\"])(?:[A-Za-z_]\w*\.|<locals>\.)+(?=[A-Za-z_])", "", repr(tp))
    return text.replace("NoneType", "None")


def _unwrap(tp: Any) -> Tuple[Any, Optional[str]]:
    """Strip Annotated (keeping a string in its metadata as the description) and TypedDict qualifiers."""
    description = None
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            args = typing.get_args(tp)
            for extra in args[1:]:
                if isinstance(extra, str) and description is None:
                    description = extra
            tp = args[0]
        elif origin is not None and getattr(origin, "_name", None) in _QUALIFIERS:
            tp = typing.get_args(tp)[0]
        else:
            return tp, description


def _is_union(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    return origin is Union or origin is types.UnionType


def _admits_none(tp: Any) -> bool:
    tp, _ = _unwrap(tp)
    if tp is None or tp is _NONE or tp is Any:
        return True
    if _is_union(tp):
        return any(_admits_none(arg) for arg in typing.get_args(tp))
    if typing.get_origin(tp) is Literal:
        return None in typing.get_args(tp)
    return False


def _pydantic_model(tp: Any) -> bool:
    """True for a pydantic model class, without ever importing pydantic (a model means it is loaded)."""
    pydantic = sys.modules.get("pydantic")
    base = getattr(pydantic, "BaseModel", None) if pydantic is not None else None
    if base is not None and isinstance(tp, type) and issubclass(tp, base):
        return True
    return isinstance(tp, type) and any(
        klass.__module__.startswith("pydantic.v1") and klass.__name__ == "BaseModel" for klass in tp.__mro__
    )


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__required_keys__")


def _is_namedtuple(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, tuple) and hasattr(tp, "_fields")


def _uuid_type() -> Any:
    module = sys.modules.get("uuid")  # a UUID annotation means uuid is loaded: never import it here
    return getattr(module, "UUID", None)


def _is_object_type(tp: Any) -> bool:
    """Types whose schema is an object, so they can be the root of a strict schema unwrapped."""
    tp, _ = _unwrap(tp)
    return isinstance(tp, type) and (
        dataclasses.is_dataclass(tp) or _is_typeddict(tp) or _is_namedtuple(tp) or _pydantic_model(tp)
    )


def is_type_spec(value: Any) -> bool:
    """True for a Python type (``Weather``, ``list[Item]``, ``Optional[X]``, ``Literal[...]``); False
    for a dict such as ``{"type": "json_object"}``, which callers pass through unchanged."""
    if isinstance(value, type):
        return True
    return typing.get_origin(value) is not None or hasattr(value, "__supertype__")


# -- docstrings ----------------------------------------------------------------------------------

_SECTION = re.compile(
    r"^(?P<indent>[ \t]*)(?P<name>Args|Arguments|Parameters|Params|Attributes|Keyword Args|"
    r"Keyword Arguments|Other Parameters|Fields|Returns|Return|Yields|Raises|Examples?|Notes?)"
    r"[ \t]*:[ \t]*$"
)
_DESCRIBES = ("Args", "Arguments", "Parameters", "Params", "Attributes", "Keyword Args", "Fields")
_SPHINX = re.compile(
    r"^[ \t]*:(?:param|parameter|arg|argument|key|keyword|ivar|var|cvar)[ \t]+(?:[^:]*?[ \t])?"
    r"\**(?P<name>\w+)[ \t]*:[ \t]*(?P<text>.*)$"
)
_GOOGLE_ENTRY = re.compile(r"^[ \t]*\**(?P<name>\w+)[ \t]*(?:\([^)]*\))?[ \t]*:[ \t]*(?P<text>.*)$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def parse_docstring(doc: Optional[str], known: Any = ()) -> Tuple[str, Dict[str, str]]:
    """The description (the text before any parameter section) and each parameter's description.

    Understands Google style (``Args:`` / ``Attributes:`` sections, ``name (type): text``),
    Sphinx style (``:param name: text``, ``:ivar name: text``), and bare ``name: text`` lines
    for names in ``known``. Continuation lines (indented deeper) are joined.
    """
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    described: Dict[str, str] = {}
    description: List[str] = []
    in_description = True
    section: Optional[Tuple[int, bool]] = None  # (indent of the header, whether it describes names)
    current: Optional[Tuple[str, int]] = None  # (name, indent of its line)
    for line in lines:
        stripped = line.strip()
        if not stripped:
            current = None if section is None else current
            if in_description:
                description.append("")
            continue
        indent = _indent(line)
        header = _SECTION.match(line)
        if header:
            section = (indent, header.group("name") in _DESCRIBES)
            current = None
            in_description = False
            continue
        if section is not None and indent <= section[0]:
            section = None
        if current is not None and indent > current[1] and not stripped.startswith(":"):
            described[current[0]] += " " + stripped
            continue
        current = None
        sphinx = _SPHINX.match(line)
        if sphinx:
            in_description = False
            current = (sphinx.group("name"), indent)
            described.setdefault(current[0], sphinx.group("text").strip())
            continue
        if stripped.startswith(":"):  # :returns:, :type x:, :raises: ...
            in_description = False
            continue
        entry = _GOOGLE_ENTRY.match(line)
        if entry and ((section is not None and section[1]) or entry.group("name") in known):
            in_description = False
            current = (entry.group("name"), indent)
            described.setdefault(current[0], entry.group("text").strip())
            continue
        if section is None and in_description:
            description.append(stripped)
    text = "\n".join(description).strip()
    return re.sub(r"\n{3,}", "\n\n", text), {name: text.strip() for name, text in described.items()}


def _own_doc(cls: type) -> Optional[str]:
    """The class's own docstring, not an inherited one nor the one dataclass/NamedTuple generate."""
    doc = cls.__dict__.get("__doc__")
    if not doc or doc.startswith(f"{cls.__name__}(") or doc == "An enumeration.":
        return None
    return doc


# -- types -> schema -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Field:
    """One named member of an object type (a dataclass field, a TypedDict key, a parameter)."""

    name: str
    tp: Any
    optional: bool  # may be left out: has a default, or is NotRequired
    default: Any = dataclasses.MISSING
    description: Optional[str] = None


@functools.lru_cache(maxsize=512)
def _hints(owner: Any) -> Dict[str, Any]:
    try:
        return typing.get_type_hints(owner, include_extras=True, localns={owner.__name__: owner})
    except Exception as error:  # NameError for a name defined where it cannot be found
        raise TypeError(
            f"cannot resolve the annotations of {type_name(owner)} ({error}); define the types it "
            "uses at module level"
        ) from error


@functools.lru_cache(maxsize=512)
def _fields(cls: type) -> Tuple[_Field, ...]:
    """The members of a dataclass, TypedDict or NamedTuple, with their descriptions."""
    hints = _hints(cls)
    names: List[str]
    if dataclasses.is_dataclass(cls):
        names = [f.name for f in dataclasses.fields(cls) if f.init]
    elif _is_namedtuple(cls):
        names = list(cls._fields)  # type: ignore[attr-defined]
    else:
        names = list(hints)
    _, described = parse_docstring(_own_doc(cls), names)
    declared = {f.name: f for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else {}
    out = []
    for name in names:
        tp = hints.get(name, Any)
        description = _unwrap(tp)[1] or described.get(name)
        default: Any = dataclasses.MISSING
        if name in declared:
            field = declared[name]
            description = field.metadata.get("description") or description
            optional = (
                field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING
            )
            default = field.default
        elif _is_namedtuple(cls):
            defaults = cls._field_defaults  # type: ignore[attr-defined]
            optional = name in defaults
            default = defaults.get(name, dataclasses.MISSING)
        else:
            # the hint says it when __required_keys__ cannot (string annotations before Python 3.12)
            qualifier = getattr(typing.get_origin(tp), "_name", None)
            optional = qualifier == "NotRequired" or (
                qualifier != "Required" and name not in cls.__required_keys__  # type: ignore[attr-defined]
            )
        out.append(_Field(name, tp, optional, default, description))
    return tuple(out)


_SCALARS = ("string", "number", "integer", "boolean", "null")


def json_type_of(value: Any) -> Optional[str]:
    """The JSON type of a decoded JSON value ("integer" for ints, never for bools); None for
    anything JSON cannot hold."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else None


class _Builder:
    """Builds one schema document; named types are collected in ``defs``.

    ``strict`` is the structured-output mode: every type must have a schema the API
    accepts (Any, free-form dicts and fixed tuples are refused) and fields that may be
    left out become required-but-nullable. Non-strict is for ordinary tool parameters.
    """

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.defs: Dict[str, Dict[str, Any]] = {}
        self.names: Dict[Any, str] = {}
        self.where: List[str] = []

    def refuse(self, tp: Any, why: str) -> NoReturn:
        place = f" (at {self.where[-1]})" if self.where else ""
        raise TypeError(f"{type_name(tp)}{place} cannot be used for structured output: {why}")

    def schema(self, tp: Any) -> Dict[str, Any]:
        tp, description = _unwrap(tp)
        out = self._schema(tp)
        return {**out, "description": description} if description else out

    def _schema(self, tp: Any) -> Dict[str, Any]:
        if tp is Any or tp is object or tp is inspect.Parameter.empty:
            if self.strict:
                self.refuse(tp, "a value of any type has no schema, and strict mode needs every value typed")
            return {}
        if tp is None or tp is _NONE:
            return {"type": "null"}
        if tp in (str, int, float, bool):
            return {"type": {str: "string", int: "integer", float: "number", bool: "boolean"}[tp]}
        if tp in _FORMATS:
            return {"type": "string", "format": _FORMATS[tp]}
        if tp is not None and tp is _uuid_type():
            return {"type": "string", "format": "uuid"}
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is Literal:
            return self._values(tp, [v.value if isinstance(v, enum.Enum) else v for v in args])
        if _is_union(tp):
            options = [self.schema(arg) for arg in args if arg is not _NONE]
            if _NONE in args:
                options.append({"type": "null"})
            return options[0] if len(options) == 1 else {"anyOf": options}
        if origin is tuple or tp is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return {"type": "array", "items": self.schema(args[0])}
            if not args and not self.strict:
                return {"type": "array"}
            self.refuse(
                tp,
                "strict mode has no fixed-length, per-position arrays (prefixItems); use tuple[X, ...] "
                "for any number of one type, or a NamedTuple or dataclass with named fields",
            )
        if origin in _SEQUENCES:
            return {"type": "array", "items": self.schema(args[0])} if args else {"type": "array"}
        if tp in (list, set, frozenset):
            if self.strict:
                self.refuse(tp, f"say what the items are, e.g. {tp.__name__}[str]")
            return {"type": "array"}
        if origin in _MAPPINGS or tp is dict:
            if self.strict:
                self.refuse(
                    tp,
                    "an object with free-form keys needs additionalProperties with a schema, which "
                    "strict mode rejects (every key must be named and additionalProperties false); use "
                    "a dataclass or TypedDict with named fields, or a list of key/value dataclasses"
                    + (
                        "; for free-form JSON use response_format={'type': 'json_object'}"
                        if tp is dict
                        else ""
                    ),
                )
            if len(args) == 2:
                return {"type": "object", "additionalProperties": self.schema(args[1])}
            return {"type": "object"}
        if isinstance(tp, type):
            if issubclass(tp, enum.Enum):
                return self._named(tp, self._enum)
            if _pydantic_model(tp):
                return self._pydantic(tp)
            if dataclasses.is_dataclass(tp) or _is_typeddict(tp) or _is_namedtuple(tp):
                return self._named(tp, self._object_type)
            if issubclass(tp, (bytes, bytearray, memoryview)):
                self.refuse(tp, "bytes have no JSON form; use str (for example base64 text)")
        if hasattr(tp, "__supertype__"):  # typing.NewType
            return self.schema(tp.__supertype__)
        if isinstance(tp, (str, typing.ForwardRef)):
            if not self.strict:
                return {}
            self.refuse(tp, "the annotation is an unresolved name; define the type at module level")
        self.refuse(tp, f"it has no JSON schema ({_SUPPORTED})")

    def _values(self, tp: Any, values: List[Any]) -> Dict[str, Any]:
        """The schema of a fixed set of JSON scalars (Literal, Enum)."""
        by_type: Dict[str, List[Any]] = {}
        for value in values:
            kind = json_type_of(value)
            if kind is None or kind not in _SCALARS:
                self.refuse(tp, f"{value!r} is not a JSON value (str, int, float, bool or None)")
            by_type.setdefault(kind, []).append(value)
        if "number" in by_type and "integer" in by_type:
            by_type["number"] = by_type.pop("integer") + by_type["number"]
        options = [
            {"type": "null"} if kind == "null" else {"type": kind, "enum": members}
            for kind, members in by_type.items()
        ]
        return options[0] if len(options) == 1 else {"anyOf": options}

    def _named(self, tp: type, build: Callable[[type], Dict[str, Any]]) -> Dict[str, Any]:
        """A named type lives in $defs, built once; a recursive use finds the name already there."""
        name = self.names.get(tp)
        if name is None:
            name = self._new_name(tp)
            self.names[tp] = name
            self.defs[name] = {}  # keeps its place, and stops recursion
            self.defs[name] = build(tp)
        return {"$ref": f"#/$defs/{name}"}

    def _new_name(self, tp: Any) -> str:
        base = re.sub(r"[^A-Za-z0-9_.-]", "_", getattr(tp, "__name__", "") or "Type")
        name, number = base, 2
        while name in self.defs:
            name, number = f"{base}{number}", number + 1
        return name

    def _enum(self, cls: type) -> Dict[str, Any]:
        values = [member.value for member in typing.cast(Any, cls)]
        schema = {"title": cls.__name__, **self._values(cls, values)}
        doc = _own_doc(cls)
        if doc:
            schema["description"] = parse_docstring(doc)[0]
        return schema

    def _object_type(self, cls: type) -> Dict[str, Any]:
        description = parse_docstring(_own_doc(cls))[0] if _own_doc(cls) else ""
        return self.object(cls.__name__, _fields(cls), description, title=cls.__name__)

    def object(
        self,
        owner: str,
        fields: Any,
        description: str = "",
        title: Optional[str] = None,
        closed: bool = True,
    ) -> Dict[str, Any]:
        """An object schema for named fields (a class's, or a function's parameters)."""
        properties: Dict[str, Any] = {}
        required: List[str] = []
        for field in fields:
            self.where.append(f"{owner}.{field.name}")
            try:
                schema = self.schema(field.tp)
            finally:
                self.where.pop()
            if field.optional and self.strict and not _admits_none(field.tp):
                schema = {"anyOf": [schema, {"type": "null"}]}
            if not self.strict and field.optional and json_type_of(field.default) in _SCALARS:
                schema["default"] = field.default
            if field.description and "description" not in schema:
                schema["description"] = field.description
            properties[field.name] = schema
            if self.strict or not field.optional:
                required.append(field.name)
        out: Dict[str, Any] = {"type": "object"}
        if title:
            out["title"] = title
        if description:
            out["description"] = description
        out.update(properties=properties, required=required)
        if closed:
            out["additionalProperties"] = False
        return out

    def _pydantic(self, cls: type) -> Dict[str, Any]:
        if not hasattr(cls, "model_json_schema"):
            self.refuse(cls, "pydantic v1 models are not supported; use a pydantic v2 BaseModel")
        if cls in self.names:
            return {"$ref": f"#/$defs/{self.names[cls]}"}
        schema = typing.cast(Any, cls).model_json_schema(ref_template="#/$defs/{model}")
        for name, definition in (schema.pop("$defs", None) or {}).items():
            if self.defs.get(name, definition) != definition:
                self.refuse(cls, f"two different types are named {name!r}; rename one of them")
            self.defs[name] = definition
        if set(schema) == {"$ref"}:  # a recursive model: pydantic already put it in $defs
            self.names[cls] = schema["$ref"].rsplit("/", 1)[-1]
            return schema
        name = self._new_name(cls)
        self.names[cls] = name
        self.defs[name] = schema
        return {"$ref": f"#/$defs/{name}"}

    def document(self, root: Dict[str, Any]) -> Dict[str, Any]:
        """The finished document: the root inlined when it is a reference, with its $defs."""
        ref = root.get("$ref") if len(root) == 1 else None
        name = ref[len("#/$defs/") :] if ref and ref.startswith("#/$defs/") else None
        if ref is not None and name is not None and self.defs.get(name, {}).get("type") == "object":
            root = self.defs.pop(name)
            for node in _walk([root, self.defs]):  # the root type used inside itself: "#"
                if node.get("$ref") == ref:
                    node["$ref"] = "#"
        if self.strict and root.get("type") != "object":
            root = {
                "type": "object",
                "properties": {"value": root},
                "required": ["value"],
                "additionalProperties": False,
            }
        if self.defs:
            root = {**root, "$defs": self.defs}
        return _prune_defs(strict_schema(root) if self.strict else _inline_refs_with_siblings(root))


def _walk(node: Any) -> Iterator[Dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _prune_defs(root: Dict[str, Any]) -> Dict[str, Any]:
    """Drop the $defs nothing refers to any more (a definition inlined where it had a description)."""
    definitions = root.get("$defs")
    if not definitions:
        return root
    body = {key: value for key, value in root.items() if key != "$defs"}
    wanted: List[str] = []
    pending = [body]
    while pending:
        for node in _walk(pending.pop()):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                name = ref[len("#/$defs/") :]
                if name not in wanted and name in definitions:
                    wanted.append(name)
                    pending.append(definitions[name])
    kept = {name: schema for name, schema in definitions.items() if name in wanted}
    return {**body, "$defs": kept} if kept else body


def _resolve(root: Dict[str, Any], ref: str) -> Dict[str, Any]:
    if ref == "#":
        return root
    if not ref.startswith("#/"):
        raise TypeError(
            f"cannot follow $ref {ref!r}: only references inside the schema (#/...) are supported"
        )
    target: Any = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, dict) or part not in target:
            raise TypeError(f"$ref {ref!r} points nowhere in the schema")
        target = target[part]
    return typing.cast(Dict[str, Any], target)


def _inline_refs_with_siblings(root: Dict[str, Any]) -> Dict[str, Any]:
    """``{"$ref": ..., "description": ...}`` becomes the referenced schema plus the description,
    as openai-python does: the API does not take keywords beside a $ref."""

    def fix(node: Any, inlining: Tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [fix(item, inlining) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if ref is not None and len(node) > 1:
            if ref in inlining:  # a type that contains itself directly: keep the reference, drop the rest
                return {"$ref": ref}
            merged = {**_resolve(root, ref), **{k: v for k, v in node.items() if k != "$ref"}}
            merged.pop("$defs", None)
            return fix(merged, (*inlining, ref))
        return {key: fix(value, inlining) for key, value in node.items()}

    return typing.cast(Dict[str, Any], fix(root, ()))


def strict_schema(schema: Dict[str, Any]) -> Dict[str, Any]:
    """``schema`` made strict (a new dict): every object closed and fully required, ``oneOf`` as
    ``anyOf``, single ``allOf`` merged, defaults dropped; and checked against what strict mode
    rejects (free-form objects, untyped values, a non-object root, the size limits), raising
    TypeError that says why. Used on our own schemas and on pydantic's."""
    root = _inline_refs_with_siblings(copy.deepcopy(schema))
    counts = {"properties": 0, "enum": 0, "chars": 0}

    def fix(node: Dict[str, Any], where: str, depth: int) -> Dict[str, Any]:
        node.pop("discriminator", None)
        node.pop("default", None)  # every property is required: a default means nothing to the API
        for keyword in _UNSUPPORTED_KEYWORDS:
            if keyword in node:
                raise TypeError(f"strict mode does not support {keyword!r} (at {where})")
        if "oneOf" in node:
            node["anyOf"] = node.pop("oneOf")
        if "allOf" in node:
            parts = node.pop("allOf")
            if len(parts) != 1:
                raise TypeError(f"strict mode does not support allOf with several schemas (at {where})")
            node = {**parts[0], **node}
            if "$ref" in node and len(node) > 1:
                node = {**_resolve(document, node.pop("$ref")), **node}
        if "enum" in node:
            counts["enum"] += len(node["enum"])
            counts["chars"] += sum(len(v) for v in node["enum"] if isinstance(v, str))
        if not any(key in node for key in ("type", "anyOf", "$ref", "enum", "const")):
            raise TypeError(
                f"the schema at {where} allows a value of any type; strict mode needs every value typed"
            )
        kinds = node.get("type")
        if kinds == "object" or (isinstance(kinds, list) and "object" in kinds):
            if depth > MAX_DEPTH:
                raise TypeError(
                    f"the schema nests objects more than {MAX_DEPTH} levels deep (at {where}), more "
                    "than strict mode allows; flatten it"
                )
            extra = node.get("additionalProperties", False)
            if extra is not False or "properties" not in node:
                raise TypeError(
                    f"the object at {where} has free-form keys (additionalProperties), which strict mode "
                    "rejects; give it named fields (a dataclass, TypedDict or model), or use a list of "
                    "key/value items"
                )
            node["additionalProperties"] = False
            properties = node["properties"]
            counts["properties"] += len(properties)
            counts["chars"] += sum(len(name) for name in properties)
            node["properties"] = {
                name: fix(sub, f"{where}.{name}", depth + 1) for name, sub in properties.items()
            }
            node["required"] = list(properties)
        if isinstance(node.get("items"), dict):
            node["items"] = fix(node["items"], f"{where}[]", depth)
        if "anyOf" in node:
            node["anyOf"] = [fix(sub, f"{where}|{n}", depth) for n, sub in enumerate(node["anyOf"])]
        return node

    document = root
    root = {key: value for key, value in document.items() if key != "$defs"}
    definitions = document.get("$defs")
    root = fix(root, "$", 1)
    if root.get("type") != "object":
        raise TypeError(
            "the root of a strict schema must be an object (type 'object'), not "
            f"{root.get('type') or 'anyOf'}; wrap the value in a dataclass field"
        )
    if definitions:
        counts["chars"] += sum(len(name) for name in definitions)
        root["$defs"] = {name: fix(sub, f"$defs.{name}", 1) for name, sub in definitions.items()}
    if counts["properties"] > MAX_PROPERTIES:
        raise TypeError(
            f"the schema has {counts['properties']} properties; strict mode allows {MAX_PROPERTIES}"
        )
    if counts["enum"] > MAX_ENUM_VALUES:
        raise TypeError(f"the schema has {counts['enum']} enum values; strict mode allows {MAX_ENUM_VALUES}")
    if counts["chars"] > MAX_STRING_LENGTH:
        raise TypeError(
            f"the schema's names and enum values total {counts['chars']} characters; strict mode allows "
            f"{MAX_STRING_LENGTH}"
        )
    return root


_SCHEMAS: Dict[Any, Dict[str, Any]] = {}


def json_schema(tp: Any) -> Dict[str, Any]:
    """The strict JSON schema structured outputs use for ``tp`` (see the module docstring).

    Raises TypeError, before anything is sent, for a type strict mode would reject.
    """
    try:
        cached = _SCHEMAS.get(tp)
    except TypeError:  # an unhashable Annotated extra
        cached = None
    if cached is None:
        if not is_type_spec(tp):
            raise TypeError(
                f"json_schema takes a Python type (a dataclass, TypedDict, Enum, pydantic model...), "
                f"got {type(tp).__name__}"
            )
        builder = _Builder(strict=True)
        cached = builder.document(builder.schema(tp))
        if len(_SCHEMAS) >= 1024:  # types made on the fly must not grow it for ever
            _SCHEMAS.clear()
        with contextlib.suppress(TypeError):
            _SCHEMAS[tp] = cached
    return copy.deepcopy(cached)


def _format_name(tp: Any, name: Optional[str]) -> str:
    if name is not None:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
            raise ValueError(f"name must be 1-64 letters, digits, '_' or '-', got {name!r}")
        return name
    text = type_name(_unwrap(tp)[0])
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_-]", "_", text)).strip("_")[:64] or "response"


def response_format_for(tp: Any, *, name: Optional[str] = None) -> Dict[str, Any]:
    """Chat Completions' ``response_format`` for ``tp``: ``{"type": "json_schema", "json_schema":
    {"name", "schema", "strict": True}}``."""
    return {
        "type": "json_schema",
        "json_schema": {"name": _format_name(tp, name), "schema": json_schema(tp), "strict": True},
    }


def text_format_for(tp: Any, *, name: Optional[str] = None) -> Dict[str, Any]:
    """The Responses API's ``text`` parameter for ``tp``: ``{"format": {"type": "json_schema",
    "name", "schema", "strict": True}}`` (merge it into any other ``text`` options)."""
    return {
        "format": {
            "type": "json_schema",
            "name": _format_name(tp, name),
            "schema": json_schema(tp),
            "strict": True,
        }
    }


# -- JSON -> instances ---------------------------------------------------------------------------


class _Mismatch(Exception):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def _describe(value: Any) -> str:
    kind = json_type_of(value) or type(value).__name__
    return f"{kind} {json.dumps(value, default=str)[:60]}"


def _parse(tp: Any, value: Any, path: str) -> Any:
    tp, _ = _unwrap(tp)
    if tp is Any or tp is object or tp is inspect.Parameter.empty or isinstance(tp, (str, typing.ForwardRef)):
        return value
    if tp is None or tp is _NONE:
        if value is None:
            return None
        raise _Mismatch(path, f"expected null, got {_describe(value)}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _Mismatch(path, f"expected true or false, got {_describe(value)}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise _Mismatch(path, f"expected an integer, got {_describe(value)}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise _Mismatch(path, f"expected a number, got {_describe(value)}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise _Mismatch(path, f"expected a string, got {_describe(value)}")
    if tp in _FORMATS or (tp is not None and tp is _uuid_type()):
        return _parse_formatted(tp, value, path)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        for option in args:
            plain = option.value if isinstance(option, enum.Enum) else option
            if value == plain and type(value) is type(plain):
                return option
        raise _Mismatch(
            path, f"expected one of {[getattr(a, 'value', a) for a in args]}, got {_describe(value)}"
        )
    if _is_union(tp):
        if value is None and _NONE in args:
            return None
        problems = []
        for option in args:
            if option is _NONE:
                continue
            try:
                return _parse(option, value, path)
            except _Mismatch as problem:
                problems.append(problem.message)
        raise _Mismatch(path, f"fits none of {type_name(tp)}: " + "; ".join(problems))
    if origin is tuple or origin in _SEQUENCES or tp in (list, set, frozenset, tuple):
        if not isinstance(value, list):
            raise _Mismatch(path, f"expected an array, got {_describe(value)}")
        item = args[0] if args else Any
        items = [_parse(item, element, f"{path}[{index}]") for index, element in enumerate(value)]
        container = origin or tp
        if container in (set, abc.Set, abc.MutableSet):
            return set(items)
        if container is frozenset:
            return frozenset(items)
        return tuple(items) if container is tuple else items
    if origin in _MAPPINGS or tp is dict:
        if not isinstance(value, dict):
            raise _Mismatch(path, f"expected an object, got {_describe(value)}")
        item = args[1] if len(args) == 2 else Any
        return {key: _parse(item, element, f"{path}.{key}") for key, element in value.items()}
    if isinstance(tp, type):
        if issubclass(tp, enum.Enum):
            try:
                return tp(value)
            except ValueError:
                allowed = [member.value for member in typing.cast(Any, tp)]
                raise _Mismatch(path, f"expected one of {allowed}, got {_describe(value)}") from None
        if _pydantic_model(tp):
            try:
                return tp.model_validate(value)  # type: ignore[attr-defined]
            except Exception as error:  # pydantic.ValidationError, without importing pydantic
                raise _Mismatch(path, f"does not validate as {tp.__name__}: {error}") from error
        if dataclasses.is_dataclass(tp) or _is_typeddict(tp) or _is_namedtuple(tp):
            return _parse_object(tp, value, path)
    if hasattr(tp, "__supertype__"):
        return _parse(tp.__supertype__, value, path)
    raise _Mismatch(path, f"cannot build a {type_name(tp)} ({_SUPPORTED})")


def _parse_formatted(tp: Any, value: Any, path: str) -> Any:
    if not isinstance(value, str):
        raise _Mismatch(path, f"expected a {_FORMATS.get(tp, 'uuid')} string, got {_describe(value)}")
    try:
        if tp is _dt.datetime and value.endswith(("Z", "z")):
            value = value[:-1] + "+00:00"  # fromisoformat takes Z only from Python 3.11
        return tp.fromisoformat(value) if tp in _FORMATS else tp(value)
    except ValueError as error:
        raise _Mismatch(
            path, f"expected a {_FORMATS.get(tp, 'uuid')} string, got {value!r} ({error})"
        ) from None


def _parse_object(cls: type, value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        raise _Mismatch(path, f"expected an object for {cls.__name__}, got {_describe(value)}")
    fields = _fields(cls)
    unknown = set(value) - {field.name for field in fields}
    if unknown:
        raise _Mismatch(path, f"unexpected key(s) {sorted(unknown)} for {cls.__name__}")
    values: Dict[str, Any] = {}
    for field in fields:
        if field.name not in value:
            if field.optional:
                continue
            raise _Mismatch(path, f"missing key {field.name!r} for {cls.__name__}")
        item = value[field.name]
        if item is None and field.optional and not _admits_none(field.tp):
            continue  # null for a field that may be left out: left out (see the module docstring)
        values[field.name] = _parse(field.tp, item, f"{path}.{field.name}")
    if _is_typeddict(cls):
        return values
    try:
        return cls(**values)
    except Exception as error:  # __post_init__ validation, for example
        raise _Mismatch(path, f"{cls.__name__}(...) raised {type(error).__name__}: {error}") from error


def parse_as(tp: Any, value: Any) -> Any:
    """An instance of ``tp`` built from decoded JSON (nested dataclasses, enums, tuples, datetimes,
    pydantic models through ``model_validate``); StructuredOutputError says where it does not fit.

    The ``{"value": ...}`` wrapper ``json_schema`` puts around a non-object type is taken off.
    """
    try:
        if isinstance(value, dict) and set(value) == {"value"} and not _is_object_type(tp):
            try:
                return _parse(tp, value["value"], "$.value")
            except _Mismatch as first:
                try:  # perhaps a real object whose only key is "value"
                    return _parse(tp, value, "$")
                except _Mismatch:
                    raise first from None
        return _parse(tp, value, "$")
    except _Mismatch as problem:
        error = StructuredOutputError(
            f"the JSON does not fit {type_name(tp)}: at {problem.path}: {problem.message}", problem.path
        )
        raise error from problem.__cause__


def parse_json(tp: Any, text: Union[str, bytes]) -> Any:
    """``parse_as(tp, json.loads(text))``, with a clear error when the text is not JSON."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as error:
        shown = text[:80] if isinstance(text, (str, bytes)) else type(text).__name__
        raise StructuredOutputError(f"the answer is not JSON ({error}): {shown!r}") from None
    return parse_as(tp, value)


_CUT_OFF = {
    "length": "the answer was cut off by the token limit before its JSON was complete; raise max_tokens",
    "max_output_tokens": "the answer was cut off by max_output_tokens before its JSON was complete; raise it",
    "content_filter": "the answer was stopped by the content filter before its JSON was complete",
}


def parse_message(tp: Any, message: Any, finish_reason: Optional[str] = None) -> Tuple[Any, Optional[str]]:
    """``(parsed, refusal)`` for a chat message: ``(None, text)`` when the model refused,
    ``(None, None)`` when it answered with tool calls only."""
    if not isinstance(message, dict):
        return None, None
    if message.get("refusal"):
        return None, message["refusal"]
    content = message.get("content")
    if content is None:
        return None, None
    if isinstance(content, list):  # content parts
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    try:
        return parse_json(tp, content), None
    except StructuredOutputError as error:
        reason = _CUT_OFF.get(finish_reason or "")
        if reason is not None:
            raise StructuredOutputError(f"{reason} ({error})", error.path) from error
        raise


def parse_chat_completion(tp: Any, body: Any) -> Tuple[Any, Optional[str]]:
    """``(parsed, refusal)`` for the first choice of a chat completion body."""
    choices = body.get("choices") if isinstance(body, dict) else None
    if not choices or not isinstance(choices[0], dict):
        return None, None
    return parse_message(tp, choices[0].get("message"), choices[0].get("finish_reason"))


def parse_response(tp: Any, body: Any) -> Tuple[Any, Optional[str]]:
    """``(parsed, refusal)`` for a Responses API body: its output_text parts parsed as ``tp``."""
    texts: List[str] = []
    refusal: Optional[str] = None
    for item in (body.get("output") if isinstance(body, dict) else None) or ():
        if not isinstance(item, dict) or item.get("type") != "message":
            continue
        for part in item.get("content") or ():
            if not isinstance(part, dict):
                continue
            if part.get("type") == "output_text":
                texts.append(part.get("text") or "")
            elif part.get("type") == "refusal":
                refusal = part.get("refusal") or refusal
    if not texts:
        return None, refusal
    try:
        return parse_json(tp, "".join(texts)), None
    except StructuredOutputError as error:
        details = body.get("incomplete_details") or {}
        reason = _CUT_OFF.get(details.get("reason") or "") if isinstance(details, dict) else None
        if reason is not None:
            raise StructuredOutputError(f"{reason} ({error})", error.path) from error
        raise


def parse_body(tp: Any, body: Any) -> Tuple[Any, Optional[str]]:
    """``(parsed, refusal)`` for a decoded body of either API (a Responses object or a chat completion)."""
    if isinstance(body, dict) and body.get("object") == "response":
        return parse_response(tp, body)
    return parse_chat_completion(tp, body)
