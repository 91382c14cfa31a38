"""RecordFeedback: remarks and ratings, optionally about one answer."""

from __future__ import annotations

import pytest

from trainerbot.adapters.memory import InMemoryFeedbackStore, InMemoryInteractionLog
from trainerbot.core.entities import Actor, Feedback, Interaction, Rating
from trainerbot.core.errors import EmptyMessage, MessageTooLong, UnknownMessage
from trainerbot.core.limits import Limits
from trainerbot.core.record_feedback import FeedbackRequest, RecordFeedback


@pytest.fixture
def sut(feedback: InMemoryFeedbackStore, interactions: InMemoryInteractionLog) -> RecordFeedback:
    return RecordFeedback(feedback=feedback, interactions=interactions)


@pytest.fixture
async def answered(interactions: InMemoryInteractionLog) -> Interaction:
    interaction = Interaction(
        id="int-1",
        conversation_id="chan-1",
        author_id="u-member",
        message_id="m-user",
        prompt="What is 2+2?",
        reply="Four.",
        model="default-model",
        reply_message_ids=("m-bot",),
    )
    await interactions.append(interaction)
    return interaction


def without_time(feedback: Feedback) -> tuple[object, ...]:
    return (
        feedback.author_id,
        feedback.text,
        feedback.rating,
        feedback.interaction_id,
        feedback.message_id,
    )


async def test_stores_a_remark_from_any_member(
    sut: RecordFeedback, feedback: InMemoryFeedbackStore, member: Actor
) -> None:
    result = await sut.execute(FeedbackRequest(actor=member, text="  Speak slower, please.  "))

    assert feedback.feedback == [result.feedback]
    assert result.feedback.id.startswith("fb-")
    assert without_time(result.feedback) == (member.id, "Speak slower, please.", None, None, None)


@pytest.mark.parametrize("rating", [Rating.UP, Rating.DOWN])
async def test_a_rating_alone_is_feedback(
    sut: RecordFeedback, feedback: InMemoryFeedbackStore, member: Actor, rating: Rating
) -> None:
    await sut.execute(FeedbackRequest(actor=member, rating=rating))

    assert [without_time(f) for f in feedback.feedback] == [(member.id, "", rating, None, None)]


async def test_feedback_about_an_answer_is_stored_with_that_interaction(
    sut: RecordFeedback, feedback: InMemoryFeedbackStore, answered: Interaction, member: Actor
) -> None:
    await sut.execute(
        FeedbackRequest(actor=member, text="Wrong!", rating=Rating.DOWN, message_id="m-bot")
    )

    assert [without_time(f) for f in feedback.feedback] == [
        (member.id, "Wrong!", Rating.DOWN, "int-1", "m-bot")
    ]


async def test_feedback_may_name_the_answer_by_the_user_message_it_answered(
    sut: RecordFeedback, feedback: InMemoryFeedbackStore, answered: Interaction, member: Actor
) -> None:
    await sut.execute(FeedbackRequest(actor=member, rating=Rating.UP, message_id="m-user"))

    assert [f.interaction_id for f in feedback.feedback] == ["int-1"]


async def test_feedback_of_exactly_the_limit_is_stored(
    feedback: InMemoryFeedbackStore, interactions: InMemoryInteractionLog, member: Actor
) -> None:
    sut = RecordFeedback(
        feedback=feedback, interactions=interactions, limits=Limits(max_feedback_chars=10)
    )

    await sut.execute(FeedbackRequest(actor=member, text="x" * 10))

    assert [f.text for f in feedback.feedback] == ["x" * 10]


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n"])
async def test_refuses_feedback_without_text_or_rating_and_stores_nothing(
    sut: RecordFeedback, feedback: InMemoryFeedbackStore, member: Actor, refuses, text: str
) -> None:
    with refuses(EmptyMessage):
        await sut.execute(FeedbackRequest(actor=member, text=text))

    assert feedback.feedback == []


@pytest.mark.parametrize("rating", [None, Rating.UP])
async def test_refuses_text_over_the_limit_and_stores_nothing(
    feedback: InMemoryFeedbackStore,
    interactions: InMemoryInteractionLog,
    member: Actor,
    refuses,
    rating: Rating | None,
) -> None:
    sut = RecordFeedback(
        feedback=feedback, interactions=interactions, limits=Limits(max_feedback_chars=10)
    )

    with refuses(MessageTooLong) as caught:
        await sut.execute(FeedbackRequest(actor=member, text="x" * 11, rating=rating))

    assert "11" in str(caught.value)
    assert "10" in str(caught.value)
    assert feedback.feedback == []


async def test_refuses_feedback_about_an_unknown_answer_and_stores_nothing(
    sut: RecordFeedback,
    feedback: InMemoryFeedbackStore,
    answered: Interaction,
    member: Actor,
    refuses,
) -> None:
    with refuses(UnknownMessage):
        await sut.execute(FeedbackRequest(actor=member, text="Wrong!", message_id="m-unknown"))

    assert feedback.feedback == []
