"""The transport conformance kit: the built-ins and the httpx example pass it, broken transports fail
the scenarios that describe their defect, and it runs against a server it did not start."""

from __future__ import annotations

import importlib.util
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from openai_bindings import Request, Response
from openai_bindings.cli import main as cli_main
from openai_bindings.testing import (
    FakeOpenAIServer,
    LocalServer,
    TransportReport,
    acheck_transport,
    check_transport,
)
from openai_bindings.testing.transport_check import SCENARIOS
from openai_bindings.transport import ThreadedAsyncTransport
from openai_bindings.transports import AiohttpTransport, StdlibTransport, Urllib3Transport

ROOT = Path(__file__).resolve().parent.parent
ALL = [scenario.name for scenario in SCENARIOS]
LOCAL_ONLY = {"connect_timeout", "refused", "tls", "proxy"}


def _httpx_transport() -> type:
    pytest.importorskip("httpx")
    path = ROOT / "examples" / "plugins" / "httpx-transport" / "openai_bindings_httpx.py"
    spec = importlib.util.spec_from_file_location("openai_bindings_httpx", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.HttpxTransport


@pytest.mark.parametrize(
    "make",
    [
        lambda: StdlibTransport,
        lambda: Urllib3Transport,
        lambda: AiohttpTransport,
        lambda: ThreadedAsyncTransport(StdlibTransport()),
        _httpx_transport,
    ],
    ids=["stdlib", "urllib3", "aiohttp", "stdlib-threaded", "httpx-example"],
)
def test_the_builtins_and_the_httpx_example_pass_every_scenario(make):
    report = check_transport(make())
    assert isinstance(report, TransportReport) and report.ok
    assert report.passed == ALL  # nothing skipped: each takes verify= and proxy=
    assert report.failed == [] and report.skipped == []


# -- broken transports fail the scenarios that describe their defect ------------------------------------


class Buffering(StdlibTransport):
    """Reads the whole body before returning: nothing streams."""

    def send(self, request: Request) -> Response:
        response = super().send(request)
        return Response(response.status, response.headers, response.read())


class LeakyClose(StdlibTransport):
    """Never closes a response it was told to close (the connection stays open)."""

    def send(self, request: Request) -> Response:
        response = super().send(request)
        return Response(response.status, response.headers, response.stream, close=lambda: None)


class ChunkedUploads(StdlibTransport):
    """Drops the Content-Length the client set, so a streamed body goes chunked."""

    def send(self, request: Request) -> Response:
        if request.body is not None and not isinstance(request.body, bytes):
            headers = request.headers.copy()
            del headers["Content-Length"]
            request = Request(request.method, request.url, headers, request.body, request.timeout)
        return super().send(request)


class Resending(StdlibTransport):
    """Tries again by itself when a connection fails before the answer."""

    def send(self, request: Request) -> Response:
        try:
            return super().send(request)
        except Exception:
            return super().send(request)


class RawErrors(StdlibTransport):
    """Lets the standard library's exceptions through instead of the library's two errors."""

    def _kind(self, error: BaseException, route: Any) -> Any:
        return None, ""  # nothing is an I/O failure to map: everything goes through as it is


class SlowTimeouts(StdlibTransport):
    """Waits far longer than timeout.read."""

    def send(self, request: Request) -> Response:
        slower = Request(request.method, request.url, request.headers, request.body, (2.0, 3.5))
        return super().send(slower)


@pytest.mark.parametrize(
    ("broken", "only", "expected"),
    [
        (Buffering, ["methods", "incremental_delivery"], {"incremental_delivery"}),
        (LeakyClose, ["methods", "release_after_close"], {"release_after_close"}),
        (ChunkedUploads, ["methods", "streamed_upload"], {"streamed_upload"}),
        (Resending, ["methods", "closed_before_headers"], {"closed_before_headers"}),
        (
            RawErrors,
            ["methods", "read_timeout_before_headers", "refused", "reset_mid_body"],
            {"read_timeout_before_headers", "refused", "reset_mid_body"},
        ),
        (SlowTimeouts, ["methods", "read_timeout_mid_body"], {"read_timeout_mid_body"}),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else "",
)
@pytest.mark.filterwarnings("ignore::ResourceWarning")  # leaking sockets is what some of them do
def test_a_broken_transport_fails_the_scenarios_for_its_defect(broken, only, expected):
    with pytest.raises(AssertionError) as info:
        check_transport(broken, only=only)
    report = info.value.report  # type: ignore[attr-defined]
    assert set(report.failed) == expected
    assert report.passed == ["methods"]
    for name in expected:
        assert name in str(info.value) and report.failures[name]


def test_the_failure_message_says_what_went_wrong():
    with pytest.raises(AssertionError) as info:
        check_transport(RawErrors, only=["refused"])
    message = str(info.value)
    assert "failed 1 of 1 scenarios" in message
    assert "ConnectionRefusedError" in message and "expected openai_bindings.APIConnectionError" in message


def test_only_names_known_scenarios():
    with pytest.raises(ValueError, match="unknown scenario"):
        check_transport(StdlibTransport, only=["no_such_scenario"])


# -- against a server the kit did not start (how Pyodide runs it) -----------------------------------------


@pytest.mark.parametrize("transport", [StdlibTransport, AiohttpTransport], ids=["stdlib", "aiohttp"])
def test_against_a_running_fake_server(transport):
    with FakeOpenAIServer() as fake:
        report = check_transport(transport, server=fake.base_url)
        assert fake.requests == [] or all("/kit/" in r.path for r in fake.requests)
    assert set(report.passed) == set(ALL) - LOCAL_ONLY
    assert {name for name, _ in report.skipped} == LOCAL_ONLY
    assert all("server=" in reason for _, reason in report.skipped)


def test_a_server_without_the_control_api_fails():
    with LocalServer(control=False) as server, pytest.raises(AssertionError) as info:
        check_transport(StdlibTransport, server=server.origin, only=["methods"])
    assert info.value.report.failed == ["methods"]  # type: ignore[attr-defined]


async def test_acheck_transport_runs_inside_a_running_loop():
    report = await acheck_transport(AiohttpTransport, only=["methods", "incremental_delivery"])
    assert report.passed == ["methods", "incremental_delivery"]
    with pytest.raises(RuntimeError, match="acheck_transport"):
        check_transport(AiohttpTransport, only=["methods"])


def test_check_transport_takes_a_factory():
    report = check_transport(lambda **options: StdlibTransport(**options), only=["tls", "proxy"])
    assert report.passed == ["tls", "proxy"]


def test_an_instance_without_a_constructor_for_options_skips_tls_and_proxy():
    class Fixed:
        name = "fixed"

        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def send(self, request: Request) -> Response:
            return self.inner.send(request)

        def close(self) -> None:
            self.inner.close()

    report = check_transport(Fixed(StdlibTransport()), only=["methods", "tls", "proxy"])
    assert report.passed == ["methods"]
    assert [name for name, _ in report.skipped] == ["tls", "proxy"]
    assert "does not take verify=" in str(report)


# -- the command line ------------------------------------------------------------------------------------


def test_cli_check_transport_prints_the_report_and_exits_0(capsys):
    assert cli_main(["check-transport", "stdlib", "--async", "--only", "methods", "--only", "tls"]) == 0
    out = capsys.readouterr().out
    assert "stdlib (threaded for asyncio)" in out and "passed   tls" in out and "2 passed, 0 failed" in out


def test_cli_check_transport_exits_1_on_failures(capsys):
    with LocalServer(control=False) as server:
        code = cli_main(["check-transport", "urllib3", "--server", server.origin, "--only", "methods"])
    assert code == 1
    assert "FAILED   methods" in capsys.readouterr().out


def test_cli_check_transport_unknown_name(capsys):
    assert cli_main(["check-transport", "carrier-pigeon"]) == 2
    assert "unknown transport 'carrier-pigeon'" in capsys.readouterr().err


# -- the control API itself --------------------------------------------------------------------------------


def _call(server: LocalServer, method: str, path: str, data: Any = None) -> tuple[int, Any]:
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(server.url(path), data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_control_api_scripts_a_running_server():
    with LocalServer() as server:
        assert _call(
            server,
            "POST",
            "/v1/_control/queue",
            [
                {"action": "reply", "status": 418, "body": {"teapot": True}, "path": "/v1/x"},
                {"action": "reply", "chunks": ["a", "b"], "gate": "g", "path": "/v1/y"},
            ],
        ) == (200, {"queued": 2})
        assert _call(server, "GET", "/v1/x") == (418, {"teapot": True})
        assert _call(server, "POST", "/v1/_control/release", {"gate": "g"}) == (200, {"released": "g"})
        with urllib.request.urlopen(server.url("/v1/y"), timeout=5) as answer:
            assert answer.read() == b"ab"
        status, seen = _call(server, "GET", "/_control/requests?since=1")
        assert status == 200 and [r["path"] for r in seen] == ["/v1/y"]  # control calls are not recorded
        status, connections = _call(server, "GET", "/_control/connections")
        assert status == 200 and connections["opened"] >= 2
        assert _call(server, "POST", "/_control/clear") == (200, {"cleared": True})
        assert _call(server, "GET", "/_control/nonsense")[0] == 404
        assert _call(server, "POST", "/_control/queue", {"action": "explode"})[0] == 400


def test_the_control_api_can_be_turned_off():
    with LocalServer(control=False) as server:
        status, echoed = _call(server, "GET", "/_control/requests")
        assert status == 200 and echoed["path"] == "/_control/requests"  # an ordinary request


def test_the_report_reads_well():
    report = TransportReport(
        "demo", "sync, here", passed=["methods"], failed=["tls"], skipped=[("proxy", "why")]
    )
    report.failures["tls"] = "refused"
    report.notes["methods"] = "fine"
    text = str(report)
    assert "passed   methods (fine)" in text and "FAILED   tls: refused" in text
    assert "skipped  proxy: why" in text and "1 passed, 1 failed, 1 skipped" in text
    assert not report.ok


def test_against_the_fake_server_command_in_its_own_process():
    """The way a host without sockets of its own is served: `openai-bindings fake-server` elsewhere."""
    import select
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "openai_bindings", "fake-server", "--cors"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert select.select([process.stdout], [], [], 30)[0], "fake-server printed nothing in 30 s"
        url = process.stdout.readline().split()[0]  # its first line is the base URL
        assert url.startswith("http://127.0.0.1:")
        report = check_transport(StdlibTransport, server=url, only=["methods", "incremental_delivery"])
        assert report.passed == ["methods", "incremental_delivery"]
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
