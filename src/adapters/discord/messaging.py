"""Small translations between Discord and the core: who is asking, what they attached, and how a
long text goes back as messages."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import discord
from discord.ext import commands
from discord.utils import DEFAULT_FILE_SIZE_LIMIT_BYTES

from trainerbot.core.dataset_sources import Upload
from trainerbot.core.entities import AudioClip, FileContent
from trainerbot.core.errors import AudioTooLarge, FileTooLarge
from trainerbot.core.limits import human_bytes

from .replies import split_reply

# A reply of more messages than this is sent as one message with the text attached instead:
# a wall of messages buries the conversation.
MAX_REPLY_MESSAGES = 4
LONG_REPLY_FILENAME = "answer.md"

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
    if attachment.size > max_bytes:
        raise AudioTooLarge(
            f"That audio file is {human_bytes(attachment.size)}; the limit is "
            f"{human_bytes(max_bytes)}."
        )
    data = await attachment.read()
    return AudioClip(data=data, filename=attachment.filename, content_type=attachment.content_type)


async def read_upload(attachment: discord.Attachment, max_bytes: int) -> Upload:
    """The attachment's bytes for a dataset, refused before downloading if over the cap."""
    if attachment.size > max_bytes:
        raise FileTooLarge(
            f"{attachment.filename[:80]} is {human_bytes(attachment.size)}; the limit is "
            f"{human_bytes(max_bytes)}."
        )
    return Upload(filename=attachment.filename, data=await attachment.read())


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
