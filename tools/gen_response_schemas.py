#!/usr/bin/env python3
"""Generate tests/openapi_responses.json: the answer schemas of every endpoint FakeOpenAIServer serves.

Run by hand when the API grows, and commit the output:

    python tools/gen_response_schemas.py /path/to/openapi.json [--source "openai/openai-openapi@<commit>"]

The input is OpenAI's published OpenAPI document (``openapi.json`` of
github.com/openai/openai-openapi). The output keeps, for each route of the
fake that the document lists, the schema of its 200 answer per content type,
plus the component schemas those reach; descriptions and examples are
dropped. ``oneOf`` becomes ``anyOf``: the document's unions overlap (a
message item fits several of them), and "fits one of them" is the check the
tests want. The fake's tests validate every answer against it with
jsonschema, which catches a missing required field that openai-python's
lenient models let through.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any, Dict, List, Mapping

_DROP = {"description", "example", "examples", "title", "x-oaiMeta", "x-oaiTypeLabel", "x-oaiExpandable"}
_REF = re.compile(r"#/components/schemas/([A-Za-z0-9_.-]+)")


def _strip(node: Any) -> Any:
    if isinstance(node, dict):
        return {("anyOf" if k == "oneOf" else k): _strip(v) for k, v in node.items() if k not in _DROP}
    if isinstance(node, list):
        return [_strip(item) for item in node]
    return node


def build(document: Mapping[str, Any], keys: List[str]) -> Dict[str, Any]:
    answers: Dict[str, Dict[str, Any]] = {}
    for key in keys:
        method, path = key.split(" ", 1)
        operation = (document["paths"].get(path) or {}).get(method.lower())
        if operation is None:
            continue
        ok = operation.get("responses", {}).get("200") or {}
        content = {kind: _strip(body.get("schema") or {}) for kind, body in (ok.get("content") or {}).items()}
        if content:
            answers[key] = content
    schemas = document["components"]["schemas"]
    wanted = set(_REF.findall(json.dumps(answers)))
    todo = list(wanted)
    while todo:
        name = todo.pop()
        for found in _REF.findall(json.dumps(schemas[name])):
            if found not in wanted:
                wanted.add(found)
                todo.append(found)
    return {
        "answers": answers,
        "components": {"schemas": {name: _strip(schemas[name]) for name in sorted(wanted)}},
    }


def _dump(built: Mapping[str, Any]) -> str:
    """JSON with one endpoint or schema per line: compact, yet a regenerated file diffs by schema."""

    def block(entries: Mapping[str, Any], indent: str) -> str:
        lines = [
            f"{indent}{json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in sorted(entries.items())
        ]
        return "{\n" + ",\n".join(lines) + "\n" + indent[:-1] + "}"

    return (
        "{\n"
        f' "source": {json.dumps(built["source"])},\n'
        f' "answers": {block(built["answers"], "  ")},\n'
        f' "components": {{"schemas": {block(built["components"]["schemas"], "  ")}}}\n'
        "}\n"
    )


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spec", help="path to the OpenAPI document (openapi.json)")
    parser.add_argument("--source", default=None, help="where the document came from, kept in the output")
    parser.add_argument(
        "--output",
        default=os.path.join(os.path.dirname(__file__), "..", "tests", "openapi_responses.json"),
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    from openai_bindings.testing.fake.routes import ROUTES

    with open(args.spec, encoding="utf-8") as handle:
        document = json.load(handle)
    built = build(document, sorted(ROUTES))
    built = {"source": args.source or os.path.basename(args.spec), **built}
    with open(args.output, "w", encoding="utf-8") as handle:
        handle.write(_dump(built))
    print(f"wrote {args.output}: {len(built['answers'])} endpoints", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
