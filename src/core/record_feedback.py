"""RecordFeedback: remarks and 👍/👎 ratings about the bot."""

from __future__ import annotations

from dataclasses import dataclass

from trainerbot.ports import FeedbackStore, InteractionLog

from .entities import Actor, Feedback, Rating, new_id
from .errors import EmptyMessage, MessageTooLong, UnknownMessage
from .limits import DEFAULT_LIMITS, Limits
from .text import command


@dataclass(frozen=True)
class FeedbackRequest:
    actor: Actor
    text: str = ""
    rating: Rating | None = None
    message_id: str | None = None


@dataclass(frozen=True)
class FeedbackResult:
    feedback: Feedback


class RecordFeedback:
    """Record feedback.

    Rules:
    - Feedback needs text or a rating; text over ``max_feedback_chars`` is refused.
    - Feedback about one answer (a reaction, a reply) names its message id, which must be a logged
      interaction; the feedback is then stored with that interaction's id.
    - Stored durably before the result returns.
    """

    def __init__(
        self,
        *,
        feedback: FeedbackStore,
        interactions: InteractionLog,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self._feedback = feedback
        self._interactions = interactions
        self._limits = limits

    async def execute(self, request: FeedbackRequest) -> FeedbackResult:
        text = request.text.strip()
        if not text and request.rating is None:
            raise EmptyMessage(
                f"The feedback is empty: write what you think after {command('feedback')}."
            )
        if len(text) > self._limits.max_feedback_chars:
            raise MessageTooLong(
                f"That feedback is {len(text)} characters; the limit is "
                f"{self._limits.max_feedback_chars}."
            )
        interaction_id = None
        message_id = request.message_id.strip() if request.message_id is not None else None
        if message_id is not None:
            interaction = await self._interactions.find_by_message(message_id)
            if interaction is None:
                raise UnknownMessage()
            interaction_id = interaction.id
        feedback = Feedback(
            id=new_id("fb"),
            author_id=request.actor.id,
            text=text,
            rating=request.rating,
            interaction_id=interaction_id,
            message_id=message_id,
        )
        await self._feedback.add(feedback)
        return FeedbackResult(feedback)
