"""What people teach the bot: corrections of its answers, and feedback for the trainers."""

from __future__ import annotations

from ..record_correction import CorrectionRequest
from ..record_feedback import FeedbackRequest
from .base import Invocation, Reply, command
from .grammar import CommandSpec, Param


@command(
    CommandSpec(
        "correct",
        "Correct one of my answers: the message id and the right answer.",
        (
            Param("message_id", "id of my answer (or of your message)", required=True),
            Param("text", "the right answer", required=True, rest=True),
        ),
        reply_fills="message_id",
    )
)
async def correct(call: Invocation) -> Reply:
    result = await call.use_cases.record_correction.execute(
        CorrectionRequest(
            actor=call.actor, message_id=call.text("message_id") or "", text=call.text("text") or ""
        )
    )
    return Reply(
        f"Thanks — correction {result.correction.id} recorded; it will be used in training."
    )


@command(
    CommandSpec(
        "feedback",
        "Tell the trainers what you think of the bot.",
        (Param("text", "your feedback", required=True, rest=True),),
    )
)
async def feedback(call: Invocation) -> Reply:
    result = await call.use_cases.record_feedback.execute(
        FeedbackRequest(actor=call.actor, text=call.text("text") or "")
    )
    return Reply(f"Thanks — feedback {result.feedback.id} recorded.")
