"""Whose data a Discord message touches, and who its author is there.

A message in a server belongs to that server's tenant; a direct message to its author's own
tenant. Every cog asks ``DiscordTenancy.here`` first and acts through that tenant's use cases
only, so nothing said in one server can reach another's data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import discord
from discord.ext import commands

from trainerbot.core.entities import Actor
from trainerbot.core.manage_settings import Member
from trainerbot.core.tenancy import Tenant, TenantScope

log = logging.getLogger(__name__)


class DiscordTenancy:
    """Tenants for Discord: one per server, one per member's direct messages.

    ``scopes`` gives a tenant's scope (``trainerbot.container.Tenants.scope``). ``guilds`` are the
    servers the bot serves (``TRAINERBOT_DISCORD_GUILDS``); empty: any.
    """

    def __init__(
        self, scopes: Callable[[Tenant], TenantScope], *, guilds: frozenset[int] = frozenset()
    ) -> None:
        self._scopes = scopes
        self._guilds = guilds
        self._refused: set[int] = set()  # servers already logged as left

    def serves(self, guild: discord.abc.Snowflake | None) -> bool:
        """Whether the bot serves ``guild`` (direct messages always are)."""
        return guild is None or not self._guilds or guild.id in self._guilds

    def log_refused(self, guild: discord.Guild) -> bool:
        """Log once that the bot leaves ``guild``; False when it was logged already."""
        if guild.id in self._refused:
            return False
        self._refused.add(guild.id)
        log.warning(
            "leaving server %s (%s): it is not in TRAINERBOT_DISCORD_GUILDS", guild.id, guild.name
        )
        return True

    @staticmethod
    def tenant(guild_id: int | None, user_id: int) -> Tenant:
        return Tenant.server(guild_id) if guild_id is not None else Tenant.direct(user_id)

    def scope(self, guild_id: int | None, user_id: int) -> TenantScope:
        return self._scopes(self.tenant(guild_id, user_id))

    async def actor(self, scope: TenantScope, user: discord.abc.User) -> Actor:
        """``user`` as an actor in ``scope``'s tenant (may they train here? see IdentifyMember)."""
        return await scope.use_cases.identify_member.execute(member_of(user))

    async def here(self, ctx: commands.Context[Any]) -> tuple[TenantScope, Actor]:
        """The tenant a command was given in, and its author there. Keep the scope while using
        its use cases."""
        guild_id = ctx.guild.id if ctx.guild is not None else None
        scope = self.scope(guild_id, ctx.author.id)
        return scope, await self.actor(scope, ctx.author)


def member_of(user: discord.abc.User) -> Member:
    """What the core needs to know of ``user``: in a server, their role names and whether they
    administer it; in direct messages, only who they are."""
    if isinstance(user, discord.Member):
        return Member(
            id=str(user.id),
            name=user.display_name,
            in_server=True,
            roles=frozenset(role.name for role in user.roles),
            administrator=user.guild_permissions.administrator,
        )
    return Member(id=str(user.id), name=user.display_name, in_server=False)
