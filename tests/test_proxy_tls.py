"""Networks as users have them: proxies (explicit and from the environment) and TLS trust,
on every built-in transport, sync and async, over real sockets on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import socket
import ssl
from typing import Any, Iterator, List

import pytest
from conftest import Harness

from openai_bindings import APIConnectionError, APITimeoutError, PluginError, Request, Timeout
from openai_bindings.testing import LocalServer, ProxyServer
from openai_bindings.transport import ThreadedAsyncTransport, resolve_transport
from openai_bindings.transports import AiohttpTransport, StdlibTransport, Urllib3Transport

COMBOS = [
    ("stdlib", lambda **kw: StdlibTransport(**kw), False),
    ("stdlib-async", lambda **kw: ThreadedAsyncTransport(StdlibTransport(**kw)), True),
    ("urllib3", lambda **kw: Urllib3Transport(**kw), False),
    ("urllib3-async", lambda **kw: ThreadedAsyncTransport(Urllib3Transport(**kw)), True),
    ("aiohttp", lambda **kw: AiohttpTransport(**kw), True),
]
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD")
PASSWORD = "s3cret p@ss"  # with characters a URL must quote


@pytest.fixture(autouse=True)
def _no_network_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the machine's proxies or CA settings."""
    for name in (*PROXY_VARIABLES, "SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(params=COMBOS, ids=[combo[0] for combo in COMBOS])
def make(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Builds the transport under test with the given options, behind one sync calling API."""
    name, factory, is_async = request.param
    made: List[Harness] = []

    def build(**options: Any) -> Harness:
        made.append(Harness(name, factory, is_async, **options))
        return made[-1]

    yield build
    for harness in made:
        harness.close()


@pytest.fixture
def proxy() -> Iterator[ProxyServer]:
    with ProxyServer(credentials=("user", PASSWORD)) as running:
        yield running


@pytest.fixture
def ca_path(ca: Any) -> Iterator[str]:
    with ca.cert_pem.tempfile() as path:
        yield path


def _get(harness: Harness, url: str) -> Any:
    response = harness.send(Request("GET", url, {"X-Test": "yes"}, None, Timeout(2, 5)))
    assert response.status == 200
    return json.loads(harness.read(response))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- proxies ------------------------------------------------------------------------------------------


def test_plain_http_goes_through_the_proxy_with_its_credentials(make, server, proxy):
    echoed = _get(make(proxy=proxy.url_with_credentials), server.url("/p?x=1"))
    assert echoed["path"] == "/p" and echoed["query"] == {"x": ["1"]}
    assert proxy.forwarded == 1 and proxy.refused == 0
    assert [(r.method, r.target) for r in proxy.requests] == [("GET", server.url("/p?x=1"))]
    assert not any(name.lower().startswith("proxy-") for name in echoed["headers"])  # not passed on


def test_https_goes_through_a_connect_tunnel(make, tls_server, proxy, ca_path):
    echoed = _get(make(proxy=proxy.url_with_credentials, verify=ca_path), tls_server.url("/s"))
    assert echoed["path"] == "/s"
    assert proxy.tunnels == 1 and proxy.forwarded == 0
    assert [(r.method, r.target) for r in proxy.requests] == [("CONNECT", f"localhost:{tls_server.port}")]


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
def test_the_environment_names_the_proxy_for_plain_http(make, server, proxy, monkeypatch, variable):
    monkeypatch.setenv(variable, proxy.url_with_credentials)
    assert _get(make(), server.url("/env"))["path"] == "/env"
    assert proxy.forwarded == 1


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy"])
def test_the_environment_names_the_proxy_for_https(make, tls_server, proxy, ca_path, monkeypatch, variable):
    monkeypatch.setenv(variable, proxy.url_with_credentials)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{_closed_port()}")  # not the one for https
    assert _get(make(verify=ca_path), tls_server.url("/env"))["path"] == "/env"
    assert proxy.tunnels == 1


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost,127.0.0.1", "*", "example.com,127.0.0.1"])
def test_no_proxy_goes_direct(make, server, proxy, monkeypatch, no_proxy):
    monkeypatch.setenv("HTTP_PROXY", proxy.url_with_credentials)
    monkeypatch.setenv("no_proxy", no_proxy)
    assert _get(make(), server.url("/direct"))["path"] == "/direct"
    assert proxy.requests == []


def test_trust_env_false_ignores_the_environment(make, server, proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", proxy.url_with_credentials)
    monkeypatch.setenv("ALL_PROXY", proxy.url_with_credentials)
    assert _get(make(trust_env=False), server.url("/direct"))["path"] == "/direct"
    assert proxy.requests == []


def test_an_explicit_proxy_wins_over_the_environment(make, server, proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("NO_PROXY", "*")
    assert _get(make(proxy=proxy.url_with_credentials), server.url("/x"))["path"] == "/x"
    assert proxy.forwarded == 1


def _chain_texts(error: BaseException) -> Iterator[str]:
    seen, pending = set(), [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield repr(current.args)
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]


def test_proxy_credentials_never_show_in_errors_or_reprs(make, tls_server, proxy, ca_path):
    wrong = proxy.url_with_credentials.replace("s3cret", "wr0ng-s3cret")
    secrets = ["wr0ng-s3cret", base64.b64encode(b"user:wr0ng-s3cret p@ss").decode()]
    refused = make(proxy=wrong, verify=ca_path)
    unreachable = make(proxy=f"http://user:wr0ng-s3cret@127.0.0.1:{_closed_port()}", verify=ca_path)
    for harness in (refused, unreachable):
        assert "wr0ng" not in repr(harness.transport) and "user:***@" in repr(harness.transport)
        for url in (tls_server.url("/s"), f"http://127.0.0.1:{tls_server.port}/plain"):
            try:
                response = harness.send(Request("GET", url, {}, None, Timeout(2, 5)))
            except APIConnectionError as error:
                assert not isinstance(error, APITimeoutError)
                texts = list(_chain_texts(error))
                assert not [text for text in texts if any(secret in text for secret in secrets)]
                assert "user:***@" in str(error) or "proxy" in str(error)
            else:
                assert response.status == 407  # plain HTTP: the proxy's refusal is an answer
                harness.read(response)


def test_a_refused_tunnel_says_to_check_the_credentials(make, tls_server, proxy, ca_path):
    harness = make(proxy=proxy.url, verify=ca_path)  # no credentials at all
    with pytest.raises(APIConnectionError, match=r"(?i)proxy") as info:
        harness.send(Request("GET", tls_server.url("/s"), {}, None, Timeout(2, 5)))
    assert "407" in str(info.value)


# -- TLS trust ---------------------------------------------------------------------------------------------


def test_default_verification_refuses_an_unknown_ca_with_advice(make, tls_server):
    with pytest.raises(APIConnectionError) as info:
        make().send(Request("GET", tls_server.url("/s"), {}, None, Timeout(2, 5)))
    assert not isinstance(info.value, APITimeoutError)
    message = str(info.value)
    assert (
        "certificate verification failed" in message and "verify=" in message and "SSL_CERT_FILE" in message
    )


@pytest.mark.parametrize("form", ["path", "context", "ssl_context"])
def test_trusting_the_servers_ca(make, tls_server, ca, ca_path, form):
    context = ssl.create_default_context()
    ca.configure_trust(context)
    options = {
        "path": {"verify": ca_path},
        "context": {"verify": context},
        "ssl_context": {"ssl_context": context},
    }
    assert _get(make(**options[form]), tls_server.url("/s"))["path"] == "/s"


@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")  # urllib3's, for what was asked
def test_verify_false_skips_verification(make, tls_server):
    assert _get(make(verify=False), tls_server.url("/s"))["path"] == "/s"


def test_ssl_cert_file_is_honoured_with_trust_env_only(make, tls_server, ca_path, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", ca_path)
    assert _get(make(), tls_server.url("/s"))["path"] == "/s"
    with pytest.raises(APIConnectionError, match="certificate verification failed"):
        make(trust_env=False).send(Request("GET", tls_server.url("/s"), {}, None, Timeout(2, 5)))


# -- options: what is refused, and how ----------------------------------------------------------------------


@pytest.mark.parametrize("cls", [StdlibTransport, Urllib3Transport, AiohttpTransport])
def test_bad_options_are_refused_clearly(cls, tmp_path):
    with pytest.raises(ValueError, match="no such CA bundle"):
        cls(verify=str(tmp_path / "missing.pem"))
    with pytest.raises(TypeError, match="verify must be"):
        cls(verify=3)
    with pytest.raises(ValueError, match="socks"):
        cls(proxy="socks5://127.0.0.1:1080")
    with pytest.raises(TypeError, match="proxy must be a URL"):
        cls(proxy=8080)
    with pytest.raises(TypeError, match="not both"):
        cls(verify=False, ssl_context=ssl.create_default_context())


def test_a_proxy_url_without_a_scheme_is_http():
    transport = StdlibTransport(proxy="user:pw@127.0.0.1:3128")
    assert repr(transport) == "<StdlibTransport proxy='http://user:***@127.0.0.1:3128'>"


class _Plain:
    name = "plain"

    def __init__(self) -> None:
        pass

    def send(self, request: Request) -> Any:
        raise NotImplementedError


class _Flexible(_Plain):
    def __init__(self, **options: Any) -> None:
        self.options = options


def test_the_client_options_reach_a_transport_it_builds():
    made = resolve_transport(
        "stdlib", is_async=False, options={"proxy": "http://u:p@127.0.0.1:1", "verify": False}
    )
    assert isinstance(made, StdlibTransport) and "proxy='http://u:***@127.0.0.1:1'" in repr(made)
    threaded = resolve_transport(Urllib3Transport, is_async=True, options={"trust_env": False})
    assert isinstance(threaded, ThreadedAsyncTransport) and "trust_env=False" in repr(threaded.sync)
    assert resolve_transport(_Flexible, is_async=False, options={"verify": False}).options == {
        "verify": False
    }
    assert isinstance(resolve_transport(_Plain, is_async=False, options={}), _Plain)  # nothing set: no check


def test_a_transport_that_cannot_take_an_option_is_refused():
    with pytest.raises(PluginError, match=r"'plain' .* does not accept the proxy= option") as info:
        resolve_transport(_Plain, is_async=False, options={"proxy": "http://127.0.0.1:1"})
    assert "pass the instance as transport=" in str(info.value)


def test_options_with_an_instance_belong_to_the_instance():
    with pytest.raises(TypeError, match=r"verify= cannot apply to a transport instance"):
        resolve_transport(StdlibTransport(), is_async=False, options={"verify": False})


def test_unknown_options_are_a_programming_error():
    with pytest.raises(TypeError, match="unknown transport option"):
        resolve_transport("stdlib", is_async=False, options={"proxies": {}})


def test_a_tls_server_for_the_proxy_tests_needs_no_trustme():
    """The static test CA serves where trustme is missing (the conformance kit relies on it)."""
    from openai_bindings.testing import tls_ca_path, tls_server_context

    with LocalServer(ssl_context=tls_server_context()) as running:
        transport = StdlibTransport(verify=tls_ca_path())
        response = transport.send(Request("GET", running.url("/static"), {}, None, Timeout(2, 5)))
        assert json.loads(response.read())["path"] == "/static"
        transport.close()
