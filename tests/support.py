"""Helpers shared by the test modules (importable because pytest puts tests/ on sys.path)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import openai_bindings

#: Real recorded traffic (see its README): $OPENAI_BINDINGS_CONFORMANCE, else ../shared/conformance
#: beside the project. Copied into the project it must never be, so tests skip when it is absent.
CONFORMANCE_ENV = "OPENAI_BINDINGS_CONFORMANCE"
_given = os.environ.get(CONFORMANCE_ENV)
_corpus = Path(_given) if _given else Path(__file__).resolve().parents[1].parent / "shared" / "conformance"
CONFORMANCE = _corpus / "cassettes" if (_corpus / "cassettes").is_dir() else _corpus
CONFORMANCE_MISSING = (
    f"conformance corpus not found at {CONFORMANCE_ENV}={_given}"
    if _given
    else f"conformance corpus not found: put it at ../shared/conformance or set {CONFORMANCE_ENV}=DIR"
)

#: The project's checkout (examples/ lives there).
ROOT = Path(__file__).resolve().parents[1]


def install_example_plugins(site: Path, *names: str) -> Path:
    """pip-install ``examples/plugins/<name>`` into ``site``, as a user installs a plugin (no
    dependencies and no build isolation: nothing is fetched)."""
    for name in names:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--no-build-isolation",
                "--target",
                str(site),
                str(ROOT / "examples" / "plugins" / name),
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return site


def run_with_site(site: Path, *args: str) -> subprocess.CompletedProcess:
    """Python run with ``site`` on its path and no plugin filter: what is installed there loads
    through its entry points, as it would for a user."""
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("OPENAI_BINDINGS_PLUGINS", None)
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, cwd=site, timeout=120
    )


#: The names a client selects transports by, with the client flavour: every pairing that exists.
CLIENT_TRANSPORTS = [("stdlib", False), ("urllib3", False), ("stdlib", True), ("aiohttp", True)]


class Caller:
    """Calls a client method the same way whether the client is sync or async."""

    def __init__(self, transport: str, is_async: bool, **options) -> None:
        self.is_async = is_async
        cls = openai_bindings.AsyncOpenAI if is_async else openai_bindings.OpenAI
        self.client = cls(transport=transport, **options)
        self.loop = asyncio.new_event_loop() if is_async else None

    def __call__(self, method: str, *args, **kwargs):
        return self.wait(getattr(self.client, method)(*args, **kwargs))

    def wait(self, value: Any) -> Any:
        """The value itself on the sync client; the awaited coroutine on the async one."""
        return self.loop.run_until_complete(value) if self.is_async else value

    def events(self, stream) -> list:
        """All items of a sync or async iterable (streams, paginators)."""
        if not self.is_async:
            return list(stream)

        async def collect():
            return [event async for event in stream]

        return self.loop.run_until_complete(collect())

    def next_event(self, stream) -> Any:
        if not self.is_async:
            return next(stream)
        return self.loop.run_until_complete(stream.__anext__())

    def close(self) -> None:
        if self.loop is not None and self.loop.is_closed():
            return  # closed already (a test may close before the fixture does)
        if self.is_async:
            self.loop.run_until_complete(self.client.close())
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()
        else:
            self.client.close()


CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"


def json_body(r1: Any, r2: Any) -> None:
    """vcrpy matcher: the two bodies hold the same JSON (formatting may differ)."""

    def load(body: Any) -> Any:
        if body is None or body == b"" or body == "":
            return None
        if isinstance(body, bytes):
            body = body.decode("utf-8")
        return json.loads(body)

    assert load(r1.body) == load(r2.body)


def replayer() -> Any:
    """A vcrpy VCR that only replays, matching method, URI and JSON body, never storing keys."""
    import vcr

    recorder = vcr.VCR(
        record_mode="none",
        match_on=["method", "uri", "json_body"],
        filter_headers=["authorization", "api-key", "x-goog-api-key"],
        decode_compressed_response=True,
    )
    recorder.register_matcher("json_body", json_body)
    return recorder


def make_distribution(site: Path, dist: str, module: str, source: str, entry: str | None = None) -> None:
    """Write an installed distribution (a .dist-info with an entry point) and its module."""
    (site / f"{module}.py").write_text(source)
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[openai_bindings]\n{entry or module} = {module}\n")
