"""The README's code: every Python block parses, and its example transport passes the kit."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.parametrize("number", range(len(BLOCKS)))
def test_every_python_block_parses(number):
    compile(BLOCKS[number], f"README block {number}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_the_example_transport_is_safe_to_copy():
    """What the README offers plugin authors to start from passes the conformance kit."""
    from openai_bindings.testing import check_transport

    (source,) = [block for block in BLOCKS if "class PlainTransport" in block]
    namespace: dict = {}
    exec(compile(source, "README transport example", "exec"), namespace)
    report = check_transport(namespace["PlainTransport"])
    assert not report.failed and len(report.passed) >= 18
