"""A scripted chat model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from trainerbot.core.entities import ChatMessage
from trainerbot.core.errors import TrainerbotError
from trainerbot.ports import ChatModel


@dataclass(frozen=True)
class ChatCall:
    messages: tuple[ChatMessage, ...]
    model: str


class InMemoryChatModel(ChatModel):
    """Answers with ``reply(messages, model)``; by default it echoes the last message.

    ``fail_with`` makes every call raise that error (a service outage, an unknown model).
    Every call is recorded in ``calls``.
    """

    def __init__(
        self,
        reply: Callable[[Sequence[ChatMessage], str], str] | None = None,
        *,
        fail_with: TrainerbotError | None = None,
    ) -> None:
        self._reply = reply or (lambda messages, model: f"echo: {messages[-1].content}")
        self.fail_with = fail_with
        self.calls: list[ChatCall] = []

    async def complete(self, messages: Sequence[ChatMessage], *, model: str) -> str:
        self.calls.append(ChatCall(tuple(messages), model))
        if self.fail_with is not None:
            raise self.fail_with
        return self._reply(messages, model)
