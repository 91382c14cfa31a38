"""Small translations between Discord and the core: who is asking, what they attached, and how a
long text goes back as messages."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterable, Sequence
from typing import Any

import discord
from discord.ext import commands
from discord.utils import DEFAULT_FILE_SIZE_LIMIT_BYTES

from trainerbot.core.entities import AudioClip, FileContent
from trainerbot.core.limits import human_bytes, refuse_oversized_audio

from .replies import split_reply

# A reply of more messages than this is sent as one message with the text attached instead:
# a wall of messages buries the conversation.
MAX_REPLY_MESSAGES = 4
LONG_REPLY_FILENAME = "answer.md"

# A streamed answer: how long the first message waits for an answer that is about to finish (so
# that a quick answer is sent whole, not sent and edited), and the least time between two
# updates of the messages (Discord rate-limits edits).
FIRST_SEND_WAIT = 0.3
EDIT_INTERVAL = 1.0

AUDIO_EXTENSIONS = (".ogg", ".oga", ".opus", ".wav", ".mp3", ".m4a", ".aac", ".webm", ".flac")


def is_audio(attachment: discord.Attachment) -> bool:
    """A voice message, or a file that says it is audio (by type or by name)."""
    if attachment.is_voice_message():
        return True
    if (attachment.content_type or "").startswith("audio/"):
        return True
    return attachment.filename.lower().endswith(AUDIO_EXTENSIONS)


async def read_audio(attachment: discord.Attachment, max_bytes: int) -> AudioClip:
    """The attachment's bytes as a clip, refused before downloading if it is over the cap."""
    refuse_oversized_audio(attachment.size, max_bytes)
    data = await attachment.read()
    return AudioClip(data=data, filename=attachment.filename, content_type=attachment.content_type)


async def send_text(
    destination: discord.abc.Messageable,
    text: str,
    *,
    reference: discord.Message | discord.MessageReference | None = None,
) -> list[discord.Message]:
    """``text`` as messages under Discord's limit, split at line breaks with code blocks kept
    whole; as an attached file when that would be more than ``MAX_REPLY_MESSAGES`` messages.
    Nobody is ever pinged: model output could contain @everyone or a role."""
    chunks = split_reply(text)
    if not chunks:
        return []
    options: dict[str, Any] = {"allowed_mentions": discord.AllowedMentions.none()}
    if reference is not None:
        options["reference"] = reference
        options["mention_author"] = False
    if len(chunks) > MAX_REPLY_MESSAGES:
        attached = discord.File(io.BytesIO(text.encode("utf-8")), filename=LONG_REPLY_FILENAME)
        first_line = chunks[0].split("\n", 1)[0][:200]
        note = f"{first_line}\n… the whole answer ({len(text):,} characters) is attached."
        return [await destination.send(note, file=attached, **options)]
    sent = [await destination.send(chunks[0], **options)]
    options.pop("reference", None)
    options.pop("mention_author", None)
    sent += [await destination.send(chunk, **options) for chunk in chunks[1:]]
    return sent


class StreamedReply:
    """Shows an answer in Discord while it is written, by sending and then editing messages.

    Rules:
    - The first message is sent as soon as there is text — after at most ``first_wait``
      seconds more, so that an answer finishing meanwhile is sent whole; then the messages are
      updated at most once every ``interval`` seconds while the text grows, and once more, at
      once, when it is finished.
    - The text is split as ``send_text`` splits it: each chunk is one message, edited while it
      grows, and text past Discord's limit continues in a new message. When finished, the
      messages are exactly ``send_text``'s for the whole text — over ``MAX_REPLY_MESSAGES``
      messages, the ones streamed so far are replaced by ``send_text``'s single message with
      the text attached.
    - Only the first message replies to ``reference``; nobody is ever pinged.
    - A failure of the stream is raised after the reading stops; the messages shown so far
      stay as they are.
    """

    def __init__(
        self,
        destination: discord.abc.Messageable,
        *,
        reference: discord.Message | discord.MessageReference | None = None,
        first_wait: float | None = None,
        interval: float | None = None,
    ) -> None:
        self._destination = destination
        self._reference = reference
        self._first_wait = FIRST_SEND_WAIT if first_wait is None else first_wait
        self._interval = EDIT_INTERVAL if interval is None else interval
        self._text = ""
        self._changed = asyncio.Event()
        self._done = asyncio.Event()
        self.messages: list[discord.Message] = []

    async def send(self, pieces: AsyncIterable[str]) -> list[discord.Message]:
        """Show ``pieces`` as they come; the messages that carry the whole text at the end."""
        reader = asyncio.create_task(self._read(pieces))
        try:
            await self._changed.wait()
            await self._wait_done(self._first_wait)
            shown = ""
            while not self._done.is_set():
                if self._text != shown:
                    shown = self._text
                    await self._show(shown)
                    await self._wait_done(self._interval)
                else:
                    self._changed.clear()
                    await self._changed.wait()
            await reader  # the stream's failure, if any, is raised here
        finally:
            if not reader.done():
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
        await self._show(self._text, final=True)
        return self.messages

    async def _read(self, pieces: AsyncIterable[str]) -> None:
        try:
            async for piece in pieces:
                self._text += piece
                self._changed.set()
        finally:
            self._done.set()
            self._changed.set()

    async def _wait_done(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._done.wait(), seconds)

    async def _show(self, text: str, *, final: bool = False) -> None:
        chunks = split_reply(text)
        if len(chunks) > MAX_REPLY_MESSAGES:
            if not final:
                return  # it will be one message with the text attached: shown when finished
            for message in self.messages:
                await message.delete()
            self.messages = await send_text(self._destination, text, reference=self._reference)
            return
        mentions = discord.AllowedMentions.none()
        for index, chunk in enumerate(chunks):
            if index < len(self.messages):
                if self.messages[index].content != chunk:
                    self.messages[index] = await self.messages[index].edit(
                        content=chunk, allowed_mentions=mentions
                    )
                continue
            options: dict[str, Any] = {"allowed_mentions": mentions}
            if index == 0 and self._reference is not None:
                options["reference"] = self._reference
                options["mention_author"] = False
            self.messages.append(await self._destination.send(chunk, **options))
        for message in self.messages[len(chunks) :]:
            await message.delete()
        del self.messages[len(chunks) :]


async def send_files(ctx: commands.Context[Any], files: Sequence[FileContent]) -> None:
    """``files`` attached to one message, as many as fit under the upload limit (the server's,
    or Discord's default in direct messages); the message names any left out."""
    limit = ctx.guild.filesize_limit if ctx.guild is not None else DEFAULT_FILE_SIZE_LIMIT_BYTES
    attached: list[discord.File] = []
    names: list[str] = []
    left_out: list[str] = []
    room = limit
    for file in files:
        if len(file.data) > room:
            left_out.append(f"{file.filename} ({human_bytes(len(file.data))})")
            continue
        room -= len(file.data)
        attached.append(discord.File(io.BytesIO(file.data), filename=file.filename))
        names.append(file.filename)
    lines = [f"📎 {', '.join(names)}"] if names else []
    if left_out:
        lines.append(
            f"Over the upload limit of {human_bytes(limit)}, not attached: {', '.join(left_out)}."
        )
    if lines:
        await ctx.send(
            "\n".join(lines), files=attached, allowed_mentions=discord.AllowedMentions.none()
        )
