"""Every command, in the order ``!help`` lists them. A new command is a handler (in one of the
modules here, or a module of its own) and one line in ``CATALOGUE``."""

from __future__ import annotations

from collections.abc import Mapping

from ..entities import Actor
from ..errors import UnknownCommand
from ..tenancy import TenantScope
from ..text import command as named
from ..text import command_prefix
from . import models, settings, talk, teaching, training, workspace
from .base import Command, Invocation, Reply
from .grammar import CommandSpec, ParsedCommand, arguments_from, parse_arguments

CATALOGUE: tuple[Command, ...] = (
    talk.hi,
    talk.help_,
    talk.instruction,
    talk.join,
    talk.leave,
    training.train,
    training.test,
    training.fix,
    teaching.correct,
    teaching.feedback,
    workspace.archive,
    workspace.select_dataset,
    workspace.export,
    workspace.getfile,
    workspace.transcribe,
    models.jobs,
    models.cancel,
    models.models,
    models.use,
    settings.persona,
    settings.settings,
    settings.whoami,
)

HANDLERS: Mapping[str, Command] = {entry.name: entry for entry in CATALOGUE}
SPECS: dict[str, CommandSpec] = {entry.name: entry.spec for entry in CATALOGUE}


def find(name: str) -> Command:
    """The command called ``name``; ``UnknownCommand`` when there is none."""
    found = HANDLERS.get(name.lower())
    if found is None:
        raise unknown(name)
    return found


def unknown(name: str) -> UnknownCommand:
    """The error for a command ``name`` that does not exist."""
    return UnknownCommand(
        f"Unknown command {named(name[:40])}. Type {named('help')} to see the commands."
    )


async def run_command(
    scope: TenantScope,
    actor: Actor,
    name: str,
    arguments: str | Mapping[str, str | bool | None] = "",
    *,
    prefix: str = "!",
) -> Reply:
    """Run command ``name`` in ``scope``'s tenant as ``actor``, as a program embedding trainerbot
    does: ``arguments`` as typed after the name (``"data_dir=reviews"``) or by name
    (``{"data_dir": "reviews"}``). Errors are raised (``TrainerbotError``), their sentences
    naming commands with ``prefix``."""
    with command_prefix(prefix):
        chosen = find(name)
        chosen.allow(actor)
        parsed = (
            parse_arguments(chosen.spec, arguments)
            if isinstance(arguments, str)
            else arguments_from(chosen.spec, arguments)
        )
        return await chosen.run(Invocation(command=parsed, scope=scope, actor=actor))


def parse_command(name: str, raw: str) -> ParsedCommand:
    """Command ``name``'s arguments, read from ``raw`` (the text after its name)."""
    return parse_arguments(find(name).spec, raw)
