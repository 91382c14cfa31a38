"""The Discord bot: discord.py's ``commands.Bot`` with one cog per concern, built from the use
cases. ``build_bot`` is the way in; ``trainerbot.create_bot`` builds it from a container."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord.ext import commands

from trainerbot.core.use_cases import UseCases

from .chat import ChatCog
from .corrections import CorrectionsCog
from .errors import error_reply
from .files import FilesCog
from .jobs import JobFollower
from .messaging import is_trainer, send_text
from .options import BotOptions
from .training import TrainingCog
from .voice import DiscordVoice
from .voice_commands import VoiceCog

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
    - Every failure gets one short reply (``errors.error_reply``): a trainerbot error's own
      message, or a generic line while the details go to the log.
    - Nothing the bot sends pings anyone (``allowed_mentions`` is none, for every message).
    - Training jobs started here are followed until they end; once connected, the bot follows
      again the unfinished jobs it was following before a restart (``JobFollower``).
    - ``close()`` stops following jobs and leaves the voice channels before disconnecting.
    """

    def __init__(
        self,
        use_cases: UseCases,
        options: BotOptions,
        *,
        voice: DiscordVoice | None = None,
    ) -> None:
        super().__init__(
            command_prefix=options.prefix,
            intents=intents(),
            help_command=None,  # !help is ours, from the command catalogue
            allowed_mentions=discord.AllowedMentions.none(),
            case_insensitive=True,
        )
        self.use_cases = use_cases
        self.options = options
        self.voice = voice
        self.jobs = JobFollower(
            self,
            follow_job=use_cases.follow_job,
            list_jobs=use_cases.list_jobs,
            prefix=options.prefix,
        )

    def is_trainer(self, user: object) -> bool:
        return isinstance(user, discord.abc.User) and is_trainer(user, self.options.trainer_role)

    async def setup_hook(self) -> None:
        for cog in self._cogs():
            await self.add_cog(cog)

    def _cogs(self) -> list[commands.Cog]:
        uc, options = self.use_cases, self.options
        return [
            ChatCog(
                self,
                answer_message=uc.answer_message,
                link_reply=uc.link_reply,
                transcribe_voice=uc.transcribe_voice,
                speak_reply=uc.speak_reply,
                record_feedback=uc.record_feedback,
                voice=self.voice,
                options=options,
            ),
            TrainingCog(
                train_model=uc.train_model,
                test_model=uc.test_model,
                list_jobs=uc.list_jobs,
                refresh_job=uc.refresh_job,
                cancel_job=uc.cancel_job,
                list_models=uc.list_models,
                use_model=uc.use_model,
                trainer_role=options.trainer_role,
                prefix=options.prefix,
                max_upload_bytes=options.max_upload_bytes,
                fix_failure=uc.fix_failure,
                jobs=self.jobs,
            ),
            CorrectionsCog(
                record_correction=uc.record_correction,
                record_feedback=uc.record_feedback,
                trainer_role=options.trainer_role,
            ),
            VoiceCog(voice=self.voice),
            FilesCog(
                show_instructions=uc.show_instructions,
                archive_files=uc.archive_files,
                export_data=uc.export_data,
                select_dataset=uc.select_dataset,
                get_file=uc.get_file,
                transcribe_voice=uc.transcribe_voice,
                trainer_role=options.trainer_role,
                prefix=options.prefix,
            ),
        ]

    async def on_message(self, message: discord.Message, /) -> None:
        if message.author.bot:
            return
        await self.process_commands(message)

    async def on_command_error(
        self, context: commands.Context[Any], exception: commands.CommandError, /
    ) -> None:
        await send_text(context, error_reply(exception, self.options.prefix))

    async def on_ready(self) -> None:
        try:
            await self.jobs.resume()
        except Exception:  # the bot still answers; the jobs can be followed with !jobs
            log.exception("following the unfinished training jobs again failed")

    async def close(self) -> None:
        await self.jobs.close()
        if self.voice is not None:
            await self.voice.close()
        await super().close()


def build_bot(
    use_cases: UseCases, options: BotOptions | None = None, *, voice: DiscordVoice | None = None
) -> TrainerBot:
    """The bot, ready to ``run(token)`` or to be driven by dpytest (after
    ``dpytest.configure(bot)``, call ``await bot.setup_hook()`` to add its cogs)."""
    return TrainerBot(use_cases, options or BotOptions(), voice=voice)
