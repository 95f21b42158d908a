"""WebAssembly for real: the library inside Pyodide under Node, and the browser example in Chromium.

The library's wheel (``pip wheel --no-deps``) and pluggy's are installed into Pyodide with
micropip from local files; AsyncOpenAI then talks to FakeOpenAIServer on 127.0.0.1 through
the ``fetch`` transport. What this needs (Node, the pinned npm packages, the wheels, Debian's
chromium) is installed by ``bash .ci/wasm-setup``; without it these tests skip and say so.
The first tests here need none of that: they check the Emscripten rules from CPython.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

import openai_bindings
from openai_bindings import _drive, transport
from openai_bindings.plugins import get_registry
from openai_bindings.testing import FakeOpenAIServer
from openai_bindings.testing.fake import sse
from openai_bindings.testing.server import Reply, Stall

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "tests" / "pyodide" / "harness.mjs"
SETUP = "bash .ci/wasm-setup"
CACHE = Path(
    os.environ.get("OPENAI_BINDINGS_WASM_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "openai-bindings" / "wasm"
)
PYODIDE_DIR = CACHE / "node_modules" / "pyodide"
#: Screenshots go here when set (read now: the suite's fixtures clear OPENAI_* variables).
ARTIFACTS = os.environ.get("OPENAI_BINDINGS_ARTIFACTS")
#: Set where the set-up ran (CI): then a missing piece fails these tests instead of skipping them.
REQUIRED = bool(os.environ.get("OPENAI_BINDINGS_WASM_REQUIRED"))
#: No Pyodide call here may take longer than this, whatever goes wrong.
CALL_LIMIT = 30.0


# -- the Emscripten rules, seen from CPython (no Node needed) -----------------------------------


def test_fetch_module_imports_without_js_and_says_why_it_is_unusable() -> None:
    from openai_bindings.transports import fetch

    assert "js" not in sys.modules and "pyodide" not in sys.modules
    table = get_registry().transports
    for name, cls in (("fetch", fetch.FetchTransport), ("xhr", fetch.XHRTransport)):
        assert table[name].cls is cls
        assert not table[name].usable
        assert "emscripten" in (table[name].unusable_reason or "")
    with pytest.raises(openai_bindings.PluginError, match=r"emscripten.*usable here: "):
        openai_bindings.AsyncOpenAI(base_url="http://127.0.0.1:9/v1", transport="fetch")


def test_plugins_command_shows_why_fetch_is_not_usable(capsys: pytest.CaptureFixture[str]) -> None:
    from openai_bindings.cli import main

    assert main(["plugins"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.startswith("  ")}
    assert "not usable here: runs only under Pyodide/Emscripten" in lines["fetch"]
    assert "not usable here: runs only under Pyodide/Emscripten" in lines["xhr"]


def test_builtin_choice_under_emscripten(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = get_registry().manager.hook.choose_transport
    monkeypatch.setenv("OPENAI_BINDINGS_PLUGINS", "")
    monkeypatch.setattr(sys, "platform", "emscripten")
    assert hook(is_async=True, provider="openai") == "fetch"
    assert hook(is_async=False, provider="openai") == "xhr"


def test_the_fetch_transport_refuses_options_the_host_owns() -> None:
    from openai_bindings.transports.fetch import FetchTransport, XHRTransport

    for cls in (FetchTransport, XHRTransport):
        cls(proxy=None, verify=True, trust_env=False)
        with pytest.raises(ValueError, match="proxy="):
            cls(proxy="http://127.0.0.1:3128")
        with pytest.raises(ValueError, match="verify="):
            cls(verify=False)


def test_what_the_javascript_transports_send_and_hand_on() -> None:
    """Headers the host owns stay out; a body the host decoded loses its encoding's headers."""
    from openai_bindings.transports import fetch

    request = openai_bindings.Request(
        "POST",
        "http://127.0.0.1:9/v1/x",
        {
            "Content-Length": "2",
            "User-Agent": "ua",
            "Authorization": "Bearer k",
            "Sec-Fetch-Mode": "x",
            "A": "b",
        },
        b"{}",
    )
    assert fetch._outgoing(request) == {"Authorization": "Bearer k", "A": "b"}
    assert fetch._incoming(
        [("Content-Encoding", "gzip"), ("Content-Length", "10"), ("X-Request-Id", "r")]
    ) == [("X-Request-Id", "r")]
    assert fetch._incoming([("Content-Length", "10")]) == [("Content-Length", "10")]
    assert fetch._parse_headers("content-type: a/b\r\nx-request-id: r: 1\r\n") == [
        ("content-type", "a/b"),
        ("x-request-id", "r: 1"),
    ]
    assert fetch._milliseconds(0.3, 0.5) == 800 and fetch._milliseconds(1.0, None) is None


async def test_without_threads_sync_tools_and_sync_transports_run_inline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pyodide cannot start a thread: a session's sync tool, and a sync transport under
    AsyncOpenAI, then run on the event loop's own thread instead of failing."""
    from openai_bindings.transports import StdlibTransport

    monkeypatch.setattr(_drive, "HAS_THREADS", False)
    monkeypatch.setattr(transport, "HAS_THREADS", False)
    here = threading.get_ident()
    seen: List[int] = []

    def get_weather(city: str) -> str:
        seen.append(threading.get_ident())
        return f"sunny in {city}"

    class RecordingTransport(StdlibTransport):
        def send(self, request: Any) -> Any:
            seen.append(threading.get_ident())
            return super().send(request)

    with FakeOpenAIServer() as server:
        server.reply_with_tool_call("get_weather", {"city": "Paris"})
        server.reply_with("It is sunny.")
        async with openai_bindings.AsyncOpenAI(
            base_url=server.base_url, transport=RecordingTransport()
        ) as client:
            assert type(client.transport).__name__ == "InlineAsyncTransport"
            session = client.new_chat_session(model="gpt-4.1")
            assert await session.run("weather?", tools={"get_weather": get_weather}) == "It is sunny."
    assert seen and set(seen) == {here}


# -- Pyodide under Node ------------------------------------------------------------------------


def _node_major() -> int:
    try:
        out = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10).stdout
        return int(out.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError):
        return 0


def _wheels(names: List[str]) -> Dict[str, Path]:
    found: Dict[str, Path] = {}
    for name in names:
        matches = sorted((CACHE / "wheels").glob(f"{name}-*.whl"))
        if matches:
            found[name] = matches[-1]
    return found


def _missing_pyodide() -> Optional[str]:
    if shutil.which("node") is None:
        return "Node is not installed"
    if _node_major() < 20:
        return "Node 20 or newer is needed"
    if not (PYODIDE_DIR / "pyodide.mjs").is_file():
        return f"the pinned pyodide npm package is not in {CACHE}"
    if len(_wheels(["micropip", "pluggy"])) < 2:
        return f"the micropip and pluggy wheels are not in {CACHE / 'wheels'}"
    return None


def _absent(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"OPENAI_BINDINGS_WASM_REQUIRED is set, but {reason}")
    pytest.skip(reason)


def _skip_unless_pyodide() -> None:
    missing = _missing_pyodide()
    if missing:
        _absent(f"{missing}: run `{SETUP}` (it installs Node packages, wheels and chromium)")


@pytest.fixture(scope="session")
def project_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The library's wheel, built from a copy of the checkout (an in-tree build leaves build/ behind)."""
    _skip_unless_pyodide()
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git",
            "__pycache__",
            "build",
            "dist",
            "*.egg-info",
            "node_modules",
            ".venv",
            "tests",
            "bench",
            "*.whl",
        ),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", work, "."],
        cwd=source,
        check=True,
        timeout=180,
        capture_output=True,
    )
    (wheel,) = work.glob("openai_bindings-*.whl")
    return wheel


class PyodideError(AssertionError):
    """Python inside Pyodide raised: its type name, message and traceback."""

    def __init__(self, answer: Dict[str, Any]) -> None:
        super().__init__(f"{answer['type']}: {answer['error']}\n{answer['traceback']}")
        self.type = answer["type"]
        self.message = answer["error"]


class NodeProcess:
    """A child process that answers in JSON lines on stdout; every wait for a line is bounded."""

    def __init__(self, args: List[str]) -> None:
        self._stderr: List[str] = []
        self._lines: queue.Queue[Optional[str]] = queue.Queue()
        self.process = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self._readers = [
            threading.Thread(target=self._pump, args=(self.process.stdout, self._lines.put), daemon=True),
            threading.Thread(target=self._pump, args=(self.process.stderr, self._stderr.append), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _pump(stream: Any, put: Callable[[Any], None]) -> None:
        for line in stream:
            put(line)
        put(None)  # the end: the reader of stdout stops waiting

    @property
    def stderr(self) -> str:
        return "".join(line for line in self._stderr if line is not None)[-4000:]

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def next(self, deadline: float, doing: str) -> Dict[str, Any]:
        """The next JSON line, or a test failure (and the process ended) past ``deadline``."""
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.close()
                pytest.fail(f"took too long {doing}; stderr:\n{self.stderr}")
            if line is None:
                self.close()
                pytest.fail(f"the process ended while {doing}; stderr:\n{self.stderr}")
            if line.startswith("{"):
                return json.loads(line)

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            try:
                self.process.stdin.close()
                self.process.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait(10)
        for reader in self._readers:
            reader.join(5)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


class PyodideHost(NodeProcess):
    """Node running Pyodide with the wheels installed; ``run(code)`` awaits the code's ``main()``."""

    def __init__(self, wheels: List[Path]) -> None:
        super().__init__(["node", str(HARNESS), str(PYODIDE_DIR), *map(str, wheels)])
        self._ids = 0
        ready = self.next(time.monotonic() + 120, "to boot Pyodide and install the wheels")
        assert ready.get("ready"), ready

    def run(
        self,
        code: str,
        *,
        on_report: Optional[Callable[[Dict[str, Any]], None]] = None,
        limit: float = CALL_LIMIT,
        **values: Any,
    ) -> Any:
        """Run ``code`` (which defines ``async def main()``) with ``values`` as its globals."""
        self._ids += 1
        prelude = "".join(f"{name} = {value!r}\n" for name, value in values.items())
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"id": self._ids, "code": prelude + code}) + "\n")
        self.process.stdin.flush()
        deadline = time.monotonic() + limit
        while True:
            message = self.next(deadline, f"for Pyodide to answer (over {limit} s)")
            if "report" in message:
                if on_report is not None:
                    on_report(message)
                continue
            assert message.get("id") == self._ids, message
            if not message["ok"]:
                raise PyodideError(message)
            return message["result"]


@pytest.fixture(scope="module")
def pyodide_host(project_wheel: Path) -> Iterator[PyodideHost]:
    wheels = _wheels(["micropip", "pluggy"])
    host = PyodideHost([wheels["micropip"], wheels["pluggy"], project_wheel])
    try:
        yield host
    finally:
        host.close()


@pytest.fixture
def pyodide(pyodide_host: PyodideHost) -> PyodideHost:
    if not pyodide_host.alive:
        pytest.fail("the Pyodide process died in an earlier test")
    return pyodide_host


def _chunk(content: str, finish: Optional[str] = None) -> Dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "gpt-4.1",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}],
    }


def _gated_stream(gate: threading.Event, *pieces: str) -> Reply:
    """A chat stream whose first event leaves at once and the rest only once ``gate`` is set."""
    first, *rest = pieces
    return Reply(
        headers={"Content-Type": "text/event-stream"},
        chunks=[
            sse(_chunk(first), done=False),
            sse(*[_chunk(piece) for piece in rest], _chunk("", "stop")),
        ],
        gate=gate,
    )


def test_pyodide_picks_fetch_and_makes_a_plain_call(pyodide: PyodideHost, fake: FakeOpenAIServer) -> None:
    result = pyodide.run(
        """
async def main():
    import sys, threading
    import openai_bindings
    from openai_bindings.plugins import get_registry
    table = get_registry().transports
    async with openai_bindings.AsyncOpenAI(base_url=BASE_URL, api_key="sk-test") as client:
        status, body, headers = await client.create_chat_completion(
            [{"role": "user", "content": "hello from wasm"}], model="gpt-4.1"
        )
        result = await client.create_chat_completion([{"role": "user", "content": "again"}])
    import contextlib, io
    from openai_bindings.cli import main as cli
    listing = io.StringIO()
    with contextlib.redirect_stdout(listing):
        cli(["plugins"])
    return {
        "plugins": [line.split(None, 1) for line in listing.getvalue().splitlines() if line.startswith("  ")],
        "platform": sys.platform,
        "transport": client.transport.name,
        "status": status,
        "content": body["choices"][0]["message"]["content"],
        "request_id": result.request_id,
        "fetch": table["fetch"].unusable_reason,
        "xhr": table["xhr"].unusable_reason,
        "threads": threading.active_count(),
    }
""",
        BASE_URL=fake.base_url,
    )
    assert result["platform"] == "emscripten"
    assert result["transport"] == "fetch"
    assert (result["status"], result["content"]) == (200, "echo: hello from wasm")
    assert result["request_id"].startswith("req_")
    assert result["fetch"] is None
    assert "web worker" in result["xhr"]  # Node has no synchronous XMLHttpRequest
    assert result["threads"] == 1
    plugins = dict(result["plugins"])  # `openai-bindings plugins`, run inside Pyodide
    assert plugins["fetch"].endswith("usable")
    assert (
        "not usable here: synchronous XMLHttpRequest exists only in a browser's web worker" in plugins["xhr"]
    )
    sent = fake.requests[0]
    assert sent.headers["Authorization"] == "Bearer sk-test"
    assert json.loads(sent.body)["model"] == "gpt-4.1"


def test_nothing_starts_a_thread_opens_a_socket_or_spawns_a_process(
    pyodide: PyodideHost, fake: FakeOpenAIServer
) -> None:
    """Import, plugin loading and the async path (plain, streamed, a session's sync tool) with
    threads, sockets and subprocesses made to fail inside Pyodide: none of them is touched."""
    fake.reply_with_tool_call("add", {"a": 2, "b": 3})
    fake.reply_with("5")
    result = pyodide.run(
        """
async def main():
    import socket, subprocess, sys, threading
    used = []

    def forbidden(what):
        def refuse(*args, **kwargs):
            used.append(what)
            raise RuntimeError(f"{what} is not available in Pyodide")
        return refuse

    saved = (socket.socket, threading.Thread.start, subprocess.Popen)
    socket.socket, threading.Thread.start, subprocess.Popen = (
        forbidden("socket"), forbidden("thread"), forbidden("subprocess"))
    try:
        for name in [m for m in sys.modules if m.split(".")[0] == "openai_bindings"]:
            del sys.modules[name]  # import it again, under the ban
        import openai_bindings
        from openai_bindings.plugins import get_registry
        get_registry()
        async with openai_bindings.AsyncOpenAI(base_url=BASE_URL) as client:
            session = client.new_chat_session()
            answer = await session.run("2 + 3?", tools={"add": lambda a, b: a + b})
            await client.create_chat_completion([{"role": "user", "content": "plain"}])
            messages = [{"role": "user", "content": "a stream"}]
            stream = await client.create_chat_completion(messages, stream=True)
            await stream.until_done()
    finally:
        socket.socket, threading.Thread.start, subprocess.Popen = saved
    return {"used": used, "text": stream.text, "answer": answer}
""",
        BASE_URL=fake.base_url,
    )
    assert result == {"used": [], "text": "echo: a stream", "answer": "5"}


def test_a_stream_arrives_event_by_event(pyodide: PyodideHost, fake: FakeOpenAIServer) -> None:
    """The server holds back everything after the first event until Python inside Pyodide
    reports that event: a transport that buffered the body would never see it."""
    gate = threading.Event()
    fake.queue(_gated_stream(gate, "Hel", "lo, ", "world"), path="/v1/chat/completions")
    reports: List[Dict[str, Any]] = []

    def on_report(message: Dict[str, Any]) -> None:
        reports.append({**message, "gate_was_open": gate.is_set()})
        gate.set()

    result = pyodide.run(
        """
async def main():
    import openai_bindings
    async with openai_bindings.AsyncOpenAI(base_url=BASE_URL) as client:
        stream = await client.create_chat_completion([{"role": "user", "content": "hi"}], stream=True)
        pieces = []
        async for event in stream:
            piece = event["choices"][0]["delta"].get("content")
            if not pieces:
                report("first", content=piece)
            pieces.append(piece)
    return {"pieces": pieces, "text": stream.text}
""",
        BASE_URL=fake.base_url,
        on_report=on_report,
        limit=15,
    )
    assert reports == [{"report": "first", "content": "Hel", "gate_was_open": False}]
    assert result["text"] == "Hello, world"


def test_a_chat_session_turn_with_a_sync_tool(pyodide: PyodideHost, fake: FakeOpenAIServer) -> None:
    """Sessions, streamed and with the tool loop; the sync tool runs inline (Pyodide has no threads)."""
    fake.reply_with_tool_call("get_weather", {"city": "Paris"})
    fake.reply_with("It is sunny in Paris.")
    result = pyodide.run(
        """
async def main():
    import openai_bindings
    def get_weather(city: str) -> str:
        "The weather in a city."
        return f"sunny in {city}"
    async with openai_bindings.AsyncOpenAI(base_url=BASE_URL) as client:
        session = client.new_chat_session(model="gpt-4.1")
        answer = await session.run("Weather in Paris?", tools={"get_weather": get_weather})
        first = await session.send("Say hi")
        pieces = []
        second = await session.send("Once more", stream_callback=pieces.append)
    return {"first": first, "second": second, "pieces": [str(p) for p in pieces],
            "answer": answer, "roles": [m["role"] for m in session.messages]}
""",
        BASE_URL=fake.base_url,
    )
    assert result["first"] == "echo: Say hi"
    assert result["second"] == "echo: Once more" == "".join(result["pieces"])
    assert len(result["pieces"]) > 1
    assert result["answer"] == "It is sunny in Paris."
    assert result["roles"] == ["user", "assistant", "tool", "assistant"] + ["user", "assistant"] * 2
    tool_message = json.loads(fake.requests[1].body)["messages"][-1]
    assert tool_message["role"] == "tool" and "sunny in Paris" in tool_message["content"]


def test_an_answer_without_a_body(pyodide: PyodideHost, fake: FakeOpenAIServer) -> None:
    """A 204 has a null body in JavaScript (Pyodide's JsNull, not None)."""
    fake.queue(Reply(status=204), path="/v1/things/1")
    result = pyodide.run(
        """
async def main():
    import openai_bindings
    async with openai_bindings.AsyncOpenAI(base_url=BASE_URL) as client:
        result = await client.request("DELETE", "/things/1")
    return [result.status, result.body]
""",
        BASE_URL=fake.base_url,
    )
    assert result[0] == 204 and not result[1]


def test_an_error_status_is_a_typed_error(pyodide: PyodideHost, fake: FakeOpenAIServer) -> None:
    fake.fail_with(404, "The model 'nope' does not exist", code="model_not_found")
    fake.fail_with(429, "slow down", headers={"Retry-After": "120"})
    result = pyodide.run(
        """
async def main():
    import openai_bindings
    out = []
    async with openai_bindings.AsyncOpenAI(base_url=BASE_URL, max_retries=0) as client:
        for _ in range(2):
            try:
                await client.create_chat_completion([{"role": "user", "content": "hi"}], model="nope")
            except openai_bindings.APIStatusError as error:
                out.append({"type": type(error).__name__, "status": error.status,
                            "code": error.code, "message": error.message})
    return out
""",
        BASE_URL=fake.base_url,
    )
    assert result[0] == {
        "type": "NotFoundError",
        "status": 404,
        "code": "model_not_found",
        "message": "The model 'nope' does not exist",
    }
    assert result[1]["type"] == "RateLimitError" and result[1]["status"] == 429


def test_timeouts_and_refusals_are_the_library_errors(pyodide: PyodideHost, fake: FakeOpenAIServer) -> None:
    """A server that never answers, one that stalls mid-stream, and a closed port."""
    gate = threading.Event()  # never set: the stream stalls after its first event
    fake.queue(Stall(seconds=10), path="/v1/models")
    fake.queue(_gated_stream(gate, "first", "never"), path="/v1/chat/completions")
    with FakeOpenAIServer() as closed:
        refused_url = closed.base_url
    try:
        result = pyodide.run(
            """
async def main():
    import openai_bindings
    out = {}
    timeout = openai_bindings.Timeout(connect=0.3, read=0.5)
    async with openai_bindings.AsyncOpenAI(base_url=BASE_URL, max_retries=0, timeout=timeout) as client:
        try:
            await client.models()
        except openai_bindings.APIConnectionError as error:
            out["stall"] = type(error).__name__
        pieces = []
        try:
            stream = await client.create_chat_completion([{"role": "user", "content": "hi"}], stream=True)
            async for event in stream:
                pieces.append(event["choices"][0]["delta"]["content"])
        except openai_bindings.APIConnectionError as error:
            out["midstream"] = type(error).__name__
        out["pieces"] = pieces
        # the client still works after both
        status, body, headers = await client.create_chat_completion([{"role": "user", "content": "ok"}])
        out["after"] = status
    async with openai_bindings.AsyncOpenAI(base_url=REFUSED, max_retries=0) as client:
        try:
            await client.models()
        except openai_bindings.APIConnectionError as error:
            out["refused"] = type(error).__name__
            out["refused_message"] = str(error)
    return out
""",
            BASE_URL=fake.base_url,
            REFUSED=refused_url,
        )
    finally:
        gate.set()
    assert result["stall"] == "APITimeoutError"
    assert result["midstream"] == "APITimeoutError" and result["pieces"] == ["first"]
    assert result["after"] == 200
    assert result["refused"] == "APIConnectionError"
    assert "GET " in result["refused_message"] and "/models" in result["refused_message"]


def test_breaking_out_of_a_stream_aborts_it(pyodide: PyodideHost, fake: FakeOpenAIServer) -> None:
    gate = threading.Event()
    fake.queue(_gated_stream(gate, "one", "two"), path="/v1/chat/completions")
    try:
        result = pyodide.run(
            """
async def main():
    import openai_bindings
    async with openai_bindings.AsyncOpenAI(base_url=BASE_URL, max_retries=0) as client:
        stream = await client.create_chat_completion([{"role": "user", "content": "hi"}], stream=True)
        async for event in stream:
            break
        await stream.aclose()
        result = await client.create_chat_completion([{"role": "user", "content": "next"}])
    return {"first": event["choices"][0]["delta"]["content"],
            "next": result.body["choices"][0]["message"]["content"]}
""",
            BASE_URL=fake.base_url,
        )
    finally:
        gate.set()
    assert result == {"first": "one", "next": "echo: next"}


# -- the browser example in headless Chromium ----------------------------------------------------

PLAYWRIGHT_DIR = CACHE / "node_modules" / "playwright-core"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
EXAMPLE = ROOT / "examples" / "browser"


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    """Where screenshots go: $OPENAI_BINDINGS_ARTIFACTS when set (CI keeps them), else a temp dir."""
    folder = Path(ARTIFACTS or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def _site(root: Path, project_wheel: Path) -> Iterator[str]:
    """examples/browser/serve.py on 127.0.0.1 serving ``root``, Pyodide's files and the wheels."""
    if not (PLAYWRIGHT_DIR / "index.mjs").is_file():
        _absent(f"playwright-core is not in {CACHE}: run `{SETUP}`")
    if not Path(CHROMIUM).is_file():
        _absent(f"chromium is not installed (apt-get install chromium, or run `{SETUP}` as root)")
    process = subprocess.Popen(
        [
            sys.executable,
            str(EXAMPLE / "serve.py"),
            "--port=0",
            f"--root={root}",
            f"--pyodide={PYODIDE_DIR}",
            f"--wheels={CACHE / 'wheels'}",
            f"--wheels={project_wheel.parent}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # serve.py prints its URL at once, or exits
        assert first.startswith("serving http://127.0.0.1:"), first + process.stderr.read()
        yield first.split()[1]
    finally:
        process.terminate()
        process.wait(10)
        for stream in (process.stdout, process.stderr):
            assert stream is not None
            stream.close()


def _drive_page(url: str, screenshot: Path, mode: str, on_report: Callable[[Dict[str, Any]], None]) -> Any:
    """Run tests/pyodide/browser.mjs on ``url``; its reports go to ``on_report``; the outcome back."""
    driver = NodeProcess(
        [
            "node",
            str(ROOT / "tests" / "pyodide" / "browser.mjs"),
            str(PLAYWRIGHT_DIR),
            url,
            str(screenshot),
            mode,
        ]
    )
    try:
        deadline = time.monotonic() + 170
        while True:
            message = driver.next(deadline, f"for the page at {url}")
            if "report" not in message:
                return message
            on_report(message)
    finally:
        driver.close()


def test_the_browser_example_streams_into_the_page(project_wheel: Path, artifacts: Path) -> None:
    """The page boots Pyodide from its own origin, installs the wheels with micropip and shows
    the answer piece by piece: the server sends the rest only once the first is on the page."""
    gate = threading.Event()
    screenshot = artifacts / "browser-example.png"
    reports: List[Dict[str, Any]] = []

    def on_report(message: Dict[str, Any]) -> None:
        reports.append(message)
        gate.set()

    with FakeOpenAIServer(cors=True) as fake, _site(EXAMPLE, project_wheel) as site:
        fake.queue(_gated_stream(gate, "Web", "Assembly ", "runs ", "Python."), path="/v1/chat/completions")
        try:
            outcome = _drive_page(
                f"{site}?api={fake.base_url}", screenshot, "What runs in the page?", on_report
            )
        finally:
            gate.set()
        asked = [r for r in fake.requests if r.method == "POST"]
    assert reports == [{"report": "first", "text": "Web"}], outcome
    assert outcome["state"] == "done", outcome
    assert outcome["answer"] == "WebAssembly runs Python."
    assert "transport 'fetch'" in outcome["status"] and "Streamed in 4 pieces" in outcome["status"]
    assert len(asked) == 1 and json.loads(asked[0].body)["messages"][0]["content"] == "What runs in the page?"
    assert asked[0].headers.get("Origin") == site.rstrip("/")  # it came from the page
    assert screenshot.stat().st_size > 0


def test_the_sync_client_in_a_web_worker_uses_xhr(project_wheel: Path, artifacts: Path) -> None:
    """In a browser's web worker OpenAI picks 'xhr' (synchronous XMLHttpRequest): a plain call,
    a stream, a status error and a timeout; AsyncOpenAI beside it picks 'fetch', and a sync
    transport under AsyncOpenAI runs inline (no threads)."""
    with (
        FakeOpenAIServer(cors=True) as fake,
        _site(ROOT / "tests" / "pyodide" / "worker", project_wheel) as site,
    ):
        fake.reply_with("sync plain", "sync streamed answer")
        fake.fail_with(404, "no such model", code="model_not_found")
        fake.queue(Stall(seconds=10), path="/v1/models")
        outcome = _drive_page(f"{site}?api={fake.base_url}", artifacts / "worker.png", "--watch", print)
    assert outcome["state"] == "done", outcome
    result = json.loads(outcome["result"])
    assert result["xhr_usable"] is True and result["sync_transport"] == "xhr"
    assert result["plain"][:2] == [200, "sync plain"] and result["plain"][2].startswith("req_")
    assert result["stream"] == "sync streamed answer"
    assert result["error"] == ["NotFoundError", 404, "no such model"]
    assert result["timeout"] == "APITimeoutError"
    assert (result["async_transport"], result["async"]) == ("fetch", "echo: async")
    assert result["inline"] == "echo: inline"


def test_the_conformance_kit_passes_inside_pyodide(request: pytest.FixtureRequest) -> None:
    """acheck_transport(FetchTransport, server=URL): Pyodide cannot start a server, so the kit
    scripts one on 127.0.0.1 over its HTTP control API, through the transport under test."""
    try:
        from openai_bindings.testing import acheck_transport  # noqa: F401 (the kit, from branch transports)
    except ImportError:
        pytest.skip("needs openai_bindings.testing.acheck_transport (the conformance kit)")
    from openai_bindings.testing.server import LocalServer

    pyodide: PyodideHost = request.getfixturevalue("pyodide")
    with LocalServer() as server:
        result = pyodide.run(
            """
async def main():
    from openai_bindings.testing import acheck_transport
    from openai_bindings.transports.fetch import FetchTransport
    try:
        report = await acheck_transport(FetchTransport, server=URL)
    except AssertionError as error:
        report = error.report
    return {"text": str(report), "passed": report.passed, "failed": report.failed}
""",
            URL=server.url("/"),
            limit=120,
        )
    assert result["failed"] == [], result["text"]
    assert {"incremental_delivery", "read_timeout_before_headers", "read_timeout_mid_body"} <= set(
        result["passed"]
    ), result["text"]


def test_the_browser_example_as_its_readme_runs_it(project_wheel: Path, artifacts: Path) -> None:
    """The README's commands: `openai-bindings fake-server --cors`, serve.py, the page in a browser."""
    command = [sys.executable, "-m", "openai_bindings", "fake-server", "--cors", "--port", "0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stderr is not None
        base_url = server.stdout.readline().strip()  # the command prints its base URL first
        if not base_url:
            server.wait(10)
            if server.returncode == 2:  # argparse: no such command or option yet
                pytest.skip(
                    f"`openai-bindings fake-server --cors` is not there: {server.stderr.read()[-200:]}"
                )
            pytest.fail(f"fake-server printed no URL: {server.stderr.read()[-2000:]}")
        with _site(EXAMPLE, project_wheel) as site:
            outcome = _drive_page(
                f"{site}?api={base_url}", artifacts / "browser-readme.png", "Hello from the page", print
            )
    finally:
        server.terminate()
        server.wait(10)
        for stream in (server.stdout, server.stderr):
            if stream is not None:
                stream.close()
    assert outcome["state"] == "done", outcome
    assert outcome["answer"] == "echo: Hello from the page"
    assert "transport 'fetch'" in outcome["status"]
