"""LinkReply: remember which bot messages carried an answer."""

from __future__ import annotations

import pytest

from trainerbot.adapters.memory import InMemoryInteractionLog
from trainerbot.core.entities import Interaction
from trainerbot.core.errors import UnknownMessage
from trainerbot.core.link_reply import LinkReply, LinkReplyRequest


@pytest.fixture
def sut(interactions: InMemoryInteractionLog) -> LinkReply:
    return LinkReply(interactions=interactions)


@pytest.fixture
async def answered(interactions: InMemoryInteractionLog) -> Interaction:
    interaction = Interaction(
        id="int-1",
        conversation_id="chan-1",
        author_id="u-member",
        message_id="m-user",
        prompt="What is 2+2?",
        reply="Five.",
        model="default-model",
    )
    await interactions.append(interaction)
    return interaction


async def test_links_a_sent_message_to_the_interaction_it_answered(
    sut: LinkReply, interactions: InMemoryInteractionLog, answered: Interaction
) -> None:
    linked = await sut.execute(LinkReplyRequest(interaction_id="int-1", message_id="m-bot-1"))

    assert linked.reply_message_ids == ("m-bot-1",)
    assert interactions.interactions == [linked]
    assert linked.prompt == answered.prompt
    assert linked.reply == answered.reply


async def test_a_linked_message_then_finds_the_interaction(
    sut: LinkReply, interactions: InMemoryInteractionLog, answered: Interaction
) -> None:
    await sut.execute(LinkReplyRequest(interaction_id="int-1", message_id="m-bot-1"))

    found = await interactions.find_by_message("m-bot-1")

    assert found is not None
    assert found.id == "int-1"


async def test_each_part_of_a_long_answer_is_linked_in_order(
    sut: LinkReply, interactions: InMemoryInteractionLog, answered: Interaction
) -> None:
    await sut.execute(LinkReplyRequest(interaction_id="int-1", message_id="m-bot-1"))
    await sut.execute(LinkReplyRequest(interaction_id="int-1", message_id="m-bot-2"))

    assert interactions.interactions[0].reply_message_ids == ("m-bot-1", "m-bot-2")


async def test_linking_the_same_message_twice_is_harmless(
    sut: LinkReply, interactions: InMemoryInteractionLog, answered: Interaction
) -> None:
    first = await sut.execute(LinkReplyRequest(interaction_id="int-1", message_id="m-bot-1"))
    second = await sut.execute(LinkReplyRequest(interaction_id="int-1", message_id="m-bot-1"))

    assert second == first
    assert interactions.interactions[0].reply_message_ids == ("m-bot-1",)


async def test_refuses_an_unknown_interaction_and_changes_nothing(
    sut: LinkReply, interactions: InMemoryInteractionLog, answered: Interaction, refuses
) -> None:
    with refuses(UnknownMessage) as caught:
        await sut.execute(LinkReplyRequest(interaction_id="int-missing", message_id="m-bot-1"))

    assert "int-missing" in str(caught.value)
    assert interactions.interactions == [answered]


async def test_refusing_an_unknown_interaction_shows_at_most_40_characters_of_its_id(
    sut: LinkReply, refuses
) -> None:
    with refuses(UnknownMessage) as caught:
        await sut.execute(LinkReplyRequest(interaction_id="i" * 500, message_id="m-bot-1"))

    assert "i" * 40 in str(caught.value)
    assert "i" * 41 not in str(caught.value)
