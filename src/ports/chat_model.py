"""ChatModel: answers a conversation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from trainerbot.core.entities import ChatMessage


@runtime_checkable
class ChatModel(Protocol):
    """Produces the assistant's next message for a conversation.

    ``model`` names which model answers: a provider model, a trained model id, or a local model.
    Failures are raised as ``trainerbot.core.errors`` types (``ServiceError``, ``UnknownModel``,
    ``CapabilityUnavailable``), never as vendor exceptions.
    """

    async def complete(self, messages: Sequence[ChatMessage], *, model: str) -> str: ...
