"""Plugins from the outside: real distributions with entry points, broken ones, and transport choice."""

from __future__ import annotations

import asyncio
import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support import make_distribution

import openai_bindings
from openai_bindings import PluginError, hookimpl, plugins
from openai_bindings.plugins import PluginLoadWarning, get_registry

# The smallest third-party transport, exactly as DESIGN.md shows it.
DESIGN_EXAMPLE = """
import urllib.error, urllib.request
from openai_bindings import APIConnectionError, APITimeoutError, Response, hookimpl

class UrllibTransport:
    name = "urllib"

    def send(self, request):
        req = urllib.request.Request(request.url, data=request.body,
                                     headers=dict(request.headers), method=request.method)
        try:
            raw = urllib.request.urlopen(req, timeout=request.timeout.read)
        except urllib.error.HTTPError as error:   # a status is a response, not a failure
            raw = error
        except TimeoutError as error:
            raise APITimeoutError(str(error)) from error
        except OSError as error:
            raise APIConnectionError(str(error)) from error
        return Response(status=raw.status, headers=dict(raw.headers),
                        stream=iter(lambda: raw.read1(65536), b""), close=raw.close)

    def close(self):
        pass

@hookimpl
def register_transports(register):
    register(UrllibTransport)
"""

BROKEN = 'raise RuntimeError("this plugin is broken on purpose")\n'

BAD_HOOK = """
from openai_bindings import hookimpl

@hookimpl
def register_providers(register):
    raise ValueError("cannot register today")
"""


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    make_distribution(folder, "ob-urllib-plugin", "ob_urllib_plugin", DESIGN_EXAMPLE, entry="urllib")
    make_distribution(folder, "ob-broken-plugin", "ob_broken_plugin", BROKEN, entry="broken")
    monkeypatch.syspath_prepend(str(folder))
    importlib.invalidate_caches()
    yield folder
    for name in ("ob_urllib_plugin", "ob_broken_plugin", "ob_bad_hook"):
        sys.modules.pop(name, None)


def _load_with_warnings() -> list[str]:
    with pytest.warns(PluginLoadWarning) as caught:
        get_registry()
    return [str(w.message) for w in caught]


def test_design_example_transport_is_discovered_and_used(site, fake):
    _load_with_warnings()
    entry = get_registry().transports["urllib"]
    assert entry.origin == "ob-urllib-plugin"
    client = openai_bindings.OpenAI(base_url=fake.base_url, transport="urllib")
    assert client.transport.name == "urllib"
    status, body, _ = client.create_chat_completion([{"role": "user", "content": "plain"}])
    assert status == 200 and body["choices"][0]["message"]["content"] == "echo: plain"
    stream = client.create_chat_completion([{"role": "user", "content": "streamed words"}], stream=True)
    assert [e["choices"][0]["delta"].get("content") for e in stream][1:-1] == ["echo: ", "streamed ", "words"]
    assert stream.text == "echo: streamed words"
    assert "urllib" in fake.requests[-1].headers["user-agent"]


def test_a_sync_plugin_transport_serves_the_async_client(site, fake):
    _load_with_warnings()

    async def main() -> str:
        async with openai_bindings.AsyncOpenAI(base_url=fake.base_url, transport="urllib") as client:
            stream = await client.create_chat_completion([{"role": "user", "content": "a b"}], stream=True)
            async for _ in stream:
                pass
            return stream.text

    assert asyncio.run(main()) == "echo: a b"


def test_broken_plugin_is_reported_and_harms_nothing(site, fake):
    messages = _load_with_warnings()
    assert any("'broken'" in m and "ob-broken-plugin" in m and "broken on purpose" in m for m in messages)
    failures = get_registry().failures
    assert [(f.plugin, f.origin) for f in failures] == [("broken", "ob-broken-plugin")]
    client = openai_bindings.OpenAI(base_url=fake.base_url, transport="stdlib")
    assert client.create_chat_completion([{"role": "user", "content": "x"}]).status == 200


def test_a_plugin_whose_hook_raises_loses_only_itself(site, monkeypatch):
    make_distribution(site, "ob-bad-hook", "ob_bad_hook", BAD_HOOK)
    monkeypatch.setenv("OPENAI_BINDINGS_PLUGINS", "ob-bad-hook")
    messages = _load_with_warnings()
    assert any("cannot register today" in m for m in messages)
    assert {"openai", "gemini"} <= set(get_registry().providers)


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("", set()),
        ("urllib", {"urllib"}),
        ("ob-urllib-plugin", {"urllib"}),
        ("OB_URLLIB_PLUGIN, other", {"urllib"}),
    ],
)
def test_plugins_environment_variable_restricts_loading(site, monkeypatch, setting, expected):
    monkeypatch.setenv("OPENAI_BINDINGS_PLUGINS", setting)
    registry = get_registry()  # the broken plugin is not loaded, so nothing warns
    third_party = {name for name, entry in registry.transports.items() if entry.origin != plugins.BUILTIN}
    assert third_party == expected
    assert registry.failures == []


def test_plugins_command_lists_everything(site):
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("OPENAI_BINDINGS_PLUGINS", None)
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-m", "openai_bindings", "plugins"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
        cwd=site,
    )
    out = result.stdout
    for name in ("stdlib", "urllib3", "aiohttp", "urllib", "openai", "gemini"):
        assert f"  {name} " in out
    assert "from ob-urllib-plugin" in out
    assert "built-in" in out
    assert "Failed to load:" in out and "broken on purpose" in out


def test_plugins_command_says_what_is_not_installed(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "aiohttp", None)
    from openai_bindings.cli import main

    assert main(["plugins"]) == 0
    line = next(row for row in capsys.readouterr().out.splitlines() if row.startswith("  aiohttp"))
    assert "not usable" in line and "pip install 'openai-bindings[aiohttp]'" in line


# -- transport choice ------------------------------------------------------------------------


def test_default_choice_prefers_the_richer_stack():
    assert openai_bindings.OpenAI().transport.name == "urllib3"
    assert openai_bindings.AsyncOpenAI().transport.name == "aiohttp"


def test_default_choice_falls_back_to_stdlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "urllib3", None)
    monkeypatch.setitem(sys.modules, "aiohttp", None)
    assert openai_bindings.OpenAI().transport.name == "stdlib"
    client = openai_bindings.AsyncOpenAI()
    assert client.transport.name == "stdlib"
    assert type(client.transport).__name__ == "ThreadedAsyncTransport"


def test_missing_library_names_the_extra_and_the_alternatives(monkeypatch):
    monkeypatch.setitem(sys.modules, "urllib3", None)
    with pytest.raises(PluginError) as info:
        openai_bindings.OpenAI(transport="urllib3")
    message = str(info.value)
    assert "pip install 'openai-bindings[urllib3]'" in message
    assert "stdlib" in message


def test_unknown_transport_lists_the_available_ones():
    with pytest.raises(PluginError) as info:
        openai_bindings.OpenAI(transport="carrier-pigeon")
    assert "carrier-pigeon" in str(info.value)
    for name in ("stdlib", "urllib3", "aiohttp"):
        assert name in str(info.value)


def test_async_only_transport_refused_by_sync_client():
    with pytest.raises(PluginError, match="AsyncOpenAI"):
        openai_bindings.OpenAI(transport="aiohttp")


def test_environment_variable_then_hook_then_builtin(monkeypatch):
    class Chooser:
        @hookimpl
        def choose_transport(self, is_async):
            return None if is_async else "stdlib"

    plugins.get_plugin_manager().register(Chooser())
    assert openai_bindings.OpenAI().transport.name == "stdlib"  # the hook beats the built-in rule
    assert openai_bindings.AsyncOpenAI().transport.name == "aiohttp"  # it passed: built-in rule
    monkeypatch.setenv("OPENAI_BINDINGS_TRANSPORT", "urllib3")
    assert openai_bindings.OpenAI().transport.name == "urllib3"  # the variable beats hooks
    assert openai_bindings.OpenAI(transport="stdlib").transport.name == "stdlib"  # explicit wins
    monkeypatch.setenv("OPENAI_BINDINGS_TRANSPORT", "nope")
    with pytest.raises(PluginError, match="OPENAI_BINDINGS_TRANSPORT"):
        openai_bindings.OpenAI()


def test_transport_instance_and_class_are_accepted(fake):
    from openai_bindings.transports import StdlibTransport

    instance = StdlibTransport()
    assert openai_bindings.OpenAI(transport=instance).transport is instance
    assert isinstance(openai_bindings.OpenAI(transport=StdlibTransport).transport, StdlibTransport)
    with pytest.raises(TypeError, match="send"):
        openai_bindings.OpenAI(transport=42)


def test_prepare_request_hook_sees_every_request(fake):
    seen = []

    class Tracer:
        @hookimpl
        def prepare_request(self, request):
            seen.append(request.url)
            request.headers["X-Trace"] = "t-1"

    plugins.get_plugin_manager().register(Tracer())
    client = openai_bindings.OpenAI(base_url=fake.base_url, transport="stdlib")
    client.models()
    assert seen == [fake.base_url + "/models"]
    assert fake.requests[-1].headers["x-trace"] == "t-1"


# -- the built-ins without a plugin manager ----------------------------------------------------


def test_the_builtins_marker_sets_what_pluggys_marker_sets():
    """The built-ins mark their hooks without importing pluggy; a manager must read them as its own."""
    import pluggy

    from openai_bindings._hookimpl import ATTRIBUTE, PROJECT
    from openai_bindings._hookimpl import hookimpl as builtin_hookimpl

    theirs = pluggy.HookimplMarker(PROJECT)
    for options in ({}, {"trylast": True}, {"tryfirst": True, "specname": "choose_transport"}):

        def ours_impl() -> None: ...

        def pluggy_impl() -> None: ...

        (builtin_hookimpl(**options) if options else builtin_hookimpl)(ours_impl)
        (theirs(**options) if options else theirs)(pluggy_impl)
        assert getattr(ours_impl, ATTRIBUTE) == getattr(pluggy_impl, ATTRIBUTE), options


def test_builtin_hooks_called_directly_answer_as_pluggy_does(monkeypatch):
    monkeypatch.setenv(plugins.PLUGINS_ENV, "")  # no entry-point plugin: the built-ins alone
    registry = get_registry()
    assert registry._manager is None, "a plugin manager was made though only the built-ins are loaded"
    assert set(registry.transports) >= {"stdlib", "urllib3", "aiohttp", "fetch", "xhr"}
    assert set(registry.providers) >= {"openai", "gemini", "azure", "openrouter", "compatible"}
    asked = [(is_async, provider) for is_async in (False, True) for provider in ("openai", "gemini")]
    direct = [registry.choose_transport(*question) for question in asked]
    direct_observers = registry.observers
    assert not direct_observers.after and direct_observers.prepare is None

    manager = registry.manager  # made on demand, with the built-ins registered
    assert {name for name, _ in manager.list_name_plugin()} >= set(plugins._BUILTIN_MODULES)
    assert [registry.choose_transport(*question) for question in asked] == direct
    observers = registry.observers  # the built-ins implement no observation hook: the shortcut holds
    assert observers is not direct_observers
    assert (observers.prepare, observers.response, observers.error, observers.complete) == (None,) * 4


@pytest.mark.parametrize("kind", ["transports", "providers"])
def test_builtins_registered_by_path_are_the_classes_they_name(kind, monkeypatch):
    """The built-ins register where their classes live (imported when first used), skipping the
    checks a plugin's class gets at registration: each must load to a class of that name (and,
    for a transport, with a send method), the same class the package exports."""
    import importlib

    monkeypatch.setenv(plugins.PLUGINS_ENV, "")
    package = importlib.import_module(f"openai_bindings.{kind}")
    table = getattr(get_registry(), kind)
    for name, _module, cls_name in package.BUILTINS:
        entry = table[name]
        assert entry.origin == plugins.BUILTIN
        cls = entry.cls
        assert cls is getattr(package, cls_name) and cls.__name__ == cls_name
        assert cls.name == name, (name, cls)
        if kind == "transports":
            assert plugins._check_transport(cls) is None


#: A cold start without plugins imports neither pluggy nor importlib.metadata; asking for the
#: manager later makes it, and a plugin registered then observes the next call.
LAZY_MANAGER = """
import http.server, json, sys, threading
import openai_bindings
from openai_bindings.plugins import get_plugin_manager

ANSWER = json.dumps({"object": "chat.completion", "choices": [
    {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]}).encode()

class Handler(http.server.BaseHTTPRequestHandler):  # the fake server would load more than this test checks
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)
    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
base = f"http://127.0.0.1:{server.server_address[1]}/v1"
client = openai_bindings.OpenAI(base_url=base, api_key="sk-test-lazy-KEY", transport="stdlib")
client.create_chat_completion([{"role": "user", "content": "hi"}])
unwanted = ("pluggy", "inspect", "importlib.metadata", "openai_bindings.streaming")
loaded = sorted(m for m in unwanted if m in sys.modules)
assert not loaded, f"the built-ins and a plain request loaded {loaded}"
folders = ("openai_bindings.transports.", "openai_bindings.providers.")
builtins = sorted(m for m in sys.modules if m.startswith(folders))
assert builtins == [
    "openai_bindings.providers.openai",
    "openai_bindings.transports._network",
    "openai_bindings.transports._response",
    "openai_bindings.transports.stdlib",
], f"more built-ins than the client uses were imported: {builtins}"
seen = []

class Observer:
    @openai_bindings.hookimpl
    def on_response(self, request, response, elapsed, attempt):
        seen.append(response.status)

get_plugin_manager().register(Observer())  # the manager is made now, and hooks are seen
client.create_chat_completion([{"role": "user", "content": "hi"}])
assert seen == [200], seen
client.close()
server.shutdown()
print("ok")
"""


# -- import-time promises --------------------------------------------------------------------

IMPORT_CHECK = """
import sys
import openai_bindings
from openai_bindings import plugins
assert plugins._registry is None, "plugins were loaded at import"
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("urllib3", "aiohttp"))
assert not loaded, loaded
print("ok")
"""

CONSTRAINED = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("urllib3", "aiohttp"):
            raise ImportError(f"{name} is not installed in this host")
sys.meta_path.insert(0, Block())
import asyncio, openai_bindings
from openai_bindings.testing import FakeOpenAIServer
with FakeOpenAIServer() as server:
    client = openai_bindings.OpenAI(base_url=server.base_url)
    assert client.transport.name == "stdlib", client.transport.name
    status, body, headers = client.create_chat_completion([{"role": "user", "content": "hi"}])
    assert body["choices"][0]["message"]["content"] == "echo: hi"
    async def main():
        async with openai_bindings.AsyncOpenAI(base_url=server.base_url) as aclient:
            assert aclient.transport.name == "stdlib"
            return (await aclient.create_chat_completion([{"role": "user", "content": "yo"}])).body
    assert asyncio.run(main())["choices"][0]["message"]["content"] == "echo: yo"
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("urllib3", "aiohttp"))
assert not loaded, loaded
print("ok")
"""


@pytest.mark.parametrize(
    "script",
    [IMPORT_CHECK, CONSTRAINED, LAZY_MANAGER],
    ids=["import", "constrained-host", "lazy-plugin-manager"],
)
def test_in_a_fresh_interpreter(script, tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_socket_transports_say_why_they_cannot_run_under_webassembly(monkeypatch):
    registry = get_registry()
    assert registry.transports["stdlib"].usable  # here: sockets
    monkeypatch.setattr(sys, "platform", "emscripten")
    for name in ("stdlib", "urllib3", "aiohttp"):
        reason = registry.transports[name].unusable_reason
        assert reason is not None and "fetch" in reason, name
