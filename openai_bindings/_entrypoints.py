"""Our entry-point group, found the way ``importlib.metadata`` finds it, without importing it.

``import importlib.metadata`` loads email, zipfile, csv and pathlib's machinery, and
``entry_points()`` builds a distribution object and parses the entry points of every
installed distribution: 15-20 ms of CPU in a cold start, more than everything else
this library adds to its first request. Most hosts need none of it: the plugins live
in ``*.dist-info`` / ``*.egg-info`` directories on ``sys.path``. This module reads those
directories' ``entry_points.txt`` the way ``importlib.metadata`` orders and de-duplicates
them, parses only the files that mention our group, and reads a distribution's name
only for those.

Where it cannot see what ``importlib.metadata`` would see it declines (``None``) and
the caller asks ``importlib.metadata``: a zip file on ``sys.path``, a meta-path finder of
its own that lists distributions, or ``importlib.metadata`` replaced by a test.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any, Dict, List, Optional, Tuple

__all__ = ["EntryPoint", "scan"]

#: importlib.metadata's grammar for a value: ``module[:attr.attr] [extras]`` (compiled on load).
_VALUE = r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$"


class EntryPoint:
    """The part of ``importlib.metadata.EntryPoint`` a plugin loader uses: name, value, load()."""

    __slots__ = ("group", "name", "value")

    def __init__(self, name: str, value: str, group: str) -> None:
        self.name = name
        self.value = value
        self.group = group

    def load(self) -> Any:
        """Import the module and look the attribute up, as importlib.metadata does."""
        import importlib

        match = re.match(_VALUE, self.value)
        if match is None:
            raise ValueError(f"entry point {self.name!r}: {self.value!r} is not 'module:attribute'")
        target: Any = importlib.import_module(match.group("module"))
        for attr in filter(None, (match.group("attr") or "").split(".")):
            target = getattr(target, attr)
        return target

    def __repr__(self) -> str:
        return f"EntryPoint(name={self.name!r}, value={self.value!r}, group={self.group!r})"


def scan(group: str) -> Optional[List[Tuple[EntryPoint, str]]]:
    """The group's entry points with their distribution's name, in importlib.metadata's order
    (``sys.path`` order, the first distribution of a name winning); None when this cannot tell."""
    if not _can_scan():
        return None
    header = f"[{group}]".encode()
    found: List[Tuple[EntryPoint, str]] = []
    seen: set[str] = set()
    for entry in sys.path:
        root = entry or "."
        try:
            children = os.listdir(root)
        except OSError:
            if os.path.isfile(root):  # a zip on sys.path: importlib.metadata reads those
                return None
            continue
        for info, name in _infos(root, children):
            if name in seen:
                continue
            seen.add(name)
            data = _read(os.path.join(info, "entry_points.txt"))
            if data is None or header not in data:
                continue
            try:
                points = _section(data.decode("utf-8"), group)
            except UnicodeDecodeError:
                continue
            if points:
                dist = _dist_name(info) or name
                found.extend((point, dist) for point in points)
    return found


def _read(path: str) -> Optional[bytes]:
    """A file's bytes, None when it is not there (most distributions have no entry points):
    os-level calls, as a text-mode open costs twice as much, per distribution."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        pieces: List[bytes] = []
        while True:
            piece = os.read(descriptor, 1 << 16)
            if not piece:
                return b"".join(pieces)
            pieces.append(piece)
    except OSError:
        return None
    finally:
        os.close(descriptor)


def _can_scan() -> bool:
    metadata = sys.modules.get("importlib.metadata")
    if metadata is not None:  # imported already: maybe replaced by a test, which then decides
        for function in ("entry_points", "distributions"):
            if getattr(getattr(metadata, function, None), "__module__", None) != "importlib.metadata":
                return False
    from importlib.machinery import PathFinder

    # Another finder that lists distributions (a zipapp's, a backport's) would add to them.
    return not any(
        finder is not PathFinder and hasattr(finder, "find_distributions") for finder in sys.meta_path
    )


def _infos(root: str, children: List[str]) -> List[Tuple[str, str]]:
    """The metadata directories in one ``sys.path`` entry, as importlib.metadata's Lookup
    orders them (by normalised name, in listing order; an .egg's own EGG-INFO after them)."""
    infos: Dict[str, List[str]] = {}
    for child in children:
        low = child.lower()
        if low.endswith((".dist-info", ".egg-info")):
            name = _normalise(low.rpartition(".")[0].partition("-")[0])
            infos.setdefault(name, []).append(os.path.join(root, child))
    found = [(path, name) for name, paths in infos.items() for path in paths]
    base = os.path.basename(root).lower()
    if base.endswith(".egg") and "egg-info" in (child.lower() for child in children):
        name = _normalise(base.rpartition(".")[0].partition("-")[0])
        found.extend((os.path.join(root, child), name) for child in children if child.lower() == "egg-info")
    return found


def _normalise(name: str) -> str:
    """importlib.metadata's ``Prepared.normalize`` (each run of - _ . becomes one _, lower
    case), without a regular expression to compile in a cold start."""
    name = name.lower().replace("-", "_").replace(".", "_")
    while "__" in name:
        name = name.replace("__", "_")
    return name


def _section(text: str, group: str) -> List[EntryPoint]:
    """``name = value`` lines of one section, read as importlib.metadata's ``Sectioned`` does."""
    points: List[EntryPoint] = []
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            inside = line[1:-1].strip() == group
            continue
        if inside:
            name, equals, value = line.partition("=")
            if equals:
                points.append(EntryPoint(name.strip(), value.strip(), group))
    return points


def _dist_name(info: str) -> Optional[str]:
    """The ``Name:`` of a distribution's METADATA (PKG-INFO for eggs), without an email parser."""
    for filename in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(info, filename), encoding="utf-8") as file:
                for line in file:
                    if not line.strip():
                        break  # the headers end at the first blank line
                    if line[:5].lower() == "name:":
                        return line[5:].strip() or None
        except (OSError, UnicodeDecodeError):
            continue
    return None
