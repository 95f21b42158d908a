"""Python types -> strict JSON schemas for structured outputs, and decoded JSON -> instances.

Every shape is asserted exactly, checked against the invariants of strict mode,
validated as a JSON Schema (jsonschema), and parsed back from a matching value.
"""

from __future__ import annotations

import datetime
import enum
import json
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, NamedTuple, NotRequired, Optional, TypedDict, Union

import jsonschema
import pytest

import openai_bindings
from openai_bindings import structured
from openai_bindings.structured import (
    MAX_DEPTH,
    StructuredOutputError,
    is_type_spec,
    json_schema,
    parse_as,
    parse_chat_completion,
    parse_json,
    parse_message,
    parse_response,
    response_format_for,
    strict_schema,
    text_format_for,
)

# -- the types -------------------------------------------------------------------------------------


class Color(enum.Enum):
    """A primary colour."""

    RED = "red"
    GREEN = "green"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclass
class Address:
    """Where someone lives.

    Attributes:
        city: the city name
        postcode: the postal code,
            if there is one
    """

    city: str
    postcode: Optional[str] = None


@dataclass
class Person:
    """A person we know."""

    name: str = field(metadata={"description": "full name"})
    age: int
    home: Address
    favourite: Color
    nicknames: list[str] = field(default_factory=list)
    born: Optional[datetime.date] = None
    size: Literal["s", "m", "l"] = "m"


@dataclass
class Measurement:
    """A reading.

    :ivar value: what was read
    :ivar unit: its unit
    """

    value: float
    unit: Annotated[str, "SI unit symbol"]
    at: datetime.datetime
    sensor: uuid.UUID
    when: datetime.time


@dataclass
class Node:
    label: str
    children: list[Node]


@dataclass
class Employee:
    name: str
    manager: Optional[Manager]


@dataclass
class Manager:
    name: str
    reports: list[Employee]


class Movie(TypedDict):
    """A film."""

    title: str
    year: NotRequired[int]
    rating: NotRequired[Optional[float]]


class Sparse(TypedDict, total=False):
    a: int


class Point(NamedTuple):
    x: float
    y: float
    label: str = ""


@dataclass
class Cat:
    meows: bool


@dataclass
class Dog:
    barks: int


@dataclass
class Pet:
    animal: Union[Cat, Dog]
    owner: Address = field(metadata={"description": "who looks after it"})


@dataclass
class Checked:
    n: int

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError("n must not be negative")


# -- checks every schema gets ----------------------------------------------------------------------


def assert_strict(schema: dict) -> None:
    """The invariants of strict mode, everywhere in the document."""
    assert schema["type"] == "object"

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object":
                assert node["additionalProperties"] is False, node
                assert node["required"] == list(node["properties"]), node
            assert "default" not in node and "oneOf" not in node and "allOf" not in node
            if "$ref" in node:
                assert set(node) == {"$ref"}, node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    jsonschema.Draft202012Validator.check_schema(schema)


def check(tp: Any, expected: dict, value: Any, parsed: Any) -> None:
    schema = json_schema(tp)
    assert schema == expected
    assert_strict(schema)
    jsonschema.validate(value, schema)  # the answer a model gives fits the schema we send
    result = parse_as(tp, value)
    assert result == parsed
    assert type(result) is type(parsed)


NULL = {"type": "null"}


def nullable(schema: dict) -> dict:
    return {"anyOf": [schema, NULL]}


def wrapped(schema: dict, defs: Optional[dict] = None) -> dict:
    out = {
        "type": "object",
        "properties": {"value": schema},
        "required": ["value"],
        "additionalProperties": False,
    }
    return {**out, "$defs": defs} if defs else out


ADDRESS = {
    "type": "object",
    "title": "Address",
    "description": "Where someone lives.",
    "properties": {
        "city": {"type": "string", "description": "the city name"},
        "postcode": {**nullable({"type": "string"}), "description": "the postal code, if there is one"},
    },
    "required": ["city", "postcode"],
    "additionalProperties": False,
}
COLOR = {"title": "Color", "type": "string", "enum": ["red", "green"], "description": "A primary colour."}


# -- scalars and containers at the root are wrapped ------------------------------------------------


@pytest.mark.parametrize(
    ("tp", "schema", "value", "parsed"),
    [
        (str, {"type": "string"}, "hi", "hi"),
        (int, {"type": "integer"}, 3, 3),
        (float, {"type": "number"}, 2, 2.0),
        (bool, {"type": "boolean"}, True, True),
        (type(None), NULL, None, None),
        (list[int], {"type": "array", "items": {"type": "integer"}}, [1, 2], [1, 2]),
        (tuple[str, ...], {"type": "array", "items": {"type": "string"}}, ["a", "b"], ("a", "b")),
        (set[int], {"type": "array", "items": {"type": "integer"}}, [1, 1, 2], {1, 2}),
        (frozenset[str], {"type": "array", "items": {"type": "string"}}, ["a"], frozenset({"a"})),
        (Optional[int], nullable({"type": "integer"}), None, None),
        (int | None, nullable({"type": "integer"}), 4, 4),
        (Union[int, str], {"anyOf": [{"type": "integer"}, {"type": "string"}]}, "x", "x"),
        (Literal["a", "b"], {"type": "string", "enum": ["a", "b"]}, "b", "b"),
        (Literal[1, 2.5], {"type": "number", "enum": [1, 2.5]}, 1, 1),
        (
            Literal["auto", 0, None],
            {"anyOf": [{"type": "string", "enum": ["auto"]}, {"type": "integer", "enum": [0]}, NULL]},
            0,
            0,
        ),
        (datetime.date, {"type": "string", "format": "date"}, "2024-02-29", datetime.date(2024, 2, 29)),
        (
            Annotated[list[str], "the words"],
            {"type": "array", "items": {"type": "string"}, "description": "the words"},
            ["w"],
            ["w"],
        ),
    ],
)
def test_non_object_types_are_wrapped_in_a_value_object(tp, schema, value, parsed):
    check(tp, wrapped(schema), {"value": value}, parsed)
    assert parse_as(tp, value) == parsed  # the bare value parses too


def test_an_enum_at_the_root():
    check(Color, wrapped({"$ref": "#/$defs/Color"}, {"Color": COLOR}), {"value": "green"}, Color.GREEN)
    check(
        Priority,
        wrapped(
            {"$ref": "#/$defs/Priority"},
            {"Priority": {"title": "Priority", "type": "integer", "enum": [1, 2]}},
        ),
        {"value": 2},
        Priority.HIGH,
    )


def test_a_list_of_dataclasses_at_the_root():
    check(
        list[Address],
        wrapped({"type": "array", "items": {"$ref": "#/$defs/Address"}}, {"Address": ADDRESS}),
        {"value": [{"city": "Oslo", "postcode": None}, {"city": "Bergen", "postcode": "5003"}]},
        [Address("Oslo"), Address("Bergen", "5003")],
    )
    check(
        Optional[Address],
        wrapped(nullable({"$ref": "#/$defs/Address"}), {"Address": ADDRESS}),
        {"value": None},
        None,
    )


# -- dataclasses -----------------------------------------------------------------------------------


def test_a_dataclass_with_nested_types_defaults_and_descriptions():
    check(
        Person,
        {
            "type": "object",
            "title": "Person",
            "description": "A person we know.",
            "properties": {
                "name": {"type": "string", "description": "full name"},
                "age": {"type": "integer"},
                "home": {"$ref": "#/$defs/Address"},
                "favourite": {"$ref": "#/$defs/Color"},
                "nicknames": nullable({"type": "array", "items": {"type": "string"}}),
                "born": nullable({"type": "string", "format": "date"}),
                "size": nullable({"type": "string", "enum": ["s", "m", "l"]}),
            },
            "required": ["name", "age", "home", "favourite", "nicknames", "born", "size"],
            "additionalProperties": False,
            "$defs": {"Address": ADDRESS, "Color": COLOR},
        },
        {
            "name": "Ann Lee",
            "age": 41,
            "home": {"city": "Oslo", "postcode": "0150"},
            "favourite": "red",
            "nicknames": None,  # null for a field with a default: the default
            "born": "1983-05-01",
            "size": None,
        },
        Person("Ann Lee", 41, Address("Oslo", "0150"), Color.RED, [], datetime.date(1983, 5, 1), "m"),
    )


def test_formats_and_sphinx_docstrings():
    sensor = uuid.UUID("12345678-1234-5678-1234-567812345678")
    check(
        Measurement,
        {
            "type": "object",
            "title": "Measurement",
            "description": "A reading.",
            "properties": {
                "value": {"type": "number", "description": "what was read"},
                "unit": {"type": "string", "description": "SI unit symbol"},
                "at": {"type": "string", "format": "date-time"},
                "sensor": {"type": "string", "format": "uuid"},
                "when": {"type": "string", "format": "time"},
            },
            "required": ["value", "unit", "at", "sensor", "when"],
            "additionalProperties": False,
        },
        {"value": 3, "unit": "K", "at": "2024-01-02T03:04:05Z", "sensor": str(sensor), "when": "12:30:00"},
        Measurement(
            3.0,
            "K",
            datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
            sensor,
            datetime.time(12, 30),
        ),
    )


def test_a_described_nested_type_is_inlined_as_the_api_requires():
    # {"$ref": ..., "description": ...} is not accepted: the definition is inlined, unused $defs go
    check(
        Pet,
        {
            "type": "object",
            "title": "Pet",
            "properties": {
                "animal": {"anyOf": [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}]},
                "owner": {**ADDRESS, "description": "who looks after it"},
            },
            "required": ["animal", "owner"],
            "additionalProperties": False,
            "$defs": {
                "Cat": {
                    "type": "object",
                    "title": "Cat",
                    "properties": {"meows": {"type": "boolean"}},
                    "required": ["meows"],
                    "additionalProperties": False,
                },
                "Dog": {
                    "type": "object",
                    "title": "Dog",
                    "properties": {"barks": {"type": "integer"}},
                    "required": ["barks"],
                    "additionalProperties": False,
                },
            },
        },
        {"animal": {"barks": 3}, "owner": {"city": "Rome", "postcode": None}},
        Pet(Dog(3), Address("Rome")),
    )
    assert parse_as(Pet, {"animal": {"meows": True}, "owner": {"city": "x", "postcode": None}}).animal == Cat(
        True
    )


def test_recursive_types():
    check(
        Node,
        {
            "type": "object",
            "title": "Node",
            "properties": {
                "label": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#"}},
            },
            "required": ["label", "children"],
            "additionalProperties": False,
        },
        {"label": "a", "children": [{"label": "b", "children": []}]},
        Node("a", [Node("b", [])]),
    )
    manager = {
        "type": "object",
        "title": "Manager",
        "properties": {"name": {"type": "string"}, "reports": {"type": "array", "items": {"$ref": "#"}}},
        "required": ["name", "reports"],
        "additionalProperties": False,
    }  # the root type, used inside: "#"
    check(
        Employee,
        {
            "type": "object",
            "title": "Employee",
            "properties": {"name": {"type": "string"}, "manager": nullable({"$ref": "#/$defs/Manager"})},
            "required": ["name", "manager"],
            "additionalProperties": False,
            "$defs": {"Manager": manager},
        },
        {"name": "e", "manager": {"name": "m", "reports": []}},
        Employee("e", Manager("m", [])),
    )


# -- TypedDict and NamedTuple ----------------------------------------------------------------------


def test_a_typeddict_not_required_is_required_but_nullable():
    expected = {
        "type": "object",
        "title": "Movie",
        "description": "A film.",
        "properties": {
            "title": {"type": "string"},
            "year": nullable({"type": "integer"}),
            "rating": nullable({"type": "number"}),
        },
        "required": ["title", "year", "rating"],
        "additionalProperties": False,
    }
    # null for a NotRequired key that cannot be None: the key is left out; an Optional one keeps None
    check(Movie, expected, {"title": "Heat", "year": None, "rating": None}, {"title": "Heat", "rating": None})
    assert parse_as(Movie, {"title": "Heat", "year": 1995, "rating": 8.3}) == {
        "title": "Heat",
        "year": 1995,
        "rating": 8.3,
    }
    assert parse_as(Movie, {"title": "Heat"}) == {"title": "Heat"}
    assert json_schema(Sparse)["properties"] == {"a": nullable({"type": "integer"})}


def test_a_namedtuple_is_an_object_with_named_fields():
    check(
        Point,
        {
            "type": "object",
            "title": "Point",
            "properties": {
                "x": {"type": "number"},
                "y": {"type": "number"},
                "label": nullable({"type": "string"}),
            },
            "required": ["x", "y", "label"],
            "additionalProperties": False,
        },
        {"x": 1, "y": 2.5, "label": None},
        Point(1.0, 2.5),
    )


# -- refusals --------------------------------------------------------------------------------------


@dataclass
class WithDict:
    counts: dict[str, int]


@dataclass
class WithAny:
    anything: Any


@dataclass
class WithPair:
    pair: tuple[int, str]


@pytest.mark.parametrize(
    ("tp", "message"),
    [
        (
            dict[str, int],
            r"dict\[str, int\] cannot be used for structured output: an object with free-form keys",
        ),
        (WithDict, r"at WithDict\.counts\).*additionalProperties with a schema, which strict mode rejects"),
        (dict, r"for free-form JSON use response_format=\{'type': 'json_object'\}"),
        (WithAny, r"at WithAny\.anything\).*any type has no schema"),
        (WithPair, r"no fixed-length, per-position arrays \(prefixItems\); use tuple\[X, \.\.\.\]"),
        (list, r"say what the items are, e.g. list\[str\]"),
        (bytes, r"bytes have no JSON form"),
        (complex, r"it has no JSON schema \(supported: dataclasses"),
        (Literal[b"x"], r"b'x' is not a JSON value"),
        (enum.Enum("Odd", {"A": (1, 2)}), r"\(1, 2\) is not a JSON value"),
    ],
)
def test_types_the_api_would_reject_are_refused_with_the_reason(tp, message):
    with pytest.raises(TypeError, match=message):
        json_schema(tp)


def test_json_schema_wants_a_type():
    with pytest.raises(TypeError, match="json_schema takes a Python type"):
        json_schema({"type": "object"})


def test_an_unresolvable_annotation_is_refused(tmp_path):
    namespace: dict = {}
    exec(
        "from __future__ import annotations\nfrom dataclasses import dataclass\n"
        "@dataclass\nclass Lost:\n    x: Nowhere\n",
        namespace,
    )
    with pytest.raises(TypeError, match="cannot resolve the annotations of Lost"):
        json_schema(namespace["Lost"])


def test_strict_schema_normalises_and_checks_a_raw_schema():
    raw = {
        "type": "object",
        "properties": {
            "a": {"type": "integer", "default": 3},
            "b": {"oneOf": [{"type": "string"}, {"type": "null"}]},
            "c": {"allOf": [{"$ref": "#/$defs/C"}], "description": "the c"},
        },
        "required": ["a"],
        "$defs": {"C": {"type": "object", "properties": {"d": {"type": "boolean"}}}},
    }
    c = {
        "type": "object",
        "properties": {"d": {"type": "boolean"}},
        "additionalProperties": False,
        "required": ["d"],
    }
    assert strict_schema(raw) == {
        "type": "object",
        "properties": {
            "a": {"type": "integer"},
            "b": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "c": {**c, "description": "the c"},
        },
        "required": ["a", "b", "c"],
        "additionalProperties": False,
        "$defs": {"C": c},
    }
    assert raw["required"] == ["a"]  # the input is left alone


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "array", "items": {"type": "string"}}, "the root of a strict schema must be an object"),
        ({"type": "object", "additionalProperties": {"type": "string"}}, "free-form keys"),
        ({"type": "object", "properties": {"x": {}}}, r"the schema at \$\.x allows a value of any type"),
        ({"type": "object", "properties": {"x": {"not": {"type": "string"}}}}, "does not support 'not'"),
        (
            {"type": "object", "properties": {"x": {"allOf": [{"type": "string"}, {"minLength": 2}]}}},
            "allOf with several schemas",
        ),
        (
            {"type": "object", "properties": {"x": {"type": "array", "prefixItems": [{"type": "string"}]}}},
            "does not support 'prefixItems'",
        ),
    ],
)
def test_strict_schema_refusals(schema, message):
    with pytest.raises(TypeError, match=message):
        strict_schema(schema)


def test_the_api_limits_are_checked():
    deep: dict = {"type": "string"}
    for _ in range(MAX_DEPTH + 1):
        deep = {"type": "object", "properties": {"x": deep}}
    with pytest.raises(TypeError, match=f"more than {MAX_DEPTH} levels deep"):
        strict_schema(deep)
    many = {"type": "object", "properties": {f"p{n}": {"type": "integer"} for n in range(5001)}}
    with pytest.raises(TypeError, match="5001 properties; strict mode allows 5000"):
        strict_schema(many)
    with pytest.raises(TypeError, match="1001 enum values; strict mode allows 1000"):
        json_schema(enum.Enum("Big", {f"M{n}": n for n in range(1001)}))
    with pytest.raises(TypeError, match="total 120002 characters"):
        strict_schema(
            {"type": "object", "properties": {"x" * 60001: {"type": "string", "enum": ["y" * 60001]}}}
        )


# -- the request formats ---------------------------------------------------------------------------


def test_response_format_and_text_format():
    assert response_format_for(Address) == {
        "type": "json_schema",
        "json_schema": {"name": "Address", "schema": json_schema(Address), "strict": True},
    }
    assert text_format_for(list[Address]) == {
        "format": {
            "type": "json_schema",
            "name": "list_Address",
            "schema": json_schema(list[Address]),
            "strict": True,
        }
    }
    assert response_format_for(Optional[Color], name="maybe-colour")["json_schema"]["name"] == "maybe-colour"
    with pytest.raises(ValueError, match="name must be 1-64 letters"):
        text_format_for(Address, name="has space")


def test_is_type_spec():
    for spec in (
        Address,
        int,
        list[Address],
        Optional[int],
        int | None,
        Literal["a"],
        Annotated[int, "x"],
        Color,
    ):
        assert is_type_spec(spec)
    for passthrough in ({"type": "json_object"}, {"type": "json_schema", "json_schema": {}}, None, "Address"):
        assert not is_type_spec(passthrough)


def test_the_schema_returned_is_a_copy():
    schema = json_schema(Person)
    schema["properties"].clear()
    assert json_schema(Person)["properties"]


def test_json_schema_is_exported():
    assert openai_bindings.json_schema is json_schema
    assert "json_schema" in openai_bindings.__all__


# -- parsing errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tp", "value", "message"),
    [
        (Person, {"name": "x"}, r"at \$: missing key 'age' for Person"),
        (
            Address,
            {"city": "x", "postcode": None, "zip": 1},
            r"at \$: unexpected key\(s\) \['zip'\] for Address",
        ),
        (Address, {"city": 5, "postcode": None}, r"at \$\.city: expected a string, got integer 5"),
        (Address, ["Oslo"], r"expected an object for Address, got array"),
        (
            list[Address],
            {"value": [{"city": "a", "postcode": None}, {"city": None, "postcode": None}]},
            r"at \$\.value\[1\]\.city",
        ),
        (Color, "blue", r"expected one of \['red', 'green'\], got string \"blue\""),
        (Literal["a", "b"], "c", r"expected one of \['a', 'b'\]"),
        (int, True, "expected an integer, got boolean true"),
        (float, "1", "expected a number"),
        (bool, 1, "expected true or false"),
        (type(None), 0, "expected null"),
        (datetime.date, "tomorrow", r"expected a date string, got 'tomorrow'"),
        (datetime.date, 5, "expected a date string, got integer 5"),
        (Union[int, Address], "x", r"fits none of Union\[int, Address\]: expected an integer"),
        (Checked, {"n": -1}, r"Checked\(\.\.\.\) raised ValueError: n must not be negative"),
    ],
)
def test_json_that_does_not_fit_says_where(tp, value, message):
    with pytest.raises(StructuredOutputError, match=message) as caught:
        parse_as(tp, value)
    assert str(caught.value).startswith("the JSON does not fit ")


def test_a_real_object_whose_only_key_is_value_is_not_unwrapped():
    @dataclass
    class Boxed:
        value: int

    assert parse_as(Optional[Boxed], {"value": 3}) == Boxed(3)
    assert parse_as(Optional[Boxed], {"value": {"value": 3}}) == Boxed(3)


def test_parse_json():
    assert parse_json(Address, '{"city": "Oslo", "postcode": null}') == Address("Oslo")
    assert parse_json(Address, b'{"city": "Oslo", "postcode": "1"}') == Address("Oslo", "1")
    with pytest.raises(StructuredOutputError, match=r"the answer is not JSON \(Unterminated string"):
        parse_json(Address, '{"city": "Os')


# -- answers from the API --------------------------------------------------------------------------


def chat_body(message: dict, finish: str = "stop") -> dict:
    return {
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
    }


def test_parse_a_chat_completion():
    content = json.dumps({"city": "Oslo", "postcode": None})
    assert parse_chat_completion(Address, chat_body({"role": "assistant", "content": content})) == (
        Address("Oslo"),
        None,
    )
    refused = chat_body({"role": "assistant", "content": None, "refusal": "I can't help with that."})
    assert parse_chat_completion(Address, refused) == (None, "I can't help with that.")
    tools = chat_body({"role": "assistant", "content": None, "tool_calls": [{"id": "c"}]}, "tool_calls")
    assert parse_chat_completion(Address, tools) == (None, None)
    assert parse_chat_completion(Address, {"choices": []}) == (None, None)
    cut = chat_body({"role": "assistant", "content": '{"city": "Os'}, "length")
    with pytest.raises(StructuredOutputError, match=r"cut off by the token limit.*raise max_tokens"):
        parse_chat_completion(Address, cut)
    parts = {
        "role": "assistant",
        "content": [{"type": "text", "text": '{"value": '}, {"type": "text", "text": "2}"}],
    }
    assert parse_message(int, parts) == (2, None)


def test_parse_a_response():
    body = {
        "object": "response",
        "status": "completed",
        "output": [
            {"type": "reasoning", "summary": []},
            {
                "type": "message",
                "role": "assistant",
                "content": [
                    {"type": "output_text", "text": '{"value": ["red", "green"]}', "annotations": []}
                ],
            },
        ],
    }
    assert parse_response(list[Color], body) == ([Color.RED, Color.GREEN], None)
    refusal = {"output": [{"type": "message", "content": [{"type": "refusal", "refusal": "No."}]}]}
    assert parse_response(list[Color], refusal) == (None, "No.")
    assert parse_response(list[Color], {"output": []}) == (None, None)
    cut = {
        "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"},
        "output": [{"type": "message", "content": [{"type": "output_text", "text": '{"value": ["re'}]}],
    }
    with pytest.raises(StructuredOutputError, match="cut off by max_output_tokens"):
        parse_response(list[Color], cut)


# -- pydantic, present and hidden ------------------------------------------------------------------


def test_importing_the_package_does_not_import_pydantic():
    code = (
        "import sys, openai_bindings, openai_bindings.structured, openai_bindings.schema\n"
        "from openai_bindings import json_schema\n"
        "from dataclasses import dataclass\n"
        "@dataclass\nclass A:\n    x: int\n"
        "json_schema(A)\n"
        "print('pydantic' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_everything_but_pydantic_models_works_without_pydantic(monkeypatch):
    monkeypatch.setitem(sys.modules, "pydantic", None)  # `import pydantic` now raises ImportError
    with pytest.raises(ImportError):
        import pydantic  # noqa: F401
    monkeypatch.setattr(structured, "_SCHEMAS", {})
    assert json_schema(Person)["title"] == "Person"
    assert parse_as(Address, {"city": "x", "postcode": None}) == Address("x")
    assert json_schema(list[Movie])["properties"]["value"]["items"] == {"$ref": "#/$defs/Movie"}


try:
    import pydantic
except ImportError:  # pragma: no cover - the test extra installs it
    pydantic = None

needs_pydantic = pytest.mark.skipif(pydantic is None, reason="pydantic is not installed")


if pydantic is not None:

    class Step(pydantic.BaseModel):
        """One step of the reasoning."""

        explanation: str = pydantic.Field(description="why this step")
        output: str

    class Solution(pydantic.BaseModel):
        steps: list[Step]
        answer: str
        confidence: float = 0.5
        colour: Optional[Color] = None

    class Tree(pydantic.BaseModel):
        label: str
        kids: list[Tree] = []

    class Loose(pydantic.BaseModel):
        extra: dict[str, int]

    @dataclass
    class Report:
        solution: Solution
        tree: Tree


STEP = {
    "description": "One step of the reasoning.",
    "properties": {
        "explanation": {"description": "why this step", "title": "Explanation", "type": "string"},
        "output": {"title": "Output", "type": "string"},
    },
    "required": ["explanation", "output"],
    "title": "Step",
    "type": "object",
    "additionalProperties": False,
}


@needs_pydantic
def test_a_pydantic_model_uses_its_own_schema_made_strict():
    check(
        Solution,
        {
            "properties": {
                "steps": {"items": {"$ref": "#/$defs/Step"}, "title": "Steps", "type": "array"},
                "answer": {"title": "Answer", "type": "string"},
                "confidence": {"title": "Confidence", "type": "number"},  # required; its default dropped
                "colour": {"anyOf": [{"$ref": "#/$defs/Color"}, {"type": "null"}]},
            },
            "required": ["steps", "answer", "confidence", "colour"],
            "title": "Solution",
            "type": "object",
            "additionalProperties": False,
            "$defs": {"Color": {**COLOR, "description": "A primary colour."}, "Step": STEP},
        },
        {"steps": [{"explanation": "add", "output": "4"}], "answer": "4", "confidence": 0.9, "colour": "red"},
        Solution(steps=[Step(explanation="add", output="4")], answer="4", confidence=0.9, colour=Color.RED),
    )


@needs_pydantic
def test_a_recursive_pydantic_model_and_models_inside_dataclasses():
    tree = {
        "properties": {
            "label": {"title": "Label", "type": "string"},
            "kids": {"items": {"$ref": "#"}, "title": "Kids", "type": "array"},
        },
        "required": ["label", "kids"],
        "title": "Tree",
        "type": "object",
        "additionalProperties": False,
    }
    check(
        Tree,
        tree,
        {"label": "a", "kids": [{"label": "b", "kids": []}]},
        Tree(label="a", kids=[Tree(label="b")]),
    )
    schema = json_schema(Report)
    assert_strict(schema)
    assert schema["properties"] == {
        "solution": {"$ref": "#/$defs/Solution"},
        "tree": {"$ref": "#/$defs/Tree"},
    }
    assert set(schema["$defs"]) == {"Color", "Step", "Solution", "Tree"}
    assert schema["$defs"]["Tree"]["properties"]["kids"]["items"] == {"$ref": "#/$defs/Tree"}
    value = {
        "solution": {"steps": [], "answer": "x", "confidence": 1, "colour": None},
        "tree": {"label": "t", "kids": []},
    }
    jsonschema.validate(value, schema)
    assert parse_as(Report, value) == Report(Solution(steps=[], answer="x", confidence=1), Tree(label="t"))


@needs_pydantic
def test_pydantic_refusals_and_validation_errors():
    with pytest.raises(TypeError, match="free-form keys"):
        json_schema(Loose)
    with pytest.raises(
        StructuredOutputError, match=r"(?s)at \$: does not validate as Solution: .*answer"
    ) as caught:
        parse_as(Solution, {"steps": [], "confidence": 1, "colour": None})
    assert isinstance(caught.value.__cause__, pydantic.ValidationError)
