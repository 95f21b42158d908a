"""Tool schemas from typed Python functions, the model's arguments parsed into those types, checks."""

from __future__ import annotations

import asyncio
import datetime
import enum
import sys
from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, Optional, TypedDict

import pytest

from openai_bindings.schema import call_with_arguments, convert_arguments, function_schema, validate
from openai_bindings.structured import StructuredOutputError, json_schema


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


@dataclass
class Location:
    """A place on Earth.

    Attributes:
        city: the city
        country: ISO 3166 code
    """

    city: str
    country: str = "NO"


class Window(TypedDict):
    start: datetime.date
    days: NotRequired[int]


def forecast(where: Location, unit: Unit, window: Window, detail: Literal["brief", "full"] = "brief") -> str:
    """Forecast the weather.

    Looks far ahead when asked.

    Args:
        where: the place to forecast
        unit: temperature unit
        window (Window): the days
            to cover
        detail: how much to say
    """
    return f"{where.city}/{where.country} {unit.value} {window} {detail}"


def sphinx(query: str, limit: int = 10, tags: Optional[list[str]] = None) -> list:
    """Search the notes.

    :param query: what to look for
    :param int limit: at most this many
    :param tags: only notes with these tags
    :returns: the matches
    """
    return [query, limit, tags]


LOCATION = {
    "type": "object",
    "title": "Location",
    "description": "A place on Earth.",
    "properties": {
        "city": {"type": "string", "description": "the city"},
        "country": {"type": "string", "default": "NO", "description": "ISO 3166 code"},
    },
    "required": ["city"],
    "additionalProperties": False,
}


def test_a_tool_schema_from_dataclass_enum_typeddict_literal_parameters():
    assert function_schema(forecast) == {
        "type": "function",
        "function": {
            "name": "forecast",
            "description": "Forecast the weather.\n\nLooks far ahead when asked.",
            "parameters": {
                "type": "object",
                "properties": {
                    "where": {**LOCATION, "description": "the place to forecast"},
                    "unit": {
                        "title": "Unit",
                        "type": "string",
                        "enum": ["celsius", "fahrenheit"],
                        "description": "temperature unit",
                    },
                    "window": {
                        "type": "object",
                        "title": "Window",
                        "properties": {
                            "start": {"type": "string", "format": "date"},
                            "days": {"type": "integer"},
                        },
                        "required": ["start"],
                        "additionalProperties": False,
                        "description": "the days to cover",
                    },
                    "detail": {
                        "type": "string",
                        "enum": ["brief", "full"],
                        "default": "brief",
                        "description": "how much to say",
                    },
                },
                "required": ["where", "unit", "window"],
                "additionalProperties": False,
            },
        },
    }


def test_sphinx_docstrings_and_a_strict_tool():
    assert function_schema(sphinx, strict=True) == {
        "type": "function",
        "function": {
            "name": "sphinx",
            "description": "Search the notes.",
            "parameters": {
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "what to look for"},
                    "limit": {
                        "anyOf": [{"type": "integer"}, {"type": "null"}],
                        "description": "at most this many",
                    },
                    "tags": {
                        "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}],
                        "description": "only notes with these tags",
                    },
                },
                "required": ["query", "limit", "tags"],
                "additionalProperties": False,
            },
            "strict": True,
        },
    }


def test_one_implementation_for_tools_and_structured_output():
    """A strict tool's parameter schema for a dataclass is json_schema's definition of it."""

    def save(place: Location) -> None:
        pass

    tool = function_schema(save, strict=True)["function"]["parameters"]
    assert tool["properties"]["place"] == {"$ref": "#/$defs/Location"}
    assert tool["$defs"]["Location"] == json_schema(Location)


def test_strict_tools_refuse_what_strict_mode_rejects_and_loose_ones_allow_it():
    def anything(data: dict[str, int], extra: Any, raw) -> None:
        pass

    with pytest.raises(TypeError, match=r"at anything\.data\).*free-form keys"):
        function_schema(anything, strict=True)
    assert function_schema(anything)["function"]["parameters"]["properties"] == {
        "data": {"type": "object", "additionalProperties": {"type": "integer"}},
        "extra": {},
        "raw": {},
    }


def test_unresolvable_annotations_are_any_for_a_loose_tool_and_refused_for_a_strict_one():
    @dataclass
    class Local:
        x: int

    def use(item: Local) -> None:  # "Local" cannot be resolved from the module: a string
        pass

    assert function_schema(use)["function"]["parameters"]["properties"] == {"item": {}}
    assert convert_arguments(use, {"item": {"x": 1}}) == {"item": {"x": 1}}
    with pytest.raises(TypeError, match="unresolved name"):
        function_schema(use, strict=True)


def test_names_kwargs_and_methods():
    def flexible(a: int, **rest: Any) -> None:
        """Take anything."""

    parameters = function_schema(flexible)["function"]["parameters"]
    assert "additionalProperties" not in parameters  # **rest takes any other name
    assert function_schema(lambda x: x, name="identity")["function"]["name"] == "identity"
    with pytest.raises(ValueError, match="tool name '<lambda>' must be 1-64 letters"):
        function_schema(lambda x: x)

    class Store:
        def get(self, key: str) -> str:
            """Get a value."""
            return key

    assert function_schema(Store().get)["function"]["parameters"]["properties"] == {"key": {"type": "string"}}


# -- arguments into types --------------------------------------------------------------------------


def test_arguments_are_parsed_into_the_annotated_types():
    arguments = {
        "where": {"city": "Oslo"},
        "unit": "celsius",
        "window": {"start": "2024-06-01", "days": 3},
    }
    converted = convert_arguments(forecast, arguments)
    assert converted == {
        "where": Location("Oslo"),
        "unit": Unit.CELSIUS,
        "window": {"start": datetime.date(2024, 6, 1), "days": 3},
    }
    assert call_with_arguments(forecast, arguments) == (
        "Oslo/NO celsius {'start': datetime.date(2024, 6, 1), 'days': 3} brief"
    )


def test_null_means_the_default_for_a_strict_tool():
    assert call_with_arguments(sphinx, {"query": "q", "limit": None, "tags": None}) == ["q", 10, None]
    assert call_with_arguments(sphinx, {"query": "q", "tags": ["a"]}) == ["q", 10, ["a"]]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"where": {"city": 1}, "unit": "celsius", "window": {"start": "2024-06-01"}},
            r"argument where\.city",
        ),
        (
            {"where": {"city": "x"}, "unit": "kelvin", "window": {"start": "2024-06-01"}},
            "argument unit: expected one of",
        ),
        ({"where": {"city": "x"}, "unit": "celsius", "window": {"start": "soon"}}, r"argument window\.start"),
        ({"where": {"city": "x"}, "unit": "celsius"}, "missing argument.*'window' for forecast"),
        (
            {"where": {"city": "x"}, "unit": "celsius", "window": {"start": "2024-06-01"}, "x": 1},
            "unexpected argument 'x'",
        ),
    ],
)
def test_arguments_that_do_not_fit_say_which(arguments, message):
    with pytest.raises(StructuredOutputError, match=message):
        convert_arguments(forecast, arguments)


def test_positional_only_kwargs_untyped_and_async_functions():
    def power(base: float, /, exponent: int = 2, **options: Any) -> tuple:
        return base**exponent, options

    assert call_with_arguments(power, {"base": 3, "exponent": 3, "note": "x"}) == (27.0, {"note": "x"})

    def untyped(a, b=1):
        return a, b

    assert call_with_arguments(untyped, {"a": {"any": "thing"}}) == ({"any": "thing"}, 1)

    async def later(n: int) -> int:
        return n * 2

    assert asyncio.run(call_with_arguments(later, {"n": 4})) == 8
    with pytest.raises(StructuredOutputError, match="the arguments must be a JSON object"):
        convert_arguments(later, [1])  # type: ignore[arg-type]


# -- validate --------------------------------------------------------------------------------------


@dataclass
class Tree:
    name: str
    kids: list[Tree] = field(default_factory=list)


def plant(tree: Tree, where: Location) -> None:
    """Plant a tree."""


@pytest.mark.parametrize("use_jsonschema", [True, False], ids=["jsonschema", "subset"])
def test_validate_follows_refs_in_tool_schemas(monkeypatch, use_jsonschema):
    if not use_jsonschema:
        monkeypatch.setitem(sys.modules, "jsonschema", None)

    schema = function_schema(plant)["function"]["parameters"]
    good = {"tree": {"name": "a", "kids": [{"name": "b"}]}, "where": {"city": "x"}}
    assert validate(good, schema) == []
    problems = validate(
        {"tree": {"name": "a", "kids": [{"name": 3}]}, "where": {"city": "x", "zip": 1}}, schema
    )
    assert len(problems) == 2
    assert any("'kids'" in p and "3" in p for p in problems)
    assert any("zip" in p for p in problems)
    strict = function_schema(plant, strict=True)["function"]["parameters"]
    assert (
        validate({"tree": {"name": "a", "kids": None}, "where": {"city": "x", "country": None}}, strict) == []
    )
    assert validate({"tree": {"name": "a", "kids": None}, "where": {"city": "x"}}, strict)
