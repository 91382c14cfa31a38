"""DiscordVoice: speaks replies in a Discord voice channel.

Clips are queued per guild and one worker task per guild plays them strictly one after another,
so two replies (or two sentences of one reply) never talk over each other. The bot stays in the
channel between replies instead of connecting for every reply, and leaves by itself after a
while with nothing to say (the idle timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import discord

from trainerbot.adapters.discord.playback import SPEECH_BITRATE_KBPS, opus_source
from trainerbot.core.entities import AudioClip
from trainerbot.core.errors import ServiceError, VoiceNotConnected
from trainerbot.ports import VoiceOutput

log = logging.getLogger(__name__)

DEFAULT_IDLE_SECONDS = 300.0


@dataclass(eq=False)
class _GuildVoice:
    """One guild's connection, its queue of clips and the worker that plays them."""

    voice: discord.VoiceClient
    idle_since: float
    queue: asyncio.Queue[AudioClip] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None


class DiscordVoice(VoiceOutput):
    """Plays clips in the voice channel the bot joined in each guild; ``target`` is the guild id.

    Rules:
    - ``join`` connects to a voice or stage channel, or moves there when the bot is in another
      channel of that guild; joining the channel it is in changes nothing but the idle countdown.
      The connection is kept between replies.
    - ``enqueue`` puts the clip on the guild's queue and returns at once, before the clip plays.
      A target that is not a guild id, or a guild the bot is not connected in, is
      ``VoiceNotConnected``.
    - One worker task per guild plays its clips in order, each to its end before the next
      starts. ffmpeg is started off the event loop, and the end of a clip is signalled from
      discord.py's player thread to the loop, so the loop never waits on either.
    - A clip that fails (ffmpeg cannot start, playback refuses it or breaks off) is logged with
      the guild, file name and size, never the audio, and skipped: the next clip still plays.
    - After ``idle_seconds`` with nothing playing or queued (counted from the last join or the
      end of the last clip), the bot leaves that guild's channel. A clip arriving first restarts
      the countdown.
    - ``leave`` stops playback, drops the queued clips and disconnects; ``close`` leaves every
      guild (bot shutdown).
    - A connection that times out or that discord.py refuses is ``ServiceError``.
    - Queues, locks and workers are created on the running loop when first needed, so the
      object may be built before the bot's loop runs.
    """

    def __init__(
        self,
        *,
        ffmpeg: str,
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
        bitrate: int = SPEECH_BITRATE_KBPS,
        voice_client_class: type[discord.VoiceClient] | None = None,
        source_factory: Callable[..., discord.AudioSource] = opus_source,
    ) -> None:
        if idle_seconds <= 0:
            raise ValueError("idle_seconds must be positive")
        self._ffmpeg = ffmpeg
        self._idle_seconds = idle_seconds
        self._bitrate = bitrate
        self._voice_client_class = voice_client_class
        self._source_factory = source_factory
        self._guilds: dict[int, _GuildVoice] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    # --- connection ---------------------------------------------------------------------------

    async def join(self, channel: discord.VoiceChannel | discord.StageChannel) -> None:
        """Connect to ``channel``, or move there from another channel of its guild."""
        guild_id = channel.guild.id
        loop = asyncio.get_running_loop()
        async with self._lock(guild_id):
            state = self._guilds.get(guild_id)
            if state is not None and not state.voice.is_connected():
                # Dropped by Discord (kicked, the channel deleted): start afresh.
                await self._drop(guild_id, state)
                state = None
            if state is None:
                voice = await self._connect(channel)
                state = _GuildVoice(voice=voice, idle_since=loop.time())
                self._guilds[guild_id] = state
                state.worker = asyncio.create_task(
                    self._serve(guild_id, state), name=f"trainerbot-voice-{guild_id}"
                )
                state.worker.add_done_callback(_report_worker_crash)
                log.info("Joined voice channel %s in guild %s", channel.id, guild_id)
            elif state.voice.channel.id != channel.id:
                await state.voice.move_to(channel)
                log.info("Moved to voice channel %s in guild %s", channel.id, guild_id)
            state.idle_since = loop.time()

    async def leave(self, guild_id: int) -> bool:
        """Stop playing, drop the queued clips and disconnect; False when not connected there."""
        async with self._lock(guild_id):
            state = self._guilds.get(guild_id)
            if state is None:
                return False
            connected = state.voice.is_connected()
            await self._drop(guild_id, state)
            log.info("Left voice in guild %s", guild_id)
            return connected

    def channel_of(self, guild_id: int) -> discord.abc.Connectable | None:
        """The voice channel the bot is connected to in that guild, if any."""
        state = self._guilds.get(guild_id)
        if state is None or not state.voice.is_connected():
            return None
        return state.voice.channel

    async def close(self) -> None:
        """Leave every guild's voice channel (bot shutdown)."""
        await asyncio.gather(*(self.leave(guild_id) for guild_id in list(self._guilds)))

    # --- VoiceOutput --------------------------------------------------------------------------

    async def enqueue(self, target: str, clip: AudioClip) -> None:
        """Queue ``clip`` in the guild whose id is ``target``; return before it plays."""
        try:
            guild_id = int(target)
        except ValueError:
            raise VoiceNotConnected() from None
        state = self._guilds.get(guild_id)
        if state is None or not state.voice.is_connected():
            raise VoiceNotConnected()
        state.queue.put_nowait(clip)

    # --- inside -------------------------------------------------------------------------------

    def _lock(self, guild_id: int) -> asyncio.Lock:
        lock = self._locks.get(guild_id)
        if lock is None:
            lock = self._locks[guild_id] = asyncio.Lock()
        return lock

    async def _connect(
        self, channel: discord.VoiceChannel | discord.StageChannel
    ) -> discord.VoiceClient:
        try:
            if self._voice_client_class is None:
                return await channel.connect()
            return await channel.connect(cls=self._voice_client_class)
        except TimeoutError:
            log.warning("Connecting to voice channel %s timed out", channel.id)
            raise ServiceError(
                "I could not connect to that voice channel in time; please try again."
            ) from None
        except discord.ClientException as error:
            log.warning("discord.py refused to connect to voice channel %s: %s", channel.id, error)
            raise ServiceError(f"I could not connect to that voice channel: {error}") from None

    async def _drop(self, guild_id: int, state: _GuildVoice) -> None:
        """Forget the guild, stop its worker and playback, and disconnect. Hold the guild lock."""
        if self._guilds.get(guild_id) is state:
            del self._guilds[guild_id]
        worker = state.worker
        if worker is not None and worker is not asyncio.current_task():
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        state.voice.stop()
        try:
            await state.voice.disconnect(force=True)
        except Exception as error:  # noqa: BLE001 -- the guild is forgotten whatever went wrong
            log.warning(
                "Disconnecting from voice in guild %s failed (%s: %s)",
                guild_id,
                type(error).__name__,
                error,
            )

    async def _serve(self, guild_id: int, state: _GuildVoice) -> None:
        """The guild's worker: play queued clips one by one; leave once idle for too long."""
        loop = asyncio.get_running_loop()
        while True:
            if state.queue.empty():
                remaining = state.idle_since + self._idle_seconds - loop.time()
                if remaining <= 0:
                    if await self._leave_when_idle(guild_id, state):
                        return
                    continue
                try:
                    clip = await asyncio.wait_for(state.queue.get(), timeout=remaining)
                except TimeoutError:
                    continue  # idle_since may have moved meanwhile (a join): look again
            else:
                clip = state.queue.get_nowait()
            await self._play(guild_id, state.voice, clip)
            state.idle_since = loop.time()

    async def _leave_when_idle(self, guild_id: int, state: _GuildVoice) -> bool:
        """Disconnect an idle guild; False when it turned out busy after all (keep serving)."""
        async with self._lock(guild_id):
            if self._guilds.get(guild_id) is not state:
                return True  # left or replaced meanwhile
            idle_for = asyncio.get_running_loop().time() - state.idle_since
            if not state.queue.empty() or idle_for < self._idle_seconds:
                return False  # a clip or a join came while the lock was taken
            log.info("Leaving voice in guild %s after %.0f s idle", guild_id, idle_for)
            await self._drop(guild_id, state)
            return True

    async def _play(self, guild_id: int, voice: discord.VoiceClient, clip: AudioClip) -> None:
        """Play one clip to its end; log and return when it fails."""
        try:
            source = await self._build_source(clip)
        except Exception as error:  # noqa: BLE001 -- one bad clip must not stop the queue
            _log_failure(guild_id, clip, "could not be prepared", error)
            return

        loop = asyncio.get_running_loop()
        finished: asyncio.Future[Exception | None] = loop.create_future()

        def after(error: Exception | None) -> None:  # discord.py's player thread
            # A closed loop means the bot has shut down: nobody waits for this clip any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, finished, error)

        try:
            voice.play(source, after=after)
        except Exception as error:  # noqa: BLE001 -- not connected, already playing...
            await asyncio.to_thread(source.cleanup)
            _log_failure(guild_id, clip, "could not be played", error)
            return
        try:
            failure = await finished
        except asyncio.CancelledError:  # leave(): stop now; the player then cleans the source up
            voice.stop()
            raise
        if failure is not None:
            _log_failure(guild_id, clip, "stopped playing", failure)

    async def _build_source(self, clip: AudioClip) -> discord.AudioSource:
        """The clip's source, made in a thread: building it starts ffmpeg."""
        build = asyncio.ensure_future(
            asyncio.to_thread(
                self._source_factory, clip, ffmpeg=self._ffmpeg, bitrate=self._bitrate
            )
        )
        try:
            return await asyncio.shield(build)
        except asyncio.CancelledError:
            # The thread finishes anyway: stop the ffmpeg it starts rather than leaving it behind.
            build.add_done_callback(_discard_source)
            raise


def _settle(finished: asyncio.Future[Exception | None], error: Exception | None) -> None:
    if not finished.done():
        finished.set_result(error)


def _discard_source(build: asyncio.Future[discord.AudioSource]) -> None:
    if build.cancelled() or build.exception() is not None:
        return
    # cleanup() waits for ffmpeg to exit: not on the event loop.
    threading.Thread(
        target=build.result().cleanup, name="voice-source-cleanup", daemon=True
    ).start()


def _report_worker_crash(worker: asyncio.Task[None]) -> None:
    if not worker.cancelled() and (error := worker.exception()) is not None:
        log.error("The voice worker %s stopped", worker.get_name(), exc_info=error)


def _log_failure(guild_id: int, clip: AudioClip, what: str, error: BaseException) -> None:
    log.warning(
        "A clip (%s, %d bytes) in guild %s %s and was skipped (%s: %s)",
        clip.filename,
        len(clip.data),
        guild_id,
        what,
        type(error).__name__,
        error,
    )
