"""The chat cog: plain messages and voice messages are answered, answers are spoken in the
author's voice channel, and 👍/👎 on an answer is feedback."""

from __future__ import annotations

import asyncio
import logging

import discord
from discord.ext import commands

from trainerbot.core.answer_message import AnswerRequest, AnswerStream
from trainerbot.core.answer_voice import VoiceMessageRequest
from trainerbot.core.entities import Rating
from trainerbot.core.errors import (
    CapabilityUnavailable,
    TrainerbotError,
    UnknownMessage,
    VoiceNotConnected,
)
from trainerbot.core.language import is_auto
from trainerbot.core.link_reply import LinkReplyRequest
from trainerbot.core.record_feedback import FeedbackRequest
from trainerbot.core.speak_reply import SpeakReply, SpeakRequest
from trainerbot.core.text import command_prefix

from .errors import error_reply
from .messaging import StreamedReply, is_audio, read_audio, send_text
from .options import BotOptions
from .tenancy import DiscordTenancy
from .voice import DiscordVoice

log = logging.getLogger(__name__)

RATINGS = {"👍": Rating.UP, "👎": Rating.DOWN}


class ChatCog(commands.Cog, name="Chat"):
    """Answers what people say.

    Rules:
    - The bot ignores itself and other bots, messages that are commands, and servers it does not
      serve. Each message is answered, logged and rated inside its own tenant (its server, or
      its author's direct messages).
    - An audio attachment or a voice message is transcribed first (``AnswerVoiceMessage``); what
      was heard is shown, then answered. Hearing nothing is said as such, and nothing is asked
      of the model.
    - The typing indicator shows while the answer is made; the answer replies to the message
      and is shown as it is written (``StreamedReply``: sent at its first words, edited about
      once a second), in pieces under Discord's limit (a file when very long), and never pings
      anyone. Once finished it reads exactly as an answer sent whole.
    - Each message of the finished answer is linked to the logged interaction, so a reply to it
      or its id names the interaction for ``!correct`` and reactions.
    - When the author is in a voice channel of the server, the bot joins it (staying there
      afterwards) and speaks the answer; speaking never holds up or breaks the text answer.
    - 👍 or 👎 on one of the bot's answers is recorded as feedback on it.
    """

    def __init__(
        self,
        bot: commands.Bot,
        *,
        tenancy: DiscordTenancy,
        voice: DiscordVoice | None,
        options: BotOptions,
    ) -> None:
        self.bot = bot
        self._tenancy = tenancy
        self._voice = voice
        self._options = options
        self._speaking: set[asyncio.Task[None]] = set()

    def should_answer(self, message: discord.Message) -> bool:
        if message.author.bot or message.content.startswith(self._options.prefix):
            return False
        if not self._tenancy.serves(message.guild):
            return False
        if message.guild is None:
            return self._options.answer_dms
        me = self.bot.user
        if me is not None and me in message.mentions:
            return True
        return not self._options.channels or message.channel.id in self._options.channels

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if not self.should_answer(message):
            return
        # Sentences written while answering (an error naming a command) use the bot's prefix.
        with command_prefix(self._options.prefix):
            try:
                await self._reply_to(message)
            except Exception as error:  # noqa: BLE001 - every failure is answered; error_reply logs
                # A reply to the message, like an answer: in a busy channel a bare line ("You are
                # sending messages faster…") reads as meant for everyone. Sent even if the
                # message is gone by then.
                await send_text(
                    message.channel,
                    error_reply(error),
                    reference=message.to_reference(fail_if_not_exists=False),
                )

    async def _reply_to(self, message: discord.Message) -> None:
        guild_id = message.guild.id if message.guild is not None else None
        scope = self._tenancy.scope(guild_id, message.author.id)
        uc = scope.use_cases
        actor = await self._tenancy.actor(scope, message.author)
        text = self._without_mention(message.content)
        audio = next((a for a in message.attachments if is_audio(a)), None)
        heard_language: str | None = None  # a voice message's, as recognised
        async with message.channel.typing():
            answer: AnswerStream
            if audio is not None:
                clip = await read_audio(audio, self._options.max_audio_bytes)
                heard = await uc.answer_voice_message.hear(
                    VoiceMessageRequest(
                        conversation_id=str(message.channel.id),
                        author=actor,
                        audio=clip,
                        message_id=str(message.id),
                        text=text,
                        language=self._options.language,
                    )
                )
                if not heard.heard_anything:
                    await send_text(
                        message.channel, heard.transcription.heard_nothing(), reference=message
                    )
                    return
                transcript = heard.transcription.transcript
                heard_language = transcript.language
                shown = f" ({heard_language})" if is_auto(self._options.language) else ""
                await send_text(
                    message.channel, f"🎙️ Heard{shown}: {transcript.text}", reference=message
                )
                answer = await uc.answer_voice_message.stream(heard)
            else:
                answer = await uc.answer_message.stream(
                    AnswerRequest(
                        conversation_id=str(message.channel.id),
                        author=actor,
                        text=text,
                        message_id=str(message.id),
                    )
                )
            sent = await StreamedReply(message.channel, reference=message).send(answer)
        result = answer.result
        for reply in sent:
            await uc.link_reply.execute(
                LinkReplyRequest(interaction_id=result.interaction.id, message_id=str(reply.id))
            )
        self._speak_in_voice(message, result.reply, uc.speak_reply, heard_language)

    def _without_mention(self, content: str) -> str:
        me = self.bot.user
        if me is None:
            return content.strip()
        for mention in (f"<@{me.id}>", f"<@!{me.id}>"):
            content = content.replace(mention, "")
        return content.strip()

    def _speak_in_voice(
        self, message: discord.Message, reply: str, speak: SpeakReply, language: str | None
    ) -> None:
        """Speak ``reply`` where the author is listening, in the background."""
        author = message.author
        if self._voice is None or not isinstance(author, discord.Member):
            return
        state = author.voice
        if state is None or state.channel is None or message.guild is None:
            return
        task = asyncio.create_task(
            self._speak_there(state.channel, message.guild.id, reply, speak, language)
        )
        self._speaking.add(task)
        task.add_done_callback(self._speaking.discard)

    async def _speak_there(
        self,
        channel: discord.VoiceChannel | discord.StageChannel,
        guild_id: int,
        reply: str,
        speak: SpeakReply,
        language: str | None,
    ) -> None:
        assert self._voice is not None
        try:
            await self._voice.join(channel)
            await speak.execute(
                # In the language heard (a voice message's); SpeakReply knows the configured one.
                SpeakRequest(text=reply, target=str(guild_id), language=language)
            )
        except (CapabilityUnavailable, VoiceNotConnected) as error:
            log.info("not speaking the answer: %s", error)
        except Exception:
            log.exception("speaking an answer in a voice channel failed")

    async def cog_unload(self) -> None:
        """At shutdown: stop speaking (the text answers were all sent already)."""
        for task in tuple(self._speaking):
            task.cancel()
        await asyncio.gather(*self._speaking, return_exceptions=True)

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        rating = RATINGS.get(str(payload.emoji))
        me = self.bot.user
        if rating is None or me is None or payload.user_id == me.id:
            return
        if payload.message_author_id is not None and payload.message_author_id != me.id:
            return  # feedback is about the bot's answers
        user = payload.member or self.bot.get_user(payload.user_id)
        if user is None or user.bot:
            return
        if payload.guild_id is not None and not self._tenancy.serves(
            discord.Object(payload.guild_id)
        ):
            return
        scope = self._tenancy.scope(payload.guild_id, payload.user_id)
        try:
            await scope.use_cases.record_feedback.execute(
                FeedbackRequest(
                    actor=await self._tenancy.actor(scope, user),
                    rating=rating,
                    message_id=str(payload.message_id),
                )
            )
        except UnknownMessage:
            pass  # a reaction on a message that is not one of the bot's answers
        except TrainerbotError as error:
            log.info("a reaction was not recorded: %s", error)
