"""The corrections cog: ``!correct`` an answer, ``!feedback`` about the bot."""

from __future__ import annotations

from typing import Any

from discord.ext import commands

from trainerbot.core.record_correction import CorrectionRequest, RecordCorrection
from trainerbot.core.record_feedback import FeedbackRequest, RecordFeedback

from .commands import spec_command
from .messaging import actor_of, send_text

Context = commands.Context[Any]


class CorrectionsCog(commands.Cog, name="Corrections"):
    """What people teach the bot.

    Rules:
    - ``!correct <message_id> <text>`` names the answer by its message id (or the id of the
      message it answered); sent as a reply to the answer, ``!correct <text>`` is enough.
    - Anyone may correct and give feedback; trainers review both when they train.
    """

    def __init__(
        self,
        *,
        record_correction: RecordCorrection,
        record_feedback: RecordFeedback,
        trainer_role: str,
    ) -> None:
        self._correct = record_correction
        self._feedback = record_feedback
        self._role = trainer_role

    @spec_command("correct", reply_fills="message_id")
    async def correct(self, ctx: Context, message_id: str, text: str) -> None:
        result = await self._correct.execute(
            CorrectionRequest(
                actor=actor_of(ctx.author, self._role), message_id=message_id, text=text
            )
        )
        await send_text(
            ctx,
            f"Thanks — correction {result.correction.id} recorded; it will be used in training.",
        )

    @spec_command("feedback")
    async def feedback(self, ctx: Context, text: str) -> None:
        result = await self._feedback.execute(
            FeedbackRequest(actor=actor_of(ctx.author, self._role), text=text)
        )
        await send_text(ctx, f"Thanks — feedback {result.feedback.id} recorded.")
