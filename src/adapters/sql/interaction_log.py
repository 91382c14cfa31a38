"""The interaction log in SQL: one row per interaction, one row per message id that names it.

Behaves as the JSON Lines log does:

- ``append`` stores the interaction (an id already logged is replaced, keeping its place in its
  conversation) and makes its prompt message id and any reply message ids find it;
- ``link_reply`` adds a reply message id to the interaction's record and makes that id find it
  (linking an id twice links it once); an unknown interaction is None and links nothing;
- ``find_by_message`` looks the id up among the message ids (the latest link of an id wins),
  then among the interaction ids; an empty id finds nothing;
- ``recent`` gives the last ``limit`` interactions of a conversation, oldest first.

Each method is one transaction; a write is committed before it returns. Lookups use the
``(tenant, message_id)`` key, the ``(tenant, id)`` key and the ``(tenant, conversation_id, seq)``
index: none scans a table.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select

from trainerbot.adapters._records import interaction_from_record, interaction_to_record
from trainerbot.core.entities import Interaction
from trainerbot.ports import InteractionLog

from ._store import SqlStore, dump, load, load_all
from .schema import interaction_messages, interactions

_TABLE = "interactions"


class SqlInteractionLog(SqlStore, InteractionLog):
    """One tenant's interactions in the ``interactions`` and ``interaction_messages`` tables."""

    async def append(self, interaction: Interaction) -> None:
        record = dump(interaction_to_record(interaction))
        async with self._db.begin() as connection:
            await connection.execute(
                self._upsert(
                    interactions,
                    ["tenant", "id"],
                    {
                        "id": interaction.id,
                        "conversation_id": interaction.conversation_id,
                        "record": record,
                    },
                )
            )
            for message_id in dict.fromkeys(
                (interaction.message_id, *interaction.reply_message_ids)
            ):
                if message_id:  # console prompts have no message id: "" names nothing
                    await connection.execute(self._link(message_id, interaction.id))

    async def link_reply(self, interaction_id: str, message_id: str) -> Interaction | None:
        async with self._db.begin() as connection:
            text = (
                await connection.execute(
                    select(interactions.c.record)
                    .where(
                        interactions.c.tenant == self._tenant, interactions.c.id == interaction_id
                    )
                    .with_for_update()  # PostgreSQL: no concurrent link is lost (SQLite: IMMEDIATE)
                )
            ).scalar_one_or_none()
            interaction = None if text is None else load(interaction_from_record, text, _TABLE)
            if interaction is None:
                return None
            if message_id in interaction.reply_message_ids:
                return interaction  # already linked: nothing new to record
            linked = interaction.with_reply_message(message_id)
            await connection.execute(
                interactions.update()
                .where(interactions.c.tenant == self._tenant, interactions.c.id == interaction_id)
                .values(record=dump(interaction_to_record(linked)))
            )
            if message_id:
                await connection.execute(self._link(message_id, interaction_id))
            return linked

    async def find_by_message(self, message_id: str) -> Interaction | None:
        if not message_id:
            return None  # console prompts have no message id: "" names no interaction
        by_message = (
            select(interactions.c.record)
            .select_from(interaction_messages)
            .join(
                interactions,
                and_(
                    interactions.c.tenant == interaction_messages.c.tenant,
                    interactions.c.id == interaction_messages.c.interaction_id,
                ),
            )
            .where(
                interaction_messages.c.tenant == self._tenant,
                interaction_messages.c.message_id == message_id,
            )
        )
        by_id = select(interactions.c.record).where(
            interactions.c.tenant == self._tenant, interactions.c.id == message_id
        )
        async with self._db.connect() as connection:
            text = (await connection.execute(by_message)).scalar_one_or_none()
            if text is None:
                text = (await connection.execute(by_id)).scalar_one_or_none()
        return None if text is None else load(interaction_from_record, text, _TABLE)

    async def recent(self, conversation_id: str, limit: int) -> list[Interaction]:
        if limit <= 0:
            return []
        query = (
            select(interactions.c.record)
            .where(
                interactions.c.tenant == self._tenant,
                interactions.c.conversation_id == conversation_id,
            )
            .order_by(interactions.c.seq.desc())
            .limit(limit)
        )
        async with self._db.connect() as connection:
            texts = list((await connection.execute(query)).scalars())
        return load_all(interaction_from_record, reversed(texts), _TABLE)

    def _link(self, message_id: str, interaction_id: str) -> Any:
        """Make ``message_id`` name ``interaction_id`` (replacing what it named before)."""
        return self._upsert(
            interaction_messages,
            ["tenant", "message_id"],
            {"message_id": message_id, "interaction_id": interaction_id},
        )
