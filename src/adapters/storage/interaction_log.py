"""The interaction log as a JSON Lines file (``records/interactions.jsonl``).

Two kinds of records share the file: the interaction itself, and a ``reply_link`` written when the
bot's answer message is known. Loaded once into an index by interaction id, by message id and by
conversation, so finding an answer to correct or the context of a conversation never reads the
file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trainerbot.core.entities import Interaction
from trainerbot.ports import InteractionLog

from .._records import (
    INTERACTION,
    REPLY_LINK,
    RecordError,
    interaction_from_record,
    interaction_to_record,
    reply_link_from_record,
    reply_link_record,
)
from ._jsonl_store import JsonlStore


@dataclass
class _Index:
    by_id: dict[str, Interaction] = field(default_factory=dict)
    # Platform message id (the prompt's or a reply's) -> interaction id.
    by_message: dict[str, str] = field(default_factory=dict)
    # Conversation id -> interaction ids, in the order they were logged.
    by_conversation: dict[str, list[str]] = field(default_factory=dict)

    def put(self, interaction: Interaction) -> None:
        known = interaction.id in self.by_id
        self.by_id[interaction.id] = interaction
        for message_id in (interaction.message_id, *interaction.reply_message_ids):
            # Empty ids (console prompts) are not ids: never let "" find an interaction.
            if message_id:
                self.by_message[message_id] = interaction.id
        if not known:
            self.by_conversation.setdefault(interaction.conversation_id, []).append(interaction.id)

    def link(self, interaction_id: str, message_id: str) -> Interaction:
        interaction = self.by_id.get(interaction_id)
        if interaction is None:
            raise RecordError(f"a reply link names an unknown interaction {interaction_id!r}")
        linked = interaction.with_reply_message(message_id)
        self.by_id[interaction_id] = linked
        if message_id:
            self.by_message[message_id] = interaction_id
        return linked


class JsonlInteractionLog(JsonlStore[_Index], InteractionLog):
    """Every answered message, appended to one JSON Lines file and indexed in memory."""

    def _new_state(self) -> _Index:
        return _Index()

    def _apply(self, state: _Index, record: Mapping[str, Any]) -> None:
        kind = record.get("type")
        if kind == INTERACTION:
            state.put(interaction_from_record(record))
        elif kind == REPLY_LINK:
            state.link(*reply_link_from_record(record))
        else:
            raise RecordError(f"unexpected record type {kind!r}")

    async def append(self, interaction: Interaction) -> None:
        await self._append(interaction_to_record(interaction))

    async def link_reply(self, interaction_id: str, message_id: str) -> Interaction | None:
        async with self._write_lock:
            state = await self._loaded()
            interaction = state.by_id.get(interaction_id)
            if interaction is None:
                return None
            if message_id in interaction.reply_message_ids:
                return interaction  # already linked: nothing new to record
            await self._write(reply_link_record(interaction_id, message_id))
            return state.link(interaction_id, message_id)

    async def find_by_message(self, message_id: str) -> Interaction | None:
        state = await self._loaded()
        interaction_id = state.by_message.get(message_id) if message_id else None
        if interaction_id is None:
            interaction_id = message_id
        return state.by_id.get(interaction_id)

    async def recent(self, conversation_id: str, limit: int) -> list[Interaction]:
        if limit <= 0:
            return []
        state = await self._loaded()
        ids = state.by_conversation.get(conversation_id, [])[-limit:]
        return [state.by_id[interaction_id] for interaction_id in ids]
