"""RecordCorrection: a user fixes one of the bot's answers; the fix becomes training data."""

from __future__ import annotations

import pytest

from trainerbot.adapters.memory import InMemoryCorrectionStore, InMemoryInteractionLog
from trainerbot.core.entities import Actor, ChatMessage, Example, Interaction, Role
from trainerbot.core.errors import (
    CorrectionUnchanged,
    EmptyMessage,
    InvalidArgument,
    MessageTooLong,
    UnknownMessage,
)
from trainerbot.core.limits import Limits
from trainerbot.core.record_correction import CorrectionRequest, RecordCorrection

HISTORY = (ChatMessage(Role.USER, "Hi"), ChatMessage(Role.ASSISTANT, "Hello!"))


@pytest.fixture
def sut(
    interactions: InMemoryInteractionLog, corrections: InMemoryCorrectionStore
) -> RecordCorrection:
    return RecordCorrection(interactions=interactions, corrections=corrections)


@pytest.fixture
async def answered(interactions: InMemoryInteractionLog) -> Interaction:
    """The bot answered the trainer's message m-user with a wrong answer, sent as m-bot."""
    interaction = Interaction(
        id="int-1",
        conversation_id="chan-1",
        author_id="u-trainer",
        message_id="m-user",
        prompt="What is 2+2?",
        reply="Five.",
        model="fewshot:job-1",
        history=HISTORY,
        reply_message_ids=("m-bot",),
    )
    await interactions.append(interaction)
    return interaction


# --- what is recorded ------------------------------------------------------------------------


async def test_stores_the_prompt_conversation_wrong_answer_and_correction_together(
    sut: RecordCorrection,
    corrections: InMemoryCorrectionStore,
    answered: Interaction,
    member: Actor,
) -> None:
    result = await sut.execute(CorrectionRequest(actor=member, message_id="m-bot", text=" Four. "))

    assert corrections.corrections == [result.correction]
    stored = corrections.corrections[0]
    assert stored.id.startswith("cor-")
    assert stored.interaction_id == "int-1"
    assert stored.message_id == "m-bot"
    assert stored.author_id == member.id
    assert stored.prompt == "What is 2+2?"
    assert stored.wrong_answer == "Five."
    assert stored.corrected == "Four."
    assert stored.model == "fewshot:job-1"
    assert stored.history == HISTORY


async def test_the_correction_becomes_a_supervised_example_and_a_preference_pair(
    sut: RecordCorrection, answered: Interaction, member: Actor
) -> None:
    result = await sut.execute(CorrectionRequest(actor=member, message_id="m-bot", text="Four."))

    # "What is 2+2?" stands on its own: the greeting before it stays out of the example.
    assert result.example == Example(
        prompt=(ChatMessage(Role.USER, "What is 2+2?"),),
        completion="Four.",
        rejected="Five.",
        origin=f"correction {result.correction.id}",
    )
    assert result.example.is_preference
    assert result.example.wanted is True


@pytest.mark.parametrize("message_id", ["m-bot", "m-user", "int-1", "  m-bot  "])
async def test_the_answer_may_be_named_by_the_bot_message_the_user_message_or_the_interaction_id(
    sut: RecordCorrection,
    corrections: InMemoryCorrectionStore,
    answered: Interaction,
    member: Actor,
    message_id: str,
) -> None:
    await sut.execute(CorrectionRequest(actor=member, message_id=message_id, text="Four."))

    assert [c.interaction_id for c in corrections.corrections] == ["int-1"]
    assert corrections.corrections[0].message_id == message_id.strip()


async def test_anyone_may_correct_any_answer(
    sut: RecordCorrection,
    corrections: InMemoryCorrectionStore,
    answered: Interaction,
) -> None:
    stranger = Actor(id="u-stranger", name="Sam", can_train=False)

    await sut.execute(CorrectionRequest(actor=stranger, message_id="m-bot", text="Four."))

    assert [c.author_id for c in corrections.corrections] == ["u-stranger"]


async def test_every_correction_of_the_same_answer_is_kept(
    sut: RecordCorrection,
    corrections: InMemoryCorrectionStore,
    answered: Interaction,
    member: Actor,
    trainer: Actor,
) -> None:
    await sut.execute(CorrectionRequest(actor=member, message_id="m-bot", text="Four."))
    await sut.execute(CorrectionRequest(actor=trainer, message_id="m-bot", text="It is 4."))

    assert [c.corrected for c in corrections.corrections] == ["Four.", "It is 4."]
    assert len({c.id for c in corrections.corrections}) == 2


async def test_a_correction_of_exactly_the_limit_is_stored(
    interactions: InMemoryInteractionLog,
    corrections: InMemoryCorrectionStore,
    answered: Interaction,
    member: Actor,
) -> None:
    sut = RecordCorrection(
        interactions=interactions, corrections=corrections, limits=Limits(max_correction_chars=10)
    )

    await sut.execute(CorrectionRequest(actor=member, message_id="m-bot", text="x" * 10))

    assert [c.corrected for c in corrections.corrections] == ["x" * 10]


async def test_a_message_id_of_exactly_64_characters_is_accepted(
    sut: RecordCorrection,
    interactions: InMemoryInteractionLog,
    corrections: InMemoryCorrectionStore,
    member: Actor,
) -> None:
    long_id = "9" * 64
    await interactions.append(
        Interaction(
            id="int-2",
            conversation_id="chan-1",
            author_id="u-member",
            message_id=long_id,
            prompt="q",
            reply="a",
            model="m",
        )
    )

    await sut.execute(CorrectionRequest(actor=member, message_id=long_id, text="b"))

    assert [c.interaction_id for c in corrections.corrections] == ["int-2"]


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message_id",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("m bot", id="two-tokens"),
        pytest.param("m-\tbot", id="tab"),
        pytest.param("9" * 65, id="over-64-chars"),
    ],
)
async def test_refuses_a_message_id_that_is_not_one_short_token_and_stores_nothing(
    sut: RecordCorrection,
    corrections: InMemoryCorrectionStore,
    answered: Interaction,
    member: Actor,
    refuses,
    message_id: str,
) -> None:
    with refuses(InvalidArgument):
        await sut.execute(CorrectionRequest(actor=member, message_id=message_id, text="Four."))

    assert corrections.corrections == []


async def test_refuses_an_id_that_names_no_logged_answer_and_stores_nothing(
    sut: RecordCorrection,
    corrections: InMemoryCorrectionStore,
    answered: Interaction,
    member: Actor,
    refuses,
) -> None:
    with refuses(UnknownMessage) as caught:
        await sut.execute(CorrectionRequest(actor=member, message_id="m-unknown", text="Four."))

    assert "m-unknown" in str(caught.value)
    assert corrections.corrections == []


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
async def test_refuses_an_empty_correction_and_stores_nothing(
    sut: RecordCorrection,
    corrections: InMemoryCorrectionStore,
    answered: Interaction,
    member: Actor,
    refuses,
    text: str,
) -> None:
    with refuses(EmptyMessage):
        await sut.execute(CorrectionRequest(actor=member, message_id="m-bot", text=text))

    assert corrections.corrections == []


async def test_refuses_a_correction_over_the_limit_and_stores_nothing(
    interactions: InMemoryInteractionLog,
    corrections: InMemoryCorrectionStore,
    answered: Interaction,
    member: Actor,
    refuses,
) -> None:
    sut = RecordCorrection(
        interactions=interactions, corrections=corrections, limits=Limits(max_correction_chars=10)
    )

    with refuses(MessageTooLong) as caught:
        await sut.execute(CorrectionRequest(actor=member, message_id="m-bot", text="x" * 11))

    assert "11" in str(caught.value)
    assert "10" in str(caught.value)
    assert corrections.corrections == []


@pytest.mark.parametrize("text", ["Five.", "  Five.  ", "Five.\n"])
async def test_refuses_a_correction_that_is_the_same_as_the_answer_and_stores_nothing(
    sut: RecordCorrection,
    corrections: InMemoryCorrectionStore,
    answered: Interaction,
    member: Actor,
    refuses,
    text: str,
) -> None:
    with refuses(CorrectionUnchanged):
        await sut.execute(CorrectionRequest(actor=member, message_id="m-bot", text=text))

    assert corrections.corrections == []


async def test_a_correction_differing_from_the_answer_only_in_spacing_is_unchanged(
    interactions: InMemoryInteractionLog,
    corrections: InMemoryCorrectionStore,
    member: Actor,
    refuses,
) -> None:
    await interactions.append(
        Interaction(
            id="int-3",
            conversation_id="chan-1",
            author_id="u-member",
            message_id="m-3",
            prompt="Say it",
            reply="It  is\nfour.",
            model="m",
        )
    )
    sut = RecordCorrection(interactions=interactions, corrections=corrections)

    with refuses(CorrectionUnchanged):
        await sut.execute(CorrectionRequest(actor=member, message_id="m-3", text="It is four."))

    assert corrections.corrections == []
