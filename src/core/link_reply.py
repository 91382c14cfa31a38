"""LinkReply: remember which bot message carried an answer, so replying to it can correct it."""

from __future__ import annotations

from dataclasses import dataclass

from trainerbot.ports import InteractionLog

from .entities import Interaction
from .errors import UnknownMessage


@dataclass(frozen=True)
class LinkReplyRequest:
    interaction_id: str
    message_id: str


class LinkReply:
    """Link a sent bot message to the interaction it answered.

    Rules: the interaction must exist (``UnknownMessage``); linking the same message twice is harmless.
    A driving adapter calls this after it sends each part of an answer.
    """

    def __init__(self, *, interactions: InteractionLog) -> None:
        self._interactions = interactions

    async def execute(self, request: LinkReplyRequest) -> Interaction:
        linked = await self._interactions.link_reply(request.interaction_id, request.message_id)
        if linked is None:
            raise UnknownMessage(f"I have no answer with id {request.interaction_id[:40]}.")
        return linked
