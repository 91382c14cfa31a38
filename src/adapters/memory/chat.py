"""A scripted chat model."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass

from trainerbot.core.entities import ChatMessage
from trainerbot.core.errors import TrainerbotError
from trainerbot.ports import ChatModel

# A piece of a streamed answer: a word with the spaces before it (and the trailing spaces).
_PIECE = re.compile(r"\s*\S+|\s+$")


@dataclass(frozen=True)
class ChatCall:
    messages: tuple[ChatMessage, ...]
    model: str


class InMemoryChatModel(ChatModel):
    """Answers with ``reply(messages, model)``; by default it echoes the last message.

    ``fail_with`` makes every call raise that error (a service outage, an unknown model); with
    ``fail_after`` pieces, a stream raises it only after that many pieces (a connection lost
    mid-answer). ``stream`` yields the answer word by word (each word with the spaces before
    it), letting the event loop run between pieces. ``unwanted(messages, model)`` gives the
    answers marked "not this" (none by default). Every ``complete`` or ``stream`` call is
    recorded in ``calls``.
    """

    def __init__(
        self,
        reply: Callable[[Sequence[ChatMessage], str], str] | None = None,
        *,
        fail_with: TrainerbotError | None = None,
        fail_after: int | None = None,
        unwanted: Callable[[Sequence[ChatMessage], str], Iterable[str]] | None = None,
    ) -> None:
        self._reply = reply or (lambda messages, model: f"echo: {messages[-1].content}")
        self._unwanted = unwanted
        self.fail_with = fail_with
        self.fail_after = fail_after
        self.calls: list[ChatCall] = []

    async def complete(self, messages: Sequence[ChatMessage], *, model: str) -> str:
        self.calls.append(ChatCall(tuple(messages), model))
        if self.fail_with is not None:
            raise self.fail_with
        return self._reply(messages, model)

    async def stream(self, messages: Sequence[ChatMessage], *, model: str) -> AsyncIterator[str]:
        self.calls.append(ChatCall(tuple(messages), model))
        if self.fail_with is not None and not self.fail_after:
            raise self.fail_with
        for count, piece in enumerate(pieces(self._reply(messages, model)), start=1):
            yield piece
            await asyncio.sleep(0)
            if self.fail_with is not None and count == self.fail_after:
                raise self.fail_with

    async def unwanted(self, messages: Sequence[ChatMessage], *, model: str) -> frozenset[str]:
        return frozenset(self._unwanted(messages, model)) if self._unwanted else frozenset()


def pieces(text: str) -> list[str]:
    """``text`` cut before each word: the pieces joined give ``text`` back."""
    return _PIECE.findall(text)
