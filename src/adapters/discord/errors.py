"""What the bot says when a command or a message fails: one table for every cog.

A trainerbot error's message is written for the user and is shown as it is. A few of
discord.py's own errors get a sentence of ours. Anything else is a fault of the bot: it is
logged with its traceback and the user gets a generic line, never the exception's text (which
could hold a path, a URL or worse).
"""

from __future__ import annotations

import logging

from discord.ext import commands

from trainerbot.core import reports
from trainerbot.core.errors import DatasetInvalid, TrainerbotError, UnknownCommand
from trainerbot.core.text import command

log = logging.getLogger(__name__)

SOMETHING_WENT_WRONG = "Something went wrong inside trainerbot; the details are in its log."


def domain_error(error: BaseException) -> TrainerbotError | None:
    """The trainerbot error behind ``error``, through discord.py's wrappers, if there is one."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, TrainerbotError):
            return current
        if isinstance(current, commands.CommandInvokeError):
            current = current.original
        else:
            current = current.__cause__
    return None


def error_reply(error: BaseException) -> str:
    """The one message to show for ``error``; logs what the user is not shown. Commands it
    names are written with the prefix in effect (``command_prefix``), as the error's own
    sentence was when it was raised."""
    found = domain_error(error)
    if isinstance(found, DatasetInvalid):
        return reports.dataset_invalid(found)
    if found is not None:
        return str(found)
    if isinstance(error, commands.CommandNotFound):
        return str(UnknownCommand(f"Unknown command. Type {command('help')} to see the commands."))
    if isinstance(error, commands.NoPrivateMessage):
        return "That command works in a server, not in direct messages."
    if isinstance(error, commands.CommandOnCooldown):
        return f"Slow down a little: try again in {error.retry_after:.0f} s."
    if isinstance(error, commands.UserInputError):
        return (
            f"I could not read that: {type(error).__name__}. Type {command('help')} for the usage."
        )
    log.error("unexpected failure in the Discord bot", exc_info=error)
    return SOMETHING_WENT_WRONG
