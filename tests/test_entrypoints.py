"""Finding entry points without importlib.metadata: the same answer, or none at all.

``_entrypoints.scan`` saves a cold start the import of importlib.metadata and the parse
of every installed distribution's entry points. It must never see something else than
importlib.metadata would: these tests compare the two on the real environment and on
made-up sites, and check that it declines (and importlib.metadata answers) where it
cannot see as far: a zip on sys.path, another distribution finder, importlib.metadata
replaced by a test.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
import zipfile
from pathlib import Path
from typing import Any, List, Tuple

import pytest
from support import make_distribution

from openai_bindings import _entrypoints, plugins


def _theirs(group: str) -> List[Tuple[str, str, str]]:
    found = importlib.metadata.entry_points(group=group)
    return [(ep.name, ep.value, ep.dist.metadata["Name"]) for ep in found]


def _ours(group: str) -> List[Tuple[str, str, str]]:
    found = _entrypoints.scan(group)
    assert found is not None, "the scan declined where importlib.metadata's view is plain directories"
    return [(ep.name, ep.value, dist) for ep, dist in found]


def test_every_group_of_this_environment_reads_as_importlib_metadata_reads_it():
    groups = sorted({ep.group for dist in importlib.metadata.distributions() for ep in dist.entry_points})
    assert groups, "this environment has no entry points at all: nothing was compared"
    for group in groups:
        assert _ours(group) == _theirs(group), group


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two sys.path entries in front: the same distribution in both (the first wins), an
    egg-info, a distribution with another group only, comments, spaces, extras."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    make_distribution(first, "ob-scan-one", "ob_scan_one", "X = 1\n", entry="one")
    make_distribution(second, "ob-scan-one", "ob_scan_one", "X = 2\n", entry="shadowed")
    make_distribution(second, "ob-scan-two", "ob_scan_two", "class Deep:\n    class X:\n        pass\n")
    egg = first / "Ob.Scan_Egg-2.0.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: Ob.Scan_Egg\nVersion: 2.0\n")
    (egg / "entry_points.txt").write_text(
        "# a comment\n[console_scripts]\nob-scan = ob_scan_two:main\n\n"
        "[openai_bindings]\n  egg   =   ob_scan_two:Deep.X [extra]  \n"
    )
    other = first / "ob_scan_other-1.0.dist-info"
    other.mkdir()
    (other / "METADATA").write_text("Name: ob-scan-other\n")
    (other / "entry_points.txt").write_text("[console_scripts]\nob-other = ob_scan_two:main\n")
    monkeypatch.syspath_prepend(str(second))
    monkeypatch.syspath_prepend(str(first))
    importlib.invalidate_caches()
    yield tmp_path
    for name in ("ob_scan_one", "ob_scan_two"):
        sys.modules.pop(name, None)
    importlib.invalidate_caches()


def test_a_made_up_site_reads_the_same(site):
    ours = _ours("openai_bindings")
    assert ours == _theirs("openai_bindings")
    assert ("one", "ob_scan_one", "ob-scan-one") in ours
    assert ("egg", "ob_scan_two:Deep.X [extra]", "Ob.Scan_Egg") in ours
    assert not any(name == "shadowed" for name, _, _ in ours), "the first distribution of a name wins"
    assert _ours("console_scripts") == _theirs("console_scripts")


def test_an_entry_point_loads_as_importlib_metadata_loads_it(site):
    found = {ep.name: ep for ep, _ in _entrypoints.scan("openai_bindings") or []}
    assert found["one"].load().X == 1  # a module
    deep = found["egg"].load()  # module:attr.attr, extras ignored
    assert deep is importlib.import_module("ob_scan_two").Deep.X
    assert "egg" in repr(found["egg"])


def test_the_registry_loads_plugins_found_by_the_scan(site, monkeypatch):
    monkeypatch.setenv(plugins.PLUGINS_ENV, "ob-scan-one")
    registry = plugins.get_registry()
    assert registry.origins.get("one") == "ob-scan-one"
    assert "egg" not in registry.origins  # not allowed by the environment variable
    assert registry.manager.has_plugin("one")


def test_a_zip_on_sys_path_is_left_to_importlib_metadata(tmp_path, monkeypatch):
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("ob_zipped-1.0.dist-info/METADATA", "Name: ob-zipped\n")
        zipped.writestr("ob_zipped-1.0.dist-info/entry_points.txt", "[openai_bindings]\nzipped = ob_zipped\n")
    monkeypatch.syspath_prepend(str(archive))
    importlib.invalidate_caches()
    assert _entrypoints.scan("openai_bindings") is None
    assert ("zipped", "ob-zipped") in [(ep.name, dist) for ep, dist in plugins._entry_points()]


def test_importlib_metadata_replaced_by_a_test_is_what_the_registry_asks(monkeypatch):
    class FakeEntryPoint:
        name, value, group, dist = "faked", "ob_faked", "openai_bindings", None

    def entry_points(**params: Any) -> List[Any]:
        return [FakeEntryPoint()] if params.get("group") == "openai_bindings" else []

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    assert _entrypoints.scan("openai_bindings") is None
    assert [(ep.name, dist) for ep, dist in plugins._entry_points()] == [("faked", "unknown distribution")]


def test_another_distribution_finder_is_left_to_importlib_metadata(monkeypatch):
    class Finder:
        @staticmethod
        def find_spec(*args: Any) -> None:
            return None

        @staticmethod
        def find_distributions(*args: Any) -> List[Any]:
            return []

    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, Finder])
    assert _entrypoints.scan("openai_bindings") is None
