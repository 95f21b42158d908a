"""The API's endpoints, by group: each group a module, each endpoint defined once for both clients.

A newcomer finds ``batch()`` in ``batches.py``, ``transcription()`` in ``audio.py``.
The naming scheme: a noun gets or lists (``batch(id)``, ``batches()``), a verb
acts (``create_batch``, ``cancel_batch``, ``delete_conversation``).
"""

from __future__ import annotations

from .assistants import AssistantsEndpoints
from .audio import AudioEndpoints
from .batches import BatchesEndpoints
from .chat import ChatEndpoints
from .conversations import ConversationsEndpoints
from .files import FilesEndpoints
from .images import ImagesEndpoints
from .models import ModelsEndpoints
from .responses import ResponsesEndpoints
from .text import TextEndpoints
from .vector_stores import VectorStoresEndpoints

__all__ = ["AllEndpoints"]


class AllEndpoints(
    ChatEndpoints,
    ResponsesEndpoints,
    TextEndpoints,
    ModelsEndpoints,
    FilesEndpoints,
    ImagesEndpoints,
    AudioEndpoints,
    BatchesEndpoints,
    ConversationsEndpoints,
    VectorStoresEndpoints,
    AssistantsEndpoints,
):
    """Every endpoint group; both clients inherit it."""
