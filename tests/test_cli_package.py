"""The distribution ships what the code imports: every subpackage, the LICENSE."""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Repository folders installed under another name (setup.cfg's package_dir).
MAPPED = {"providers": "openai_bindings.providers", "transports": "openai_bindings.transports"}


def _setup_cfg() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config


def test_every_subpackage_is_listed_in_setup_cfg():
    listed = set(_setup_cfg()["options"]["packages"].split())
    found = set()
    for top, name in (("openai_bindings", "openai_bindings"), *MAPPED.items()):
        for init in (ROOT / top).rglob("__init__.py"):
            found.add(".".join((name, *init.parent.relative_to(ROOT / top).parts)))
    assert found <= listed, f"add to setup.cfg [options] packages: {sorted(found - listed)}"


def test_the_license_ships():
    metadata = _setup_cfg()["metadata"]
    assert metadata["license"] == "MIT" and metadata["license_files"].strip() == "LICENSE"
    assert "MIT License" in (ROOT / "LICENSE").read_text()
