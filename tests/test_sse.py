"""The SSE decoder and stream decoding, without I/O."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openai_bindings import Response, StreamError
from openai_bindings.accumulate import StreamState
from openai_bindings.sse import ServerSentEvent, SSEDecoder, parse_all


def feed_in(chunks: list[bytes]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events + decoder.end()


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"])
def test_every_line_ending(eol):
    body = eol.join([b"event: delta", b"data: one", b"data: two", b"id: 7", b"retry: 1500", b"", b""])
    assert parse_all(body) == [ServerSentEvent(data="one\ntwo", event="delta", id="7", retry=1500, line=1)]


def test_crlf_split_between_chunks_is_one_line_end():
    assert feed_in([b"data: a\r", b"\ndata: b\r\n\r\n"]) == [ServerSentEvent(data="a\nb", line=1)]


def test_comments_and_unknown_fields_are_skipped():
    body = b": OPENROUTER PROCESSING\n\n: keep-alive\nfoo: bar\ndata: x\n\n"
    assert [e.data for e in parse_all(body)] == ["x"]


def test_field_without_colon_and_without_space():
    assert [e.data for e in parse_all(b"data\n\ndata:tight\n\n")] == [
        "tight"
    ]  # empty data dispatches nothing
    assert parse_all(b"data\ndata\n\n")[0].data == "\n"


def test_no_line_length_limit():
    line = "x" * 3_000_000
    chunks = [f"data: {line}\n\n".encode()[i : i + 4096] for i in range(0, len(line) + 10, 4096)]
    assert feed_in(chunks)[0].data == line


def test_last_event_without_blank_line_is_delivered():
    """Documented decision: a final event cut short of its blank line is delivered, not lost."""
    assert [e.data for e in parse_all(b"data: first\n\ndata: last")] == ["first", "last"]
    assert [e.data for e in parse_all(b"data: last\n")] == ["last"]


def test_utf8_split_inside_a_character():
    body = 'data: {"t": "héllo ✓"}\n\n'.encode()
    cut = body.index("✓".encode()) + 1
    assert json.loads(feed_in([body[:cut], body[cut:]])[0].data) == {"t": "héllo ✓"}


def test_every_byte_split_decodes_as_the_whole():
    """The decoder takes a chunk of whole characters with bytes.decode, and anything else (the
    BOM at the start, a character split across chunks, invalid bytes) incrementally; cut at
    every byte, around all three, it must give what the whole body gives."""
    body = (
        b"\xef\xbb\xbf"  # the BOM
        + "data: h\u00e9llo \u2713\n\n".encode()  # two- and three-byte characters
        + b"data: x\xff\xfey\n\n"  # invalid UTF-8
        + b"data: z\xc3\n\n"  # a character begun, never finished
        + "\u2713\u00e9".join(["data: a", "b\n\n"]).encode()
    )
    whole = [e.data for e in parse_all(body)]
    assert whole == ["h\u00e9llo \u2713", "x\ufffd\ufffdy", "z\ufffd", "a\u2713\u00e9b"]
    for cut in range(1, len(body)):
        for second in (cut + 1, cut + 2, len(body)):
            assert [e.data for e in feed_in([body[:cut], body[cut:second], body[second:]])] == whole


def test_bom_free_id_with_nul_is_ignored():
    assert parse_all(b"id: a\x00b\ndata: x\n\n")[0].id is None


# hypothesis: any split of a valid stream yields exactly the events of the unsplit stream
_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=20
)
_field = st.one_of(
    st.builds(lambda v: f"data: {v}", _text),
    st.builds(lambda v: f"event: {v}", _text),
    st.builds(lambda v: f"id: {v}", _text.filter(lambda v: "\x00" not in v)),
    st.builds(lambda v: f": {v}", _text),
    st.builds(lambda v: f"retry: {v}", st.integers(0, 10_000)),
)
_event = st.lists(_field, min_size=1, max_size=5)


@settings(max_examples=300, deadline=None)
@given(
    events=st.lists(_event, max_size=8),
    eol=st.sampled_from(["\n", "\r", "\r\n"]),
    cuts=st.lists(st.integers(min_value=0), max_size=12),
)
def test_any_split_gives_the_same_events(events, eol, cuts):
    body = "".join(eol.join(event) + eol + eol for event in events).encode("utf-8")
    whole = parse_all(body)
    points = sorted({cut % (len(body) + 1) for cut in cuts})
    pieces = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    assert feed_in(pieces) == whole


# -- stream decoding ---------------------------------------------------------------------------


def chat_chunk(**delta):
    return {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}]}


def run_state(kind: str, body: bytes) -> tuple[StreamState, list]:
    state = StreamState(kind)
    return state, state.feed(body) + state.end()


def test_done_ends_the_stream():
    body = f"data: {json.dumps(chat_chunk(content='a'))}\n\ndata: [DONE]\n\ndata: junk\n\n".encode()
    state, events = run_state("chat", body)
    assert len(events) == 1 and state.done


def test_error_payload_mid_stream_raises_with_the_api_message():
    body = (
        f"data: {json.dumps(chat_chunk(content='a'))}\n\n"
        'data: {"error": {"message": "The server had an error", "type": "server_error", "code": "oops"}}\n\n'
    ).encode()
    state = StreamState("chat")
    events = state.feed(body)
    assert events == [chat_chunk(content="a")]  # what came before the error is delivered first
    error = state.failed
    assert isinstance(error, StreamError) and "The server had an error" in str(error)
    assert error.code == "oops" and error.type == "server_error"
    assert state.feed(b"data: {}\n\n") == [] and state.end() == []  # nothing counts after it


def failure_of(kind: str, body: bytes) -> StreamError:
    state = StreamState(kind)
    state.feed(body)
    assert isinstance(state.failed, StreamError)
    return state.failed


def test_error_event_raises():
    error = failure_of("responses", b'event: error\ndata: {"message": "overloaded", "code": "busy"}\n\n')
    assert "overloaded" in str(error)


def test_response_failed_raises():
    failed = {
        "type": "response.failed",
        "response": {"error": {"message": "it broke", "code": "server_error"}},
    }
    assert "it broke" in str(failure_of("responses", f"data: {json.dumps(failed)}\n\n".encode()))


def test_invalid_json_names_the_line():
    error = failure_of("chat", b": hello\n\ndata: {not json\n\n")
    assert "line 3" in str(error) and "{not json" in str(error)


def test_chunks_without_object_and_usage_only_chunks_are_delivered():
    llama = {"choices": [{"index": 0, "delta": {"content": "hi"}}]}
    usage = {"choices": [], "usage": {"total_tokens": 3}}
    body = f"data: {json.dumps(llama)}\n\ndata: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode()
    state, events = run_state("chat", body)
    assert events == [llama, usage]
    assert state.text_of(0) == "hi" and state.usage == {"total_tokens": 3}


def test_tool_call_deltas_merge_by_index():
    deltas = [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"index": 0, "id": "call_a", "type": "function", "function": {"name": "f", "arguments": ""}}
            ],
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"x":'}}]},
        {
            "tool_calls": [
                {"index": 1, "id": "call_b", "type": "function", "function": {"name": "g", "arguments": "{}"}}
            ]
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": " 1}"}}]},
        {"refusal": "no"},
        {"refusal": " way"},
    ]
    body = "".join(f"data: {json.dumps(chat_chunk(**d))}\n\n" for d in deltas).encode()
    state, _ = run_state("chat", body)
    message = state.message_of(0)
    assert message["tool_calls"] == [
        {"id": "call_a", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}},
        {"id": "call_b", "type": "function", "function": {"name": "g", "arguments": "{}"}},
    ]
    assert message["refusal"] == "no way"


def test_gemini_quirks_keep_usable_tool_calls():
    """Gemini: no id in chunks, role and usage in every chunk, tool call id "" and finish_reason stop."""
    chunks = [
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "",
                                "type": "function",
                                "function": {"name": "get", "arguments": '{"a":1}'},
                            }
                        ],
                    },
                    "finish_reason": "stop",
                }
            ],
            "usage": {"total_tokens": 1},
        },
        {
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}],
            "usage": {"total_tokens": 2},
        },
    ]
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks).encode() + b"data: [DONE]\n\n"
    state, _ = run_state("chat", body)
    message = state.message_of(0)
    assert message["role"] == "assistant"
    assert message["tool_calls"][0]["function"] == {"name": "get", "arguments": '{"a":1}'}
    assert state.usage == {"total_tokens": 2}


def test_the_decoder_can_give_the_usual_event_as_its_data_string():
    """strings=True (what streams use): one data line and no event/retry field comes as a str;
    any other event as a ServerSentEvent; ``lines`` says where each began, for error messages."""
    body = (
        b': comment\n\ndata: {"a": 1}\n\n'
        b'event: error\ndata: {"message": "x"}\n\n'
        b"id: 7\ndata: two\ndata: lines\n\n"
        b"retry: 10\ndata: r\n\ndata: [DONE]\n\n"
    )
    decoder = SSEDecoder(strings=True)
    events = list(decoder.feed(body[:40]))
    lines = list(decoder.lines)
    events += decoder.feed(body[40:])
    lines += decoder.lines
    events += decoder.end()
    lines += decoder.lines
    assert events[0] == '{"a": 1}' and events[-1] == "[DONE]"
    assert events[1] == ServerSentEvent('{"message": "x"}', event="error", line=5)
    assert events[2] == ServerSentEvent("two\nlines", id="7", line=8)
    assert events[3] == ServerSentEvent("r", id="7", retry=10, line=12)
    assert lines == [3, 5, 8, 12, 15]
    assert [e.data if isinstance(e, ServerSentEvent) else e for e in events] == [
        e.data for e in feed_in([body])
    ]


def test_a_malformed_usual_event_still_names_its_line():
    state = StreamState("chat")
    state.feed(b'data: {"choices": []}\n\n: keep-alive\n\ndata: {"choices": [}\n\n')
    assert isinstance(state.failed, StreamError) and "line 5" in str(state.failed)
    state = StreamState("chat")
    state.feed(b'data: {"choices": []}\n\ndata: {"choices": 5}\n\n')
    assert "unexpected shape at line 3" in str(state.failed)


class _WholeStreamAtOnce:
    """A transport answering with one chunk that holds a whole stream, as aiohttp's ``readany``
    does for a stream that arrived while the loop was busy with others."""

    name = "whole-stream-at-once"

    def __init__(self, body: bytes) -> None:
        self.body = body

    def send(self, request):
        return Response(200, [("Content-Type", "text/event-stream")], stream=[self.body])

    def close(self):
        return None


class _AsyncWholeStreamAtOnce(_WholeStreamAtOnce):
    async def send(self, request):
        return Response(200, [("Content-Type", "text/event-stream")], stream=_Chunks([self.body]))

    async def close(self):
        return None


MESSAGES = [{"role": "user", "content": "hi"}]


class _Chunks:
    def __init__(self, chunks: list) -> None:
        self.chunks = iter(chunks)

    def __aiter__(self):
        return self

    async def __anext__(self) -> bytes:
        for chunk in self.chunks:
            return chunk
        raise StopAsyncIteration


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_a_stream_decodes_each_event_as_it_hands_it_out(is_async):
    """A chunk of 2,000 events is queued undecoded, the usual event as its data string; each is
    decoded (and counted, and folded) as it is handed out. Decoded all at once, they were 8,000
    containers alive together: at 100 concurrent streams the garbage collector's young
    generation filled on every chunk, promoted them and ran older collections, a quarter of the
    client's CPU (1.8x raw aiohttp's)."""
    import asyncio
    import gc

    from openai_bindings import AsyncOpenAI, OpenAI

    count = 2000
    lines = (b"data: %s\n\n" % json.dumps(chat_chunk(content=f"{n} ")).encode() for n in range(count))
    events = b"".join(lines)
    transport = (_AsyncWholeStreamAtOnce if is_async else _WholeStreamAtOnce)(events + b"data: [DONE]\n\n")
    factory = AsyncOpenAI if is_async else OpenAI
    decoded_when_handed: list = []
    collections = [0]

    def collected(phase: str, info: dict) -> None:
        collections[0] += phase == "start"

    async def read_async() -> str:
        client = factory(api_key="sk-test", base_url="http://127.0.0.1:9/v1", transport=transport)
        stream = await client.create_chat_completion(MESSAGES, model="m", stream=True)
        async for _event in stream:
            decoded_when_handed.append(stream.state.count)
        await client.close()
        return stream.text

    def read() -> str:
        decoded_when_handed.clear()
        if is_async:
            return asyncio.run(read_async())
        client = factory(api_key="sk-test", base_url="http://127.0.0.1:9/v1", transport=transport)
        stream = client.create_chat_completion(MESSAGES, model="m", stream=True)
        for _event in stream:
            decoded_when_handed.append(stream.state.count)
        client.close()
        return stream.text

    read()  # once before counting: the first stream imports the stream modules
    thresholds = gc.get_threshold()
    gc.collect()
    gc.set_threshold(700, 10, 10)  # CPython's defaults, whatever the test run set
    gc.callbacks.append(collected)
    try:
        text = read()
    finally:
        gc.callbacks.remove(collected)
        gc.set_threshold(*thresholds)
    assert text == "".join(f"{n} " for n in range(count))
    assert decoded_when_handed == list(range(1, count + 1)), decoded_when_handed[:5]
    # 14 when a chunk's events were decoded at once, 3 when each was a ServerSentEvent object.
    assert collections[0] <= 1, f"{collections[0]} collections for one chunk of {count} events"
