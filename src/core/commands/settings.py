"""This tenant's settings, and who the caller is here."""

from __future__ import annotations

from .. import reports
from ..manage_settings import SettingsRequest
from ..text import command as named
from .base import Invocation, Reply, command
from .grammar import CommandSpec, Param


@command(
    CommandSpec(
        "persona",
        "Show or set my system prompt here ('reset': the default).",
        (Param("text", "the new system prompt, or reset", rest=True),),
        trainer_only=True,
    )
)
async def persona(call: Invocation) -> Reply:
    result = await call.use_cases.manage_settings.execute(
        SettingsRequest(actor=call.actor, persona=call.text("text") or None)
    )
    return Reply(reports.settings(result))


@command(
    CommandSpec(
        "settings",
        "Show this server's settings, or set its trainer role.",
        (Param("trainer_role", "the role whose members may train here, or reset"),),
        trainer_only=True,
    )
)
async def settings(call: Invocation) -> Reply:
    result = await call.use_cases.manage_settings.execute(
        SettingsRequest(actor=call.actor, trainer_role=call.text("trainer_role") or None)
    )
    return Reply(reports.settings(result))


@command(CommandSpec("whoami", "Show who you are here: your tenant, your role, my model."))
async def whoami(call: Invocation) -> Reply:
    me = await call.use_cases.manage_settings.whoami(call.actor)
    role = (
        f"a trainer here ({named('train')} and the other trainer commands are yours)"
        if me.can_train
        else f"not a trainer here (trainers hold the role {me.trainer_role!r})"
    )
    return Reply(
        f"You are {me.name} (id {me.id}) in {call.scope.tenant.describe()}: {role}.\n"
        f"I answer with {me.active_model}."
    )
