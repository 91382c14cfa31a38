"""Slash commands without Discord: a real ``discord.Interaction`` built from a gateway-shaped
INTERACTION_CREATE payload, dispatched through the bot's command tree.

dpytest cannot send interactions, so ``slash`` builds one as Discord would send it — in a server
the member comes with their role ids and permissions, in direct messages only the user — whose
``response``/``followup`` record what the bot sends instead of calling Discord's HTTP API, and
hands it to ``bot.tree._call``, which is what discord.py does on INTERACTION_CREATE. Option
parsing, the checks and the error handler all run as in production.

(A module of its own, not conftest.py: the test modules import these names.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import discord
import discord.ext.test as dpytest
from discord.ext import commands

from trainerbot.core.commands import parse_command


@dataclass
class Sent:
    """A message the bot sent in answer to an interaction."""

    content: str | None
    channel: discord.abc.Messageable
    id: int
    files: list[str] = field(default_factory=list)
    edits: list[str] = field(default_factory=list)
    contents: list[bytes] = field(default_factory=list)  # the files' bytes

    async def edit(self, *, content: str | None = None, **_: Any) -> Sent:
        self.edits.append(content or "")
        return self

    async def delete(self, **_: Any) -> None:
        return None


class RecordingInteraction(discord.Interaction[Any]):
    """A real interaction, built from an INTERACTION_CREATE payload, whose answers are recorded
    instead of sent to Discord's HTTP API."""

    def __init__(self, *, data: Any, state: Any, channel: discord.abc.Messageable) -> None:
        super().__init__(data=data, state=state)
        self.sent: list[Sent] = []
        self._answered = False
        self._reply_channel = channel

    def _record(self, content: str | None, kwargs: Mapping[str, Any]) -> Sent:
        files = [kwargs["file"]] if kwargs.get("file") not in (None, discord.utils.MISSING) else []
        if kwargs.get("files") not in (None, discord.utils.MISSING):
            files += list(kwargs["files"])
        sent = Sent(
            content,
            self._reply_channel,
            discord.utils.time_snowflake(discord.utils.utcnow()) + len(self.sent),
            [f.filename for f in files],
            contents=[_read(f) for f in files],
        )
        self.sent.append(sent)
        return sent

    @property
    def response(self) -> Any:  # type: ignore[override]
        interaction = self

        async def send_message(content: str | None = None, **kwargs: Any) -> Any:
            assert not interaction._answered, "an interaction is answered once"
            interaction._answered = True
            interaction._record(content, kwargs)
            return SimpleNamespace(resource=None)

        async def defer(**_: Any) -> None:
            interaction._answered = True

        return SimpleNamespace(
            is_done=lambda: interaction._answered, send_message=send_message, defer=defer
        )

    @property
    def followup(self) -> Any:  # type: ignore[override]
        interaction = self

        async def send(content: str | None = None, **kwargs: Any) -> Sent:
            return interaction._record(content, kwargs)

        return SimpleNamespace(send=send)

    async def original_response(self) -> Any:
        return self.sent[-1]

    @property
    def texts(self) -> list[str]:
        return [sent.content or "" for sent in self.sent]


def _read(file: discord.File) -> bytes:
    file.fp.seek(0)
    data = file.fp.read()
    file.fp.seek(0)
    return data


def slash_options(bot: commands.Bot, name: str, raw: str) -> list[dict[str, Any]]:
    """The options Discord would send for ``/name`` filled in as ``!name raw`` is."""
    command = bot.tree.get_command(name)
    assert isinstance(command, discord.app_commands.Command), name
    kinds = {parameter.name: parameter.type for parameter in command.parameters}
    options = []
    for key, value in parse_command(name, raw).args.items():
        assert key in kinds, f"/{name} has no option {key}"
        options.append({"name": key, "type": kinds[key].value, "value": value})
    return options


def user_payload(user: discord.abc.User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "username": user.name,
        "discriminator": user.discriminator,
        "global_name": None,
        "avatar": None,
    }


def member_payload(member: discord.Member) -> dict[str, Any]:
    """The member as an interaction payload carries them: their user and their role ids."""
    return {
        "user": user_payload(member),
        "roles": [str(role.id) for role in member.roles if not role.is_default()],
        "joined_at": discord.utils.utcnow().isoformat(),
        "deaf": False,
        "mute": False,
        "flags": 0,
        "permissions": str(member.guild_permissions.value),
    }


async def slash(
    bot: commands.Bot,
    channel: discord.TextChannel | discord.DMChannel,
    name: str,
    raw: str,
    by: discord.abc.User,
) -> RecordingInteraction:
    """``/name`` with the options of ``!name raw``, used by ``by`` in ``channel`` (a server's text
    channel, ``by`` a member of it; or ``by``'s direct messages with the bot); the interaction,
    with what the bot answered recorded on it."""
    command = bot.tree.get_command(name)
    assert command is not None, f"/{name} is not registered"
    snowflake = discord.utils.time_snowflake(discord.utils.utcnow())
    payload: dict[str, Any] = {
        "id": str(snowflake),
        "application_id": str(bot.user.id if bot.user else 1),
        "type": discord.InteractionType.application_command.value,
        "token": "interaction-token",
        "version": 1,
        "channel_id": str(channel.id),
        "locale": "en-US",
        "attachment_size_limit": 8 * 1024 * 1024,
        "data": {
            "id": str(snowflake + 1),
            "name": name,
            "type": 1,
            "options": slash_options(bot, name, raw),
        },
    }
    if isinstance(channel, discord.DMChannel):
        payload["channel"] = {
            "id": str(channel.id),
            "type": discord.ChannelType.private.value,
            "recipients": [user_payload(by)],
        }
        payload["user"] = user_payload(by)
        payload["context"] = 1  # a bot DM
    else:
        assert isinstance(by, discord.Member)
        assert by.guild == channel.guild
        payload["guild_id"] = str(channel.guild.id)
        payload["channel"] = {"id": str(channel.id), "type": 0}
        payload["member"] = member_payload(by)
    interaction = RecordingInteraction(data=payload, state=bot._connection, channel=channel)
    assert interaction.user.id == by.id
    await bot.tree._call(interaction)
    await dpytest.run_all_events()  # the error handler runs as an event
    await asyncio.sleep(0)
    return interaction


def refused_errors() -> list[BaseException]:
    """The errors dpytest saw the bot handle since the last call (it queues every one)."""
    errors: list[BaseException] = []
    while not dpytest.error_queue.empty():
        errors.append(dpytest.error_queue.get_nowait()[1])
    return errors


async def tenant_state(container: Any, root: Path) -> dict[str, Any]:
    """What a tenant holds that any command could change: every byte and folder under ``root``
    (its workspace) and what its stores say (``container`` is the tenant's container)."""
    return {
        **await asyncio.to_thread(_tree, root),
        "jobs": await container.jobs().all(),
        "corrections": await container.corrections().all(),
        "feedback": await container.feedback().all(),
        "datasets": await container.datasets().names(),
        "selected": await container.datasets().selected(),
        "models": await container.models().models(),
        "active": await container.models().active(),
        "settings": await container.tenant_settings().get(),
    }


def _tree(root: Path) -> dict[str, Any]:
    """Every file's bytes and every folder below ``root``, by relative path."""
    return {
        "files": {
            path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*"))
            if path.is_file()
        },
        "folders": sorted(path.relative_to(root).as_posix() for path in root.rglob("*")),
    }
