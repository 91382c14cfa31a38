"""The Discord bot: discord.py's ``commands.Bot`` with the catalogue's commands (prefix and
slash, ``commands.DiscordCommands``) and the chat cog, built from each tenant's use cases; or,
sharded (``BotOptions.shard_count``), the same bot as discord.py's ``AutoShardedBot``.
``build_bot`` is the way in; ``trainerbot.create_bot`` builds it from a container."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import discord
from discord.ext import commands

from trainerbot.core.commands import unknown
from trainerbot.core.job_watch import JobWatch, process_holder
from trainerbot.core.tenancy import Tenant, TenantScope
from trainerbot.core.text import command_prefix

from .chat import ChatCog
from .commands import DiscordCommands
from .errors import error_reply
from .jobs import DiscordJobs
from .messaging import send_text
from .options import BotOptions
from .sync import sync_if_changed
from .tenancy import DiscordTenancy
from .voice import DiscordVoice

log = logging.getLogger(__name__)


def intents() -> discord.Intents:
    """What the bot needs to see: message text (commands and chat; a privileged intent to
    enable in the developer portal), voice states (is the author in a voice channel) and
    reactions (feedback), besides the defaults."""
    wanted = discord.Intents.default()
    wanted.message_content = True
    wanted.voice_states = True
    wanted.reactions = True
    return wanted


class TrainerBot(commands.Bot):
    """trainerbot in Discord.

    Rules:
    - Commands come as ``<prefix>command`` and as slash commands; the bot ignores itself and
      other bots.
    - Every server is a tenant, and so are each member's direct messages: a command or message
      acts only on the data of the tenant it was given in (``DiscordTenancy``). Who is a
      trainer is decided there too: the server's administrators and holders of its trainer
      role, and the operators (``TRAINERBOT_OWNER_IDS``) everywhere.
    - With ``options.guilds`` set, the bot serves only those servers: it leaves any other when
      it joins it or finds itself there at start (logged once), and ignores it meanwhile.
    - Every failure gets one short reply (``errors.error_reply``): a trainerbot error's own
      message, or a generic line while the details go to the log.
    - Nothing the bot sends pings anyone (``allowed_mentions`` is none, for every message).
    - Training jobs started here are followed until they end; once connected, the bot follows
      again the unfinished jobs it was following before a restart (``JobWatch``, ``DiscordJobs``).
      With records shared by several processes (``options.job_scan_seconds``), each job is
      followed, and its outcome posted, by one process (a lease), and the bot keeps looking for
      jobs whose process died, to take them over.
    - Once logged in, the slash commands are synced to Discord when they changed since the
      last sync, if ``options.commands_state`` is set (``sync.sync_if_changed``).
    - ``close()`` stops following jobs and leaves the voice channels before disconnecting.
    - Sharded (``options.shard_count``; ``ShardedTrainerBot``), the bot runs ``options.shard_ids``
      of the shards (all of them if empty): Discord sends it only those shards' servers (and the
      direct messages, to shard 0's process). Other processes run the other shards on the same
      records; the jobs' lease holder names this process's shards (``holder``).
    """

    def __init__(
        self,
        scopes: Callable[[Tenant], TenantScope],
        options: BotOptions,
        *,
        voice: DiscordVoice | None = None,
        tenants: Callable[[], Iterable[Tenant]] | None = None,
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(
            command_prefix=options.prefix,
            intents=intents(),
            help_command=None,  # !help is ours, from the command catalogue
            allowed_mentions=discord.AllowedMentions.none(),
            case_insensitive=True,
            **self._sharding(options),
        )
        self.options = options
        self.voice = voice
        self._on_close = on_close
        self.tenancy = DiscordTenancy(scopes, guilds=options.guilds)
        self.jobs = JobWatch(
            DiscordJobs(self),
            scopes=scopes,
            tenants=tenants or tuple,
            holder=holder(options),
            lease_seconds=options.job_lease_seconds,
        )
        self.catalogue = DiscordCommands(
            tenancy=self.tenancy, options=options, voice=voice, jobs=self.jobs
        )
        # (A method named bot_check would be called only on a cog: the check is added here.)
        self.add_check(self._served)

    @staticmethod
    def _sharding(options: BotOptions) -> dict[str, Any]:
        """discord.py's client options for sharding: none, unsharded."""
        return {}

    async def _served(self, ctx: commands.Context[Any], /) -> bool:
        """A global check, for text and slash commands alike: a server the bot does not serve
        gets nothing, not even an error (it is being left)."""
        if not self.tenancy.serves(ctx.guild):
            raise NotServed()
        return True

    async def setup_hook(self) -> None:
        await self.add_cog(
            ChatCog(self, tenancy=self.tenancy, voice=self.voice, options=self.options)
        )
        for prefixed in self.catalogue.prefix_commands():
            self.add_command(prefixed)
        for slashed in self.catalogue.slash_commands():
            self.tree.add_command(slashed)
        if self.options.commands_state is not None:  # only when changed (sync.py)
            await sync_if_changed(self.tree, self.options.commands_state)

    async def on_message(self, message: discord.Message, /) -> None:
        if message.author.bot or not self.tenancy.serves(message.guild):
            return
        await self.process_commands(message)

    async def on_command_error(
        self, context: commands.Context[Any], exception: commands.CommandError, /
    ) -> None:
        if isinstance(exception, NotServed):
            return
        with command_prefix(self.options.prefix):
            if isinstance(exception, commands.CommandNotFound) and context.invoked_with:
                reply = str(unknown(context.invoked_with))  # as the console words it
            else:
                reply = error_reply(exception)
            await send_text(context, reply)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self._leave_if_not_served(guild)

    async def on_ready(self) -> None:
        for guild in tuple(self.guilds):
            await self._leave_if_not_served(guild)
        try:
            await self.jobs.resume()
        except Exception:  # the bot still answers; the jobs can be followed with !jobs
            log.exception("following the unfinished training jobs again failed")
        if self.options.job_scan_seconds is not None:  # records shared with other processes
            self.jobs.keep_watching(self.options.job_scan_seconds)

    async def _leave_if_not_served(self, guild: discord.Guild) -> None:
        if self.tenancy.serves(guild):
            return
        self.tenancy.log_refused(guild)
        try:
            await guild.leave()
        except discord.HTTPException as error:
            log.warning("could not leave server %s: %s", guild.id, error)

    async def close(self) -> None:
        await self.jobs.close()
        if self.voice is not None:
            await self.voice.close()
        await super().close()
        if self._on_close is not None:  # what the bot was built on (its records' database)
            await self._on_close()


class ShardedTrainerBot(TrainerBot, commands.AutoShardedBot):
    """``TrainerBot`` as discord.py's sharded client (``commands.AutoShardedBot``): one gateway
    connection per shard in ``options.shard_ids`` (every shard of ``options.shard_count`` if
    empty), events from them all handled as one bot."""

    @staticmethod
    def _sharding(options: BotOptions) -> dict[str, Any]:
        return {
            "shard_count": options.shard_count,
            "shard_ids": sorted(options.shard_ids) if options.shard_ids else None,
        }

    async def on_shard_ready(self, shard_id: int) -> None:
        log.info(
            "shard %d of %s connected; training jobs are followed here as %s",
            shard_id,
            self.shard_count,
            self.jobs.holder,
        )


def holder(options: BotOptions) -> str:
    """This process's name as a job lease holder: ``host:pid:random``, and its shards when
    sharded (``host:pid:random:shards=0,1/4``), so that the leases and logs say which process
    follows a job."""
    name = process_holder()
    if options.shard_count is None:
        return name
    ids = options.shard_ids or range(options.shard_count)
    return f"{name}:shards={','.join(map(str, sorted(ids)))}/{options.shard_count}"


class NotServed(commands.CheckFailure):
    """A command from a server the bot does not serve: not answered."""


def build_bot(
    scopes: Callable[[Tenant], TenantScope],
    options: BotOptions | None = None,
    *,
    voice: DiscordVoice | None = None,
    tenants: Callable[[], Iterable[Tenant]] | None = None,
    on_close: Callable[[], Awaitable[None]] | None = None,
) -> TrainerBot:
    """The bot, ready to ``run(token)`` or to be driven by dpytest (after
    ``dpytest.configure(bot)``, call ``await bot.setup_hook()`` to add its commands).

    ``scopes`` gives each tenant's use cases (``trainerbot.container.Tenants.scope``);
    ``tenants`` lists the tenants that have data, whose unfinished jobs are followed again;
    ``on_close`` is awaited last when the bot closes. With ``options.shard_count`` set it is a
    ``ShardedTrainerBot`` (discord.py's ``AutoShardedBot``; dpytest drives only unsharded bots)."""
    options = options or BotOptions()
    kind = TrainerBot if options.shard_count is None else ShardedTrainerBot
    return kind(scopes, options, voice=voice, tenants=tenants, on_close=on_close)
