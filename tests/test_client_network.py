"""The client's network options (proxy=, verify=, trust_env=), end to end on every transport.

The transports' own proxy and TLS tests are in test_proxy_tls.py; these check that the
client hands the options to the transport it builds, refuses what cannot be honoured, and
keeps proxy credentials out of everything it shows.
"""

from __future__ import annotations

import pickle
import ssl
from typing import Any, Iterator

import pytest

import openai_bindings
from openai_bindings import APIConnectionError, PluginError
from openai_bindings.testing import FakeOpenAIServer, ProxyServer, tls_ca_path, tls_server_context

HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def proxy() -> Iterator[ProxyServer]:
    with ProxyServer(credentials=("alice", "s3cret-proxy-pass")) as running:
        yield running


@pytest.fixture
def tls_fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(ssl_context=tls_server_context()) as running:
        yield running


def test_proxy_carries_plain_calls_and_streams(make_caller, fake, proxy):
    call = make_caller(
        base_url=fake.base_url, proxy=proxy.url_with_credentials, trust_env=False, max_retries=0
    )
    assert call("create_chat_completion", HI).status == 200
    stream = call("create_chat_completion", HI, stream=True)
    call.events(stream)
    assert stream.text == "echo: hi"
    assert proxy.forwarded == 2 and proxy.refused == 0


def test_https_goes_through_connect_with_the_given_ca(make_caller, tls_fake, proxy):
    call = make_caller(base_url=tls_fake.base_url, proxy=proxy.url_with_credentials, verify=tls_ca_path())
    assert call("models").status == 200
    assert proxy.tunnels >= 1


@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")  # urllib3's, for verify=False as asked
def test_default_verification_refuses_an_unknown_ca_and_verify_false_does_not(make_caller, tls_fake):
    strict = make_caller(base_url=tls_fake.base_url, max_retries=0)
    with pytest.raises(APIConnectionError, match=r"(?i)certificate"):
        strict("models")
    trusting = make_caller(base_url=tls_fake.base_url, verify=False)
    assert trusting("models").status == 200
    context = ssl.create_default_context(cafile=tls_ca_path())
    assert make_caller(base_url=tls_fake.base_url, verify=context)("models").status == 200


def test_proxy_credentials_never_show(make_caller, fake, proxy):
    wrong = f"http://alice:wrong-but-secret@{proxy.host}:{proxy.port}"
    call = make_caller(base_url=fake.base_url, proxy=wrong, max_retries=0)
    with pytest.raises(openai_bindings.OpenAIError) as info:
        call("models")
    shown = [repr(call.client), repr(call.client.transport), str(info.value), repr(info.value)]
    link: Any = info.value
    while link is not None:
        shown += [repr(link), str(link)]
        link = link.__cause__ or link.__context__
    assert not any("wrong-but-secret" in text for text in shown), shown


def test_the_environment_is_honoured_unless_told_not_to(fake, proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", proxy.url_with_credentials)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with openai_bindings.OpenAI(base_url=fake.base_url, transport="stdlib") as client:
        client.models()
    assert proxy.forwarded == 1
    with openai_bindings.OpenAI(base_url=fake.base_url, transport="stdlib", trust_env=False) as client:
        client.models()
    assert proxy.forwarded == 1  # not through the proxy this time
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with openai_bindings.OpenAI(base_url=fake.base_url, transport="stdlib") as client:
        client.models()
    assert proxy.forwarded == 1


def test_an_option_a_plugin_transport_cannot_take_is_refused_clearly(fake):
    class Plain:
        name = "plain"

        def send(self, request: Any) -> Any:
            raise AssertionError("never sent")

    with pytest.raises(PluginError, match="does not accept the proxy= option"):
        openai_bindings.OpenAI(base_url=fake.base_url, transport=Plain, proxy="http://127.0.0.1:9")
    with pytest.raises(TypeError, match="instance"):
        openai_bindings.OpenAI(base_url=fake.base_url, transport=Plain(), verify=False)
    with pytest.raises(TypeError, match="proxy must be a URL"):
        openai_bindings.OpenAI(base_url=fake.base_url, proxy=3128)


def test_a_client_with_options_travels_unless_its_context_cannot(fake, proxy):
    client = openai_bindings.OpenAI(
        base_url=fake.base_url, transport="stdlib", proxy=proxy.url_with_credentials
    )
    copy = pickle.loads(pickle.dumps(client))
    assert copy.models().status == 200 and proxy.forwarded == 1
    client.close()
    copy.close()
    with (
        openai_bindings.OpenAI(base_url=fake.base_url, verify=ssl.create_default_context()) as bound,
        pytest.raises(TypeError, match="SSLContext"),
    ):
        pickle.dumps(bound)
