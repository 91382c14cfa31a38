"""What a command is, what it is given and what it gives back — the same for every front end.

A command is a ``Command``: its ``CommandSpec`` (name, arguments, help, who may run it) and a
handler that builds the use case's request from the arguments, calls the use case and returns a
``Reply``. The console, Discord (prefix and slash) and programs that embed trainerbot only parse
what the person typed into an ``Invocation`` and render the ``Reply``: nothing a command says is
written twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from ..access import require_trainer
from ..dataset_sources import Upload, refuse_oversized_upload
from ..entities import Actor, FileContent, TrainingJob
from ..errors import CapabilityUnavailable
from ..limits import DEFAULT_LIMITS
from ..tenancy import TenantScope
from ..use_cases import UseCases
from .grammar import CommandSpec, ParsedCommand


class FrontEnd(Protocol):
    """What only the front end a command came through can do for it."""

    async def join_voice(self) -> str:
        """Join the caller's voice channel; its name. Raises ``VoiceNotConnected`` (the caller
        is in none) or ``CapabilityUnavailable`` (this front end has no voice channels)."""
        ...

    async def leave_voice(self) -> bool:
        """Leave the voice channel here; False when the bot was in none."""
        ...


class NoVoice:
    """A front end without voice channels (the console, a program): ``!join`` and ``!leave``
    say so."""

    async def join_voice(self) -> str:
        raise CapabilityUnavailable(VOICE_ONLY_IN_DISCORD)

    async def leave_voice(self) -> bool:
        raise CapabilityUnavailable(VOICE_ONLY_IN_DISCORD)


VOICE_ONLY_IN_DISCORD = (
    "Voice channels exist only in Discord; run the bot with a Discord token to use them."
)


class Attached(Protocol):
    """A file that came with the command (``discord.Attachment`` is one), not read yet."""

    @property
    def filename(self) -> str: ...

    @property
    def size(self) -> int: ...

    async def read(self) -> bytes: ...


@dataclass(frozen=True)
class Invocation:
    """One command, given by ``actor`` in ``scope``'s tenant through ``front_end``.

    ``origin`` says where a training job started by it reports (``TrainingJob.origin``; the
    front end follows jobs of its own origins again after a restart)."""

    command: ParsedCommand
    scope: TenantScope
    actor: Actor
    front_end: FrontEnd = field(default_factory=NoVoice)
    attachment: Attached | None = None
    upload_limit: int = DEFAULT_LIMITS.max_upload_bytes
    origin: str | None = None

    @property
    def use_cases(self) -> UseCases:
        return self.scope.use_cases

    def text(self, name: str) -> str | None:
        return self.command.text(name)

    def flag(self, name: str) -> bool | None:
        return self.command.flag(name)

    async def upload(self) -> Upload | None:
        """The attached file's bytes, refused before they are read when it is over the limit."""
        attached = self.attachment
        if attached is None:
            return None
        refuse_oversized_upload(attached.filename, attached.size, self.upload_limit)
        return Upload(filename=attached.filename, data=await attached.read())


class Files(StrEnum):
    """What a reply's files are, so each front end knows what to do with them."""

    MADE = "made"  # made for this reply (a test's predictions and charts): a console saves them
    STORED = "stored"  # already in the workspace (an export): the text says where
    ASKED = "asked"  # the file that was asked for (getfile): a console shows it


@dataclass(frozen=True)
class Reply:
    """What a command answers. ``text`` is the same in every front end (Discord shows
    ``preformatted`` text in a code block); ``files`` go along (attached in Discord); ``job``
    is a training job still running, which the front end follows until it ends."""

    text: str
    files: tuple[FileContent, ...] = ()
    file_kind: Files = Files.MADE
    job: TrainingJob | None = None
    preformatted: bool = False


Handler = Callable[[Invocation], Awaitable[Reply]]


@dataclass(frozen=True)
class Command:
    spec: CommandSpec
    handler: Handler

    @property
    def name(self) -> str:
        return self.spec.name

    def allow(self, actor: Actor) -> None:
        """Refuse a trainer-only command to anyone else — before anything (an attachment, say) is
        read for it. The use cases check again: this is the early, cheap no."""
        if self.spec.trainer_only:
            require_trainer(actor)

    async def run(self, invocation: Invocation) -> Reply:
        self.allow(invocation.actor)
        return await self.handler(invocation)


def command(spec: CommandSpec) -> Callable[[Handler], Command]:
    """Make the decorated handler the command ``spec`` describes."""

    def make(handler: Handler) -> Command:
        return Command(spec, handler)

    return make
