"""The pytest plugin users get (entry point pytest11), tested as a user's suite would use it."""

from __future__ import annotations

USER_TESTS = """
import openai_bindings

def greet(client):
    return client.new_chat_session(messages=[{"role": "system", "content": "Be nice"}]).send("Hello")

def test_greeting(openai_server, openai_client):
    openai_server.reply_with("Bonjour!")
    assert greet(openai_client) == "Bonjour!"
    assert openai_server.requests[-1].json["messages"][0]["role"] == "system"

def test_errors_are_scriptable(openai_server, openai_client):
    openai_server.fail_with(429, "slow down")
    try:
        openai_client.models() and openai_client.create_chat_completion([{"role": "user", "content": "x"}])
    except openai_bindings.RateLimitError as error:
        assert error.status == 429
    else:
        raise AssertionError("expected a RateLimitError")

def test_tool_calls(openai_server, openai_client):
    openai_server.reply_with_tool_call("lookup", {"q": "x"})
    openai_server.reply_with("found it")
    assert openai_client.new_chat_session().run("find", tools={"lookup": lambda q: q.upper()}) == "found it"
"""


def test_fixtures_work_without_conftest(pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_fixtures_are_listed(pytester):
    result = pytester.runpytest_subprocess("--fixtures")
    result.stdout.fnmatch_lines(["*openai_server*", "*openai_client*"])
