"""The shapes of the API's main answers, as TypedDicts, so that ``result.body["choices"]`` is typed.

Bodies stay plain dicts (no model layer, nothing is converted at run time): these
classes only tell a type checker which keys a body has and what their values are.
The clients' typed signatures use them (``client.create_chat_completion(...)`` is an
``APIResult[ChatCompletion]``, its stream a ``Stream[ChatCompletionChunk]``); use them
in your own annotations too. Nothing in the package imports this module at run time.

Each shape follows the API reference (OpenAI's OpenAPI document): a key the reference
marks required is required here, a key it may leave out is not (read those with
``.get()``). A value that may be ``null`` is ``Optional``. Enumerations are plain
``str``: OpenAI-compatible servers answer in the same shapes but do not always keep
to the same values. The event types of the Responses, images and transcription streams
are loose: one dict type per stream, with the keys its events carry (``type`` in all of
them, the rest depending on the type: ``event.get("delta")``).
"""

from __future__ import annotations

import os
from typing import IO, Any, Dict, List, Mapping, Optional, Sequence, Tuple, TypedDict, Union

__all__ = [
    "Batch",
    "BatchList",
    "BatchRequestCounts",
    "ChatCompletion",
    "ChatCompletionChoice",
    "ChatCompletionChunk",
    "ChatCompletionChunkChoice",
    "ChatCompletionDelta",
    "ChatCompletionMessage",
    "ChatCompletionToolCall",
    "ChatCompletionToolCallDelta",
    "ChatMessages",
    "Completion",
    "CompletionChoice",
    "CompletionUsage",
    "Deleted",
    "Embedding",
    "EmbeddingList",
    "FileInput",
    "FileList",
    "FileObject",
    "FunctionCall",
    "Image",
    "ImageStreamEvent",
    "ImagesResponse",
    "Model",
    "ModelList",
    "Moderation",
    "ModerationInput",
    "ModerationResponse",
    "Response",
    "ResponseError",
    "ResponseInput",
    "ResponseOutputItem",
    "ResponseStreamEvent",
    "ResponseUsage",
    "TextInput",
    "TranscriptionStreamEvent",
]

# -- what the endpoints take -------------------------------------------------------------------

#: Chat messages: ``[{"role": "user", "content": "Hi"}]`` (a list or tuple of dicts).
ChatMessages = Sequence[Mapping[str, Any]]
#: A file to upload: a path, bytes, a binary file object (``open(path, "rb")``), or
#: ``(filename, content)`` / ``(filename, content, content_type)``.
FileInput = Union[
    str,
    os.PathLike[str],
    bytes,
    bytearray,
    memoryview,
    IO[bytes],
    Tuple[str, Any],
    Tuple[str, Any, Optional[str]],
]
#: Text to embed or complete: a string, strings, or token ids.
TextInput = Union[str, Sequence[str], Sequence[int], Sequence[Sequence[int]]]
#: What to moderate: a string, strings, or text and image parts.
ModerationInput = Union[str, Sequence[str], Sequence[Mapping[str, Any]]]
#: The Responses API's input: a string, or a list of input items (messages, tool outputs...).
ResponseInput = Union[str, Sequence[Mapping[str, Any]]]

# -- chat completions ----------------------------------------------------------------------------


class _CompletionUsage(TypedDict):
    completion_tokens: int
    prompt_tokens: int
    total_tokens: int


class CompletionUsage(_CompletionUsage, total=False):
    """Token counts of a chat or text completion."""

    completion_tokens_details: Dict[str, int]
    prompt_tokens_details: Dict[str, int]


class FunctionCall(TypedDict):
    name: str
    arguments: str  #: JSON text, as the model wrote it (check it before use)


class ChatCompletionToolCall(TypedDict):
    id: str
    type: str  #: "function" (or "custom")
    function: FunctionCall


class _ChatCompletionMessage(TypedDict):
    role: str  #: "assistant"
    content: Optional[str]
    refusal: Optional[str]


class ChatCompletionMessage(_ChatCompletionMessage, total=False):
    """The assistant's message in a chat completion."""

    tool_calls: List[ChatCompletionToolCall]
    annotations: List[Dict[str, Any]]
    audio: Optional[Dict[str, Any]]
    function_call: FunctionCall


class ChatCompletionChoice(TypedDict):
    index: int
    message: ChatCompletionMessage
    #: "stop", "length", "tool_calls", "content_filter" or "function_call".
    finish_reason: str
    logprobs: Optional[Dict[str, Any]]


class _ChatCompletion(TypedDict):
    id: str
    object: str  #: "chat.completion"
    created: int
    model: str
    choices: List[ChatCompletionChoice]


class ChatCompletion(_ChatCompletion, total=False):
    """The body of ``create_chat_completion`` (and ``chat``): ``body["choices"][0]["message"]``."""

    usage: CompletionUsage
    system_fingerprint: str
    service_tier: str
    metadata: Dict[str, str]


class _FunctionCallDelta(TypedDict, total=False):
    name: str
    arguments: str


class _ChatCompletionToolCallDelta(TypedDict):
    index: int


class ChatCompletionToolCallDelta(_ChatCompletionToolCallDelta, total=False):
    """A piece of a tool call; pieces with the same ``index`` add up to one call."""

    id: str
    type: str
    function: _FunctionCallDelta


class ChatCompletionDelta(TypedDict, total=False):
    """What one chunk adds to the message (every key may be missing: ``delta.get("content")``)."""

    role: str
    content: Optional[str]
    refusal: Optional[str]
    tool_calls: List[ChatCompletionToolCallDelta]
    function_call: _FunctionCallDelta


class _ChatCompletionChunkChoice(TypedDict):
    index: int
    delta: ChatCompletionDelta
    finish_reason: Optional[str]


class ChatCompletionChunkChoice(_ChatCompletionChunkChoice, total=False):
    logprobs: Optional[Dict[str, Any]]


class _ChatCompletionChunk(TypedDict):
    id: str
    object: str  #: "chat.completion.chunk"
    created: int
    model: str
    #: Empty in the last chunk when ``stream_options={"include_usage": True}``.
    choices: List[ChatCompletionChunkChoice]


class ChatCompletionChunk(_ChatCompletionChunk, total=False):
    """One event of a streamed chat completion."""

    usage: Optional[CompletionUsage]
    system_fingerprint: str
    service_tier: str
    obfuscation: str


# -- legacy completions, embeddings, moderations ------------------------------------------------


class CompletionChoice(TypedDict):
    index: int
    text: str
    finish_reason: Optional[str]  #: None in streamed chunks until the last
    logprobs: Optional[Dict[str, Any]]


class _Completion(TypedDict):
    id: str
    object: str  #: "text_completion"
    created: int
    model: str
    choices: List[CompletionChoice]


class Completion(_Completion, total=False):
    """The body of ``completion``, and each event of its stream (they share the shape)."""

    usage: CompletionUsage
    system_fingerprint: str


class Embedding(TypedDict):
    object: str  #: "embedding"
    index: int
    #: The vector (a base64 string instead when ``encoding_format="base64"``).
    embedding: List[float]


class _EmbeddingUsage(TypedDict):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(TypedDict):
    """The body of ``embedding``: ``body["data"][0]["embedding"]``."""

    object: str  #: "list"
    data: List[Embedding]
    model: str
    usage: _EmbeddingUsage


class Moderation(TypedDict):
    """One input's verdict: category names ("hate", "self-harm/intent"...) to flags and scores."""

    flagged: bool
    categories: Dict[str, Optional[bool]]
    category_scores: Dict[str, float]
    category_applied_input_types: Dict[str, List[str]]


class ModerationResponse(TypedDict):
    """The body of ``moderation``: one result per input."""

    id: str
    model: str
    results: List[Moderation]


# -- the Responses API -------------------------------------------------------------------------------


class _ResponseUsage(TypedDict):
    input_tokens: int
    output_tokens: int
    total_tokens: int


class ResponseUsage(_ResponseUsage, total=False):
    input_tokens_details: Dict[str, int]
    output_tokens_details: Dict[str, int]


class ResponseError(TypedDict):
    code: str
    message: str


class _ResponseOutputItem(TypedDict):
    type: str  #: "message", "function_call", "reasoning", "web_search_call"...


class ResponseOutputItem(_ResponseOutputItem, total=False):
    """An item of ``output`` (loose: the keys of the common item types; which are present depends
    on ``type``). A message has ``role`` and ``content`` (parts with ``type`` "output_text" and
    ``text``); a function call has ``call_id``, ``name`` and ``arguments``."""

    id: str
    status: str
    role: str
    content: List[Dict[str, Any]]
    call_id: str
    name: str
    arguments: str
    summary: List[Dict[str, Any]]


class _Response(TypedDict):
    id: str
    object: str  #: "response"
    created_at: float
    model: str
    output: List[ResponseOutputItem]
    error: Optional[ResponseError]
    incomplete_details: Optional[Dict[str, Any]]
    instructions: Union[str, List[Dict[str, Any]], None]
    parallel_tool_calls: bool


class Response(_Response, total=False):
    """The Responses API's response object: the body of ``create_response``, ``response(id)``...

    (Not to be confused with ``openai_bindings.Response``, the HTTP response a transport returns.)
    The text is in the "message" items of ``output``; a Stream's ``text`` or a session's reply
    adds it up for you.
    """

    status: str  #: "completed", "failed", "in_progress", "cancelled", "queued" or "incomplete"
    usage: ResponseUsage
    previous_response_id: Optional[str]
    conversation: Optional[Dict[str, str]]
    metadata: Optional[Dict[str, str]]
    temperature: Optional[float]
    top_p: Optional[float]
    max_output_tokens: Optional[int]
    tools: List[Dict[str, Any]]
    tool_choice: Any
    text: Dict[str, Any]
    reasoning: Optional[Dict[str, Any]]
    background: Optional[bool]
    service_tier: str
    truncation: Optional[str]
    completed_at: Optional[float]
    user: str


class _ResponseStreamEvent(TypedDict):
    type: str  #: "response.output_text.delta", "response.completed", "error"...


class ResponseStreamEvent(_ResponseStreamEvent, total=False):
    """One event of a streamed response (loose: which keys it has depends on ``type``).

    ``response.output_text.delta`` has ``delta``; ``response.completed`` has ``response``;
    ``response.output_item.added`` / ``.done`` have ``item``.
    """

    sequence_number: int
    response: Response
    item: ResponseOutputItem
    item_id: str
    output_index: int
    content_index: int
    delta: str
    text: str
    arguments: str
    part: Dict[str, Any]
    logprobs: List[Dict[str, Any]]


# -- models, files, batches, images, transcriptions ---------------------------------------------------


class _Model(TypedDict):
    id: str
    object: str  #: "model"
    created: int
    owned_by: str


class Model(_Model, total=False):
    """The body of ``model(id)``; an item of ``models()``."""

    shutdown_date: Optional[str]


class ModelList(TypedDict):
    """The body of ``models()``: ``[m["id"] for m in body["data"]]``."""

    object: str  #: "list"
    data: List[Model]


class Deleted(TypedDict):
    """The body of ``delete_file``, ``delete_model``, ``delete_vector_store``..."""

    id: str
    object: str
    deleted: bool


class _FileObject(TypedDict):
    id: str
    object: str  #: "file"
    bytes: int
    created_at: int
    filename: str
    purpose: str  #: "assistants", "batch", "batch_output", "fine-tune", "vision", "user_data"...
    status: str  #: "uploaded", "processed" or "error" (deprecated)


class FileObject(_FileObject, total=False):
    """The body of ``file(id)`` and ``upload_file``; an item of ``files()``."""

    expires_at: Optional[int]
    status_details: Optional[str]


class _FileList(TypedDict):
    object: str  #: "list"
    data: List[FileObject]
    has_more: bool


class FileList(_FileList, total=False):
    """The body of ``files()`` (a page: ``client.paginate(client.files)`` walks them all)."""

    first_id: Optional[str]
    last_id: Optional[str]


class BatchRequestCounts(TypedDict):
    total: int
    completed: int
    failed: int


class _Batch(TypedDict):
    id: str
    object: str  #: "batch"
    endpoint: str
    input_file_id: str
    completion_window: str
    #: "validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling",
    #: "cancelled".
    status: str
    created_at: int


class Batch(_Batch, total=False):
    """The body of ``create_batch``, ``batch(id)`` and ``cancel_batch``."""

    output_file_id: Optional[str]
    error_file_id: Optional[str]
    errors: Optional[Dict[str, Any]]
    request_counts: BatchRequestCounts
    metadata: Optional[Dict[str, str]]
    model: str
    usage: Dict[str, Any]
    in_progress_at: Optional[int]
    finalizing_at: Optional[int]
    completed_at: Optional[int]
    failed_at: Optional[int]
    expired_at: Optional[int]
    expires_at: Optional[int]
    cancelling_at: Optional[int]
    cancelled_at: Optional[int]


class _BatchList(TypedDict):
    object: str  #: "list"
    data: List[Batch]
    has_more: bool


class BatchList(_BatchList, total=False):
    """The body of ``batches()``."""

    first_id: Optional[str]
    last_id: Optional[str]


class Image(TypedDict, total=False):
    """One generated image: ``b64_json`` (gpt-image models, or ``response_format="b64_json"``) or ``url``."""

    b64_json: str
    url: str
    revised_prompt: str


class _ImagesResponse(TypedDict):
    created: int


class ImagesResponse(_ImagesResponse, total=False):
    """The body of ``image_generation``, ``image_edit`` and ``image_variation``."""

    data: List[Image]
    usage: Dict[str, Any]
    background: str
    output_format: str
    quality: str
    size: str


class _ImageStreamEvent(TypedDict):
    type: str  #: "image_generation.partial_image", "image_generation.completed", "image_edit...."


class ImageStreamEvent(_ImageStreamEvent, total=False):
    """One event of a streamed image generation or edit (loose: keys depend on ``type``)."""

    b64_json: str
    partial_image_index: int
    created_at: int
    size: str
    quality: str
    background: str
    output_format: str
    usage: Dict[str, Any]


class _TranscriptionStreamEvent(TypedDict):
    type: str  #: "transcript.text.delta", "transcript.text.done", "transcript.text.segment"


class TranscriptionStreamEvent(_TranscriptionStreamEvent, total=False):
    """One event of a streamed transcription: ``delta`` pieces, then the whole ``text``."""

    delta: str
    text: str
    logprobs: List[Dict[str, Any]]
    usage: Dict[str, Any]
    segment_id: str
