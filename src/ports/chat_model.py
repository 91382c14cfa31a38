"""ChatModel: answers a conversation, whole or as it is written."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol, runtime_checkable

from trainerbot.core.entities import ChatMessage


@runtime_checkable
class ChatModel(Protocol):
    """Produces the assistant's next message for a conversation.

    ``model`` names which model answers: a provider model, a trained model id, or a local model.
    Failures are raised as ``trainerbot.core.errors`` types (``ServiceError``, ``UnknownModel``,
    ``CapabilityUnavailable``), never as vendor exceptions.

    Rules:
    - ``complete`` gives the whole answer; ``stream`` gives the same answer in pieces as it is
      written: the pieces joined are what ``complete`` gives for the same call (for a model that
      answers the same both times), and an error is raised where it happens — before any piece
      or between two. A consumer that stops early (``aclose``, cancellation) stops the
      generation. An engine that cannot stream yields ``complete``'s answer as one piece (the
      default below).
    - ``unwanted`` names the answers this model was taught *not* to give to the conversation's
      question (examples marked ``wanted=False``), as taught; by default none. The model only
      generates: withholding such an answer is the use case's rule (``core.unwanted``).
    """

    async def complete(self, messages: Sequence[ChatMessage], *, model: str) -> str: ...

    def stream(self, messages: Sequence[ChatMessage], *, model: str) -> AsyncIterator[str]:
        """The answer in pieces (text deltas); by default ``complete``'s answer in one piece."""
        return _whole(self, messages, model)

    async def unwanted(self, messages: Sequence[ChatMessage], *, model: str) -> frozenset[str]:
        """Answers marked "not this" for the conversation's question; by default none."""
        return frozenset()


async def _whole(
    chat: ChatModel, messages: Sequence[ChatMessage], model: str
) -> AsyncIterator[str]:
    answer = await chat.complete(messages, model=model)
    if answer:
        yield answer
