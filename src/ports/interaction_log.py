"""InteractionLog: every answered message, so answers can be corrected and conversations continued."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from trainerbot.core.entities import Interaction


@runtime_checkable
class InteractionLog(Protocol):
    """Append-only log of interactions. An appended interaction is durable when ``append`` returns."""

    async def append(self, interaction: Interaction) -> None: ...

    async def link_reply(self, interaction_id: str, message_id: str) -> Interaction | None:
        """Remember that the bot's message ``message_id`` carried this interaction's answer."""
        ...

    async def find_by_message(self, message_id: str) -> Interaction | None:
        """The interaction whose prompt or reply has this message id (or this interaction id)."""
        ...

    async def recent(self, conversation_id: str, limit: int) -> list[Interaction]:
        """The last ``limit`` interactions of a conversation, oldest first."""
        ...
