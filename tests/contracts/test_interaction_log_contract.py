"""The InteractionLog contract, run against the in-memory log,
the JSON Lines log and the SQL log (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from contract_support import Opener, interaction, same_instance
from sql_contract_support import implementations, opened

from trainerbot.adapters.memory import InMemoryInteractionLog
from trainerbot.adapters.sql import SqlInteractionLog
from trainerbot.adapters.storage import JsonlInteractionLog
from trainerbot.ports import InteractionLog

IMPLEMENTATIONS: dict[str, Callable[[Path], Opener[InteractionLog]]] = {
    "memory": lambda tmp: same_instance(InMemoryInteractionLog()),
    "jsonl": lambda tmp: lambda: JsonlInteractionLog(tmp / "records" / "interactions.jsonl"),
}


@pytest.fixture(params=implementations(IMPLEMENTATIONS))
async def open_log(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Opener[InteractionLog]]:
    async with opened(request, tmp_path, IMPLEMENTATIONS, SqlInteractionLog) as opener:
        yield opener


@pytest.fixture
def log(open_log: Opener[InteractionLog]) -> InteractionLog:
    return open_log()


def test_it_implements_the_port(log: InteractionLog) -> None:
    assert isinstance(log, InteractionLog)


async def test_an_interaction_is_found_by_its_prompt_message_id(log: InteractionLog) -> None:
    await log.append(interaction(1))
    await log.append(interaction(2))

    assert await log.find_by_message("m-2") == interaction(2)


async def test_an_interaction_is_found_by_its_own_id(log: InteractionLog) -> None:
    await log.append(interaction(1))

    assert await log.find_by_message("int-1") == interaction(1)


async def test_an_unknown_id_finds_nothing(log: InteractionLog) -> None:
    await log.append(interaction(1))

    assert await log.find_by_message("m-404") is None


async def test_an_empty_message_id_finds_nothing_not_even_a_console_prompt(
    log: InteractionLog,
) -> None:
    # Console prompts have no platform message id: "" must not name them.
    await log.append(interaction(1, message_id=""))

    assert await log.find_by_message("") is None


async def test_link_reply_returns_the_interaction_with_the_reply_linked(
    log: InteractionLog,
) -> None:
    await log.append(interaction(1))

    linked = await log.link_reply("int-1", "reply-a")

    assert linked == interaction(1, reply_message_ids=("reply-a",))
    assert await log.find_by_message("reply-a") == linked
    assert await log.find_by_message("m-1") == linked


async def test_every_reply_message_of_an_answer_finds_it(log: InteractionLog) -> None:
    await log.append(interaction(1))
    await log.link_reply("int-1", "reply-a")
    await log.link_reply("int-1", "reply-b")

    found = await log.find_by_message("reply-a")
    assert found is not None
    assert found.reply_message_ids == ("reply-a", "reply-b")
    assert await log.find_by_message("reply-b") == found


async def test_link_reply_to_an_unknown_interaction_is_none(log: InteractionLog) -> None:
    await log.append(interaction(1))

    assert await log.link_reply("int-404", "reply-a") is None
    assert await log.find_by_message("reply-a") is None


async def test_linking_the_same_reply_twice_links_it_once(log: InteractionLog) -> None:
    await log.append(interaction(1))

    await log.link_reply("int-1", "reply-a")
    again = await log.link_reply("int-1", "reply-a")

    assert again is not None
    assert again.reply_message_ids == ("reply-a",)


async def test_recent_gives_the_last_of_the_conversation_oldest_first(
    log: InteractionLog,
) -> None:
    for number in range(1, 6):
        await log.append(interaction(number, conversation="chan-1"))
        await log.append(interaction(100 + number, conversation="chan-2"))

    recent = await log.recent("chan-1", 3)

    assert [i.id for i in recent] == ["int-3", "int-4", "int-5"]


async def test_recent_with_a_limit_beyond_the_history_gives_all(log: InteractionLog) -> None:
    await log.append(interaction(1))
    await log.append(interaction(2))

    assert await log.recent("chan-1", 50) == [interaction(1), interaction(2)]


@pytest.mark.parametrize("limit", [0, -1])
async def test_recent_with_no_room_is_empty(log: InteractionLog, limit: int) -> None:
    await log.append(interaction(1))

    assert await log.recent("chan-1", limit) == []


async def test_recent_of_an_unknown_conversation_is_empty(log: InteractionLog) -> None:
    await log.append(interaction(1))

    assert await log.recent("chan-404", 10) == []


async def test_recent_gives_interactions_with_their_linked_replies(log: InteractionLog) -> None:
    await log.append(interaction(1))
    await log.link_reply("int-1", "reply-a")

    [only] = await log.recent("chan-1", 1)
    assert only.reply_message_ids == ("reply-a",)


async def test_what_append_and_link_reply_returned_from_is_durable(
    open_log: Opener[InteractionLog],
) -> None:
    log = open_log()
    await log.append(interaction(1))
    await log.append(interaction(2, conversation="chan-2"))
    await log.link_reply("int-1", "reply-a")

    reopened = open_log()

    assert await reopened.find_by_message("reply-a") == interaction(
        1, reply_message_ids=("reply-a",)
    )
    assert await reopened.recent("chan-2", 5) == [interaction(2, conversation="chan-2")]
