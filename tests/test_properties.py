"""Properties over arbitrary input: the decoders and checks fail only in the ways they promise.

Short bounded runs (CI runs them every time); a failure prints the smallest input that breaks.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, List

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openai_bindings import StreamError
from openai_bindings.accumulate import StreamState
from openai_bindings.errors import APIStatusError, error_message, status_error
from openai_bindings.validation import validate_messages

BOUNDED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Bytes that look like streams: SSE field lines, JSON fragments, line ends of every kind, junk.
PIECES = st.sampled_from(
    [
        b"data: ",
        b"data:",
        b"event: error\n",
        b"id: 7\n",
        b"retry: 15\n",
        b"retry: \xe2\x93\xb5\n",
        b": comment\n",
        b"\n",
        b"\r\n",
        b"\r",
        b"\xef\xbb\xbf",
        b"[DONE]",
        b'{"choices": [{"index": 0, "delta": {"content": "hi"}}]}',
        b'{"choices": [null]}',
        b'{"choices": [{"delta": {"tool_calls": [[]]}}]}',
        b'{"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": 5}}]}}]}',
        b'{"error": {"message": "boom"}}',
        b'{"type": "response.output_text.delta", "delta": "x"}',
        b'{"type": "response.completed", "response": 3}',
        b"[1, 2]",
        b'"text"',
        b"null",
        b"\xff\xfe",
    ]
)
STREAMS = st.one_of(st.binary(max_size=300), st.lists(PIECES, max_size=30).map(b"".join))


def split(data: bytes, cuts: List[int]) -> List[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def decode(kind: str, chunks: List[bytes]) -> tuple[List[Any], Any]:
    """Feed the chunks; the events and what failed (never any other exception)."""
    state = StreamState(kind)
    events: List[Any] = []
    for chunk in chunks:
        events += state.feed(chunk)
    events += state.end()
    failure = state.failed
    assert failure is None or isinstance(failure, StreamError)
    return [json.dumps(e, sort_keys=True, default=str) for e in events], str(failure) if failure else None


@BOUNDED
@given(
    STREAMS,
    st.lists(st.integers(min_value=0), max_size=12),
    st.sampled_from(["chat", "responses", "completion", "events"]),
)
def test_any_bytes_in_any_chunking_give_the_same_events_or_a_stream_error(data, cuts, kind):
    whole = decode(kind, [data])
    assert decode(kind, split(data, cuts)) == whole


@BOUNDED
@given(STREAMS)
def test_whatever_a_chat_stream_adds_up_to_can_be_read(data):
    state = StreamState("chat")
    state.feed(data)
    state.end()
    for index in list(state.choices):
        message = state.message_of(index)
        assert isinstance(message, dict) and message["role"]
    assert isinstance(state.text_of(0), str)


JSONISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.sampled_from(
                ["error", "message", "msg", "detail", "code", "type", "param", "status", "loc", "x"]
            ),
            children,
            max_size=5,
        ),
    ),
    max_leaves=20,
)


@BOUNDED
@given(st.one_of(JSONISH, st.text(max_size=200)), st.integers(min_value=300, max_value=599))
def test_any_error_body_gives_a_message_and_a_typed_error(body, status):
    message, fields = error_message(body)
    assert isinstance(message, str) and len(message) <= 500
    assert all(value is None or isinstance(value, str) for value in fields.values())
    error = status_error(status, body, {"location": "x"} if status < 400 else {})
    assert isinstance(error, APIStatusError) and str(error)


@BOUNDED
@given(st.one_of(JSONISH, st.lists(JSONISH, max_size=4), st.text(max_size=20)))
def test_any_messages_are_accepted_or_refused_with_value_or_type_error(messages):
    with contextlib.suppress(ValueError, TypeError):
        validate_messages(messages)


MESSAGE = {"content": "hé \u2603", "tool_calls": [1.5e3, None]}
ANSWER = json.dumps({"id": "chatcmpl-1", "choices": [{"index": 0, "message": MESSAGE}]}).encode()


@BOUNDED
@given(
    st.one_of(
        st.integers(min_value=0, max_value=len(ANSWER)).map(lambda cut: ANSWER[:cut]),  # truncated
        st.tuples(st.integers(min_value=0, max_value=len(ANSWER)), st.binary(max_size=8)).map(
            lambda pair: ANSWER[: pair[0]] + pair[1] + ANSWER[pair[0] :]  # bytes slipped in
        ),
        st.binary(max_size=40).map(lambda junk: b"{" + junk),
        JSONISH.map(lambda value: json.dumps(value).encode() + b" \n"),
    )
)
def test_a_2xx_json_body_decodes_as_json_loads_or_is_a_validation_error(raw):
    """decode_success reads the usual answer with the C scanner: it must agree with json.loads."""
    from openai_bindings import APIResponseValidationError
    from openai_bindings.result import decode_success

    headers = {"content-type": "application/json"}
    try:
        expected = json.loads(raw)
    except ValueError:
        refused = True
    else:
        refused = False
        assert decode_success(raw, 200, headers) == expected
    if refused and raw:
        with contextlib.suppress(APIResponseValidationError):
            decode_success(raw, 200, headers)
            raise AssertionError(f"{raw!r} decoded though json.loads refuses it")


HEADER_LINES = st.lists(
    st.one_of(
        st.tuples(
            st.sampled_from(["Content-Type", "content-length", "X-Request-ID", "Set-Cookie", "x"]),
            st.sampled_from([":", ": ", ":\t", ":  "]),
            st.text(
                st.characters(min_codepoint=32, max_codepoint=255, blacklist_characters="\r\n"), max_size=12
            ),
            st.sampled_from(["\r\n", "\n", " \r\n", "\t\r\n"]),
        ).map("".join),
        st.sampled_from(
            [
                " folded\r\n",
                "\tfolded\r\n",
                "No colon\r\n",
                ": no name\r\n",
                "From someone\r\n",
                "Bad Name: v\r\n",
                "Name\x7f: v\r\n",
                "Näme: v\r\n",
                "Name:\r\n",
            ]
        ),
    ),
    max_size=8,
)


@BOUNDED
@given(HEADER_LINES, st.sampled_from(["\r\n", "\n", ""]))
def test_response_headers_read_as_http_client_reads_them(lines, end):
    """The stdlib transport reads header blocks without the email package: whatever the block,
    the message must hold what http.client.parse_headers' would."""
    import http.client
    import io

    from openai_bindings.transports._response import parse_header_lines, read_header_lines

    block = "".join([*lines, end]).encode("latin-1")
    theirs = http.client.parse_headers(io.BytesIO(block))
    ours = parse_header_lines(read_header_lines(io.BytesIO(block)))
    assert ours.items() == theirs.items()
    for name in ("content-type", "Content-Length", "x-request-id", "set-cookie", "x", "missing"):
        assert ours.get(name) == theirs.get(name)
        assert ours.get_all(name) == theirs.get_all(name)
    assert isinstance(ours, http.client.HTTPMessage)
