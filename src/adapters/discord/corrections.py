"""The corrections cog: ``!correct`` an answer, ``!feedback`` about the bot."""

from __future__ import annotations

from typing import Any

from discord.ext import commands

from trainerbot.core.record_correction import CorrectionRequest
from trainerbot.core.record_feedback import FeedbackRequest

from .commands import spec_command
from .messaging import send_text
from .tenancy import DiscordTenancy

Context = commands.Context[Any]


class CorrectionsCog(commands.Cog, name="Corrections"):
    """What people teach the bot.

    Rules:
    - ``!correct <message_id> <text>`` names the answer by its message id (or the id of the
      message it answered); sent as a reply to the answer, ``!correct <text>`` is enough.
    - Anyone may correct and give feedback; trainers review both when they train. An answer is
      named within the tenant it was given in: an id from another server is not found.
    """

    def __init__(self, *, tenancy: DiscordTenancy) -> None:
        self._tenancy = tenancy

    @spec_command("correct", reply_fills="message_id")
    async def correct(self, ctx: Context, message_id: str, text: str) -> None:
        scope, actor = await self._tenancy.here(ctx)
        result = await scope.use_cases.record_correction.execute(
            CorrectionRequest(actor=actor, message_id=message_id, text=text)
        )
        await send_text(
            ctx,
            f"Thanks — correction {result.correction.id} recorded; it will be used in training.",
        )

    @spec_command("feedback")
    async def feedback(self, ctx: Context, text: str) -> None:
        scope, actor = await self._tenancy.here(ctx)
        result = await scope.use_cases.record_feedback.execute(
            FeedbackRequest(actor=actor, text=text)
        )
        await send_text(ctx, f"Thanks — feedback {result.feedback.id} recorded.")
