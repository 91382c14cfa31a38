"""Commands that read their arguments the way the console does.

Every command of ``trainerbot.core.commands.COMMANDS`` is a discord.py hybrid command, so it
works with the text prefix (``!train data_dir=reviews``) and as a slash command. The two forms
fill the same callback parameters:

- typed with the prefix, the rest of the message is read by trainerbot's own grammar
  (``parse_command``): positional in the original bot's order or ``key=value``, quoted values,
  code blocks, a last parameter that takes the rest of the line. discord.py's own argument
  parsing knows none of these, so ``SpecCommand`` replaces it for the prefix form;
- as a slash command, Discord sends one option per parameter, each described from the spec.

A file attached to the message fills an ``attachment`` parameter, when the command has one.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from discord import app_commands
from discord.ext import commands

from trainerbot.core.commands import COMMANDS, CommandSpec, parse_command
from trainerbot.core.errors import PermissionDenied, TrainerbotError

ATTACHMENT = "attachment"
DESCRIPTION_LIMIT = 100  # Discord's limit for command and option descriptions

Callback = Callable[..., Coroutine[Any, Any, None]]


class CommandFailed(commands.CommandError):
    """A trainerbot error met before the command's body ran (its arguments, its permission).

    discord.py hands only ``CommandError`` to the error handler; this carries the domain error
    there, whose message is safe to show."""

    def __init__(self, error: TrainerbotError) -> None:
        super().__init__(str(error))
        self.error = error


class SpecCommand(commands.HybridCommand[Any, ..., None]):
    """A hybrid command described by a ``CommandSpec``: its prefix form parses with the core
    grammar, and a trainer-only command refuses anyone the bot does not count as a trainer in
    the tenant it is given in (``await bot.is_trainer(ctx)``) before its body runs, so nothing,
    not even an attachment, is downloaded for them. The use cases check the actor again: this
    is the early, cheap no."""

    def __init__(
        self, func: Callback, /, *, spec: CommandSpec, reply_fills: str | None = None
    ) -> None:
        super().__init__(func, name=spec.name, description=_short(spec.summary))
        self.spec = spec
        self.reply_fills = reply_fills
        self.help = spec.summary
        # Arguments are read from the whole rest of the message, by parse_command.
        self.ignore_extra = True

    async def _parse_arguments(self, ctx: commands.Context[Any]) -> None:
        if ctx.interaction is not None:
            await super()._parse_arguments(ctx)
            return
        ctx.args = [ctx] if self.cog is None else [self.cog, ctx]
        raw = ctx.view.read_rest()
        reference = ctx.message.reference
        if self.reply_fills and reference is not None and reference.message_id is not None:
            # Sent as a reply: the replied-to message fills that parameter.
            raw = f"{self.reply_fills}={reference.message_id} {raw}"
        try:
            parsed = parse_command(self.spec.name, raw, ctx.clean_prefix)
        except TrainerbotError as error:
            raise CommandFailed(error) from error
        ctx.kwargs = dict(parsed.args)
        if ATTACHMENT in self.clean_params and ctx.message.attachments:
            ctx.kwargs[ATTACHMENT] = ctx.message.attachments[0]

    async def can_run(self, ctx: commands.Context[Any], /) -> bool:
        allowed = await super().can_run(ctx)  # the bot's checks first: a server it serves
        if self.spec.trainer_only:
            is_trainer: Callable[[commands.Context[Any]], Awaitable[bool]] | None = getattr(
                ctx.bot, "is_trainer", None
            )
            if is_trainer is None or not await is_trainer(ctx):
                raise CommandFailed(PermissionDenied())
        return allowed


def spec_command(name: str, *, reply_fills: str | None = None) -> Callable[[Callback], SpecCommand]:
    """The command ``name`` of the catalogue, from a cog method.

    ``reply_fills`` names the parameter that the replied-to message's id fills when the command
    is sent as a reply (``!correct <text>`` in reply to the answer it corrects).

    The method's parameters after ``ctx`` must be the spec's parameters, in order (plus an
    optional ``attachment``): checked here, so the catalogue, ``!help`` and the slash options
    cannot drift apart. Slash options get the spec's descriptions.
    """
    spec = COMMANDS[name]

    def make(func: Callback) -> SpecCommand:
        names = list(inspect.signature(func).parameters)[2:]  # after self and ctx
        expected = [param.name for param in spec.params]
        if [n for n in names if n != ATTACHMENT] != expected:
            raise TypeError(f"{func.__qualname__} takes {names}; the !{name} spec says {expected}")
        described = {param.name: _short(param.help) for param in spec.params}
        if ATTACHMENT in names:
            described[ATTACHMENT] = "a file with the data"
        return SpecCommand(
            app_commands.describe(**described)(func), spec=spec, reply_fills=reply_fills
        )

    return make


def _short(text: str) -> str:
    return text if len(text) <= DESCRIPTION_LIMIT else text[: DESCRIPTION_LIMIT - 1] + "…"
