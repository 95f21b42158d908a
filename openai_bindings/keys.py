"""The command line's key store, and the user's directories it writes to.

Keys typed on a command line land in the shell's history; ``openai-bindings keys
set NAME`` stores them instead in a JSON file only the user can read (0600, in a
0700 directory under ``XDG_CONFIG_HOME`` or ``~/.config``), written atomically so
an interrupted write never leaves half a file. The command line reads it after
``--api-key`` and the provider's environment variable; the library itself never
does (a library that reads secrets from disk behind its caller's back surprises).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional

__all__ = [
    "APP_DIR",
    "KeyStoreError",
    "config_dir",
    "get_key",
    "key_names",
    "keys_path",
    "load_keys",
    "set_key",
    "state_dir",
    "write_private_json",
]

APP_DIR = "openai-bindings"
#: The first entry of a new keys file, as llm writes: a reminder for whoever opens it.
_NOTE = ("// Note", "This file stores secret API keys. Do not share it.")


class KeyStoreError(ValueError):
    """The keys file cannot be read or a key name is not usable."""


def _xdg(variable: str, fallback: str) -> Path:
    value = os.environ.get(variable)
    base = Path(value) if value and os.path.isabs(value) else Path.home() / fallback
    return base / APP_DIR


def config_dir() -> Path:
    """``$XDG_CONFIG_HOME/openai-bindings``, else ``~/.config/openai-bindings``."""
    return _xdg("XDG_CONFIG_HOME", ".config")


def state_dir() -> Path:
    """``$XDG_STATE_HOME/openai-bindings``, else ``~/.local/state/openai-bindings`` (history, last chat)."""
    return _xdg("XDG_STATE_HOME", os.path.join(".local", "state"))


def keys_path() -> Path:
    return config_dir() / "keys.json"


def write_private_json(path: Path, data: Any) -> None:
    """Write JSON readable by the user only (file 0600, its directory 0700), atomically.

    The temporary file is created 0600 in the same directory and renamed over the
    target, so a reader sees the old file or the new one, never a mix, and the
    secret is never readable by others, not even for a moment.
    """
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(data, file, indent=2, ensure_ascii=False)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def load_keys(path: Optional[Path] = None) -> Dict[str, str]:
    """Every stored key by name ({} when there is no file yet)."""
    path = path or keys_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise KeyStoreError(f"cannot read the keys file {path}: {error.strerror or error}") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise KeyStoreError(
            f"the keys file {path} is not valid JSON; fix it by hand, or remove it and store the keys again"
        ) from None
    if not isinstance(data, dict):
        raise KeyStoreError(f"the keys file {path} must hold a JSON object of name: key")
    return {name: value for name, value in data.items() if _is_key(name) and isinstance(value, str)}


def _is_key(name: str) -> bool:
    return not name.startswith("//")


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip() or name != name.strip() or not _is_key(name):
        raise KeyStoreError(f"a key name must be a non-empty word such as 'openai' or 'gemini', got {name!r}")
    return name


def get_key(name: str, path: Optional[Path] = None) -> Optional[str]:
    """The key stored under ``name``, or None."""
    return load_keys(path).get(name)


def key_names(path: Optional[Path] = None) -> List[str]:
    return sorted(load_keys(path))


def set_key(name: str, value: str, path: Optional[Path] = None) -> Path:
    """Store (or replace) a key; returns the file's path."""
    _check_name(name)
    if not isinstance(value, str) or not value.strip():
        raise KeyStoreError("the key is empty; nothing was stored")
    path = path or keys_path()
    keys = load_keys(path)
    keys[name] = value.strip()
    write_private_json(path, {_NOTE[0]: _NOTE[1], **dict(sorted(keys.items()))})
    return path
