"""DiscordVoice: real speech, encoded by the real ffmpeg, played through a fake voice connection.

The bot is a real ``commands.Bot`` on dpytest's fake gateway. The voice client is dpytest's
``FakeVoiceClient``, made to record what it plays instead of sending it to Discord: a player
thread reads the Opus packets as discord.py's would, then calls ``after`` from that thread.
"""

from __future__ import annotations

import asyncio
import io
import logging
import threading
import time
import wave
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import discord
import discord.ext.test as dpytest
import imageio_ffmpeg
import pytest
from discord.ext import commands
from voice_support import (
    PACKET_SECONDS,
    Playback,
    RecordingVoiceClient,
    SlowVoiceClient,
    TimingOutVoiceClient,
)

from trainerbot.adapters.audio.espeak import EspeakTextToSpeech
from trainerbot.adapters.discord.playback import opus_source
from trainerbot.adapters.discord.voice import DiscordVoice
from trainerbot.core.entities import AudioClip
from trainerbot.core.errors import ServiceError, VoiceNotConnected
from trainerbot.ports import VoiceOutput


class BrokenSource(discord.AudioSource):
    """A source whose stream breaks off: the player passes the error to ``after``."""

    def __init__(self) -> None:
        self.cleaned_up = False

    def read(self) -> bytes:
        raise OSError("the pipe broke")

    def is_opus(self) -> bool:
        return True

    def cleanup(self) -> None:
        self.cleaned_up = True


# --- fixtures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Speech:
    clip: AudioClip
    seconds: float


def speech(text: str, filename: str = "speech.wav") -> Speech:
    clip = asyncio.run(EspeakTextToSpeech().synthesize(text, language="en-US"))
    with wave.open(io.BytesIO(clip.data), "rb") as reader:
        seconds = reader.getnframes() / reader.getframerate()
    return Speech(AudioClip(clip.data, filename=filename, content_type=clip.content_type), seconds)


@pytest.fixture(scope="module")
def hello() -> Speech:
    return speech("Hello from the trainer bot.", "hello.wav")


@pytest.fixture(scope="module")
def goodbye() -> Speech:
    return speech("Goodbye for now.", "goodbye.wav")


@pytest.fixture(scope="module")
def ffmpeg() -> str:
    return str(imageio_ffmpeg.get_ffmpeg_exe())


@pytest.fixture
async def bot() -> AsyncIterator[commands.Bot]:
    intents = discord.Intents.default()
    intents.message_content = True
    intents.members = True
    intents.voice_states = True
    bot = commands.Bot(command_prefix="!", intents=intents)
    dpytest.configure(bot, guilds=2, members=2)
    await bot._async_setup_hook()  # after configure: gives dpytest's fake state the running loop
    yield bot
    await dpytest.empty_queue()


@pytest.fixture
def guild(bot: commands.Bot) -> discord.Guild:
    guild: discord.Guild = dpytest.get_config().guilds[0]
    return guild


@pytest.fixture
def channel(guild: discord.Guild) -> discord.VoiceChannel:
    return dpytest.backend.make_voice_channel("Speech", guild)


@pytest.fixture
def other_channel(guild: discord.Guild) -> discord.VoiceChannel:
    return dpytest.backend.make_voice_channel("Other", guild)


@pytest.fixture
async def make_voice(ffmpeg: str) -> AsyncIterator[Callable[..., DiscordVoice]]:
    made: list[DiscordVoice] = []

    def make(**kwargs: Any) -> DiscordVoice:
        kwargs.setdefault("voice_client_class", RecordingVoiceClient)
        voice = DiscordVoice(ffmpeg=ffmpeg, **kwargs)
        made.append(voice)
        return voice

    yield make
    for voice in made:
        await voice.close()


def client_of(guild: discord.Guild) -> RecordingVoiceClient:
    client = guild.voice_client
    assert isinstance(client, RecordingVoiceClient)
    return client


async def until(condition: Callable[[], bool], within: float = 5.0) -> float:
    """Wait for ``condition`` without blocking the loop; the perf_counter when it held."""
    deadline = time.perf_counter() + within
    while not condition():
        assert time.perf_counter() < deadline, "timed out"
        await asyncio.sleep(0.005)
    return time.perf_counter()


def assert_speech_packets(playback: Playback, seconds: float) -> None:
    assert playback.error is None
    assert len(playback.packets) == pytest.approx(seconds / PACKET_SECONDS, abs=3)
    assert all(0 < len(packet) <= 1_275 for packet in playback.packets)  # one Opus frame each


# --- playing ---------------------------------------------------------------------------------


def test_it_is_a_voice_output(ffmpeg: str) -> None:
    assert isinstance(DiscordVoice(ffmpeg=ffmpeg), VoiceOutput)


async def test_a_queued_clip_plays_as_one_opus_packet_per_20_ms(
    make_voice: Callable[..., DiscordVoice],
    guild: discord.Guild,
    channel: discord.VoiceChannel,
    hello: Speech,
) -> None:
    voice = make_voice()
    await voice.join(channel)
    client = client_of(guild)

    await voice.enqueue(str(guild.id), hello.clip)
    await until(lambda: bool(client.plays) and client.plays[0].ended is not None)

    assert len(client.plays) == 1
    assert_speech_packets(client.plays[0], hello.seconds)
    assert hello.seconds > 1.0  # real speech, not a blip


async def test_clips_play_in_order_one_after_another_and_enqueue_does_not_wait(
    make_voice: Callable[..., DiscordVoice],
    guild: discord.Guild,
    channel: discord.VoiceChannel,
    hello: Speech,
    goodbye: Speech,
    event_loop_watch: Any,
) -> None:
    voice = make_voice()
    await voice.join(channel)
    client = client_of(guild)

    async with event_loop_watch() as watch:
        await voice.enqueue(str(guild.id), hello.clip)
        await voice.enqueue(str(guild.id), goodbye.clip)
        queued = time.perf_counter()
        await until(lambda: len(client.plays) == 2 and client.plays[1].ended is not None)

    first, second = client.plays
    assert first.ended is not None
    assert second.ended is not None
    assert queued < first.started  # both enqueues returned before anything played
    assert first.ended <= second.started  # never over each other
    # In order: the first is the longer sentence.
    assert_speech_packets(first, hello.seconds)
    assert_speech_packets(second, goodbye.seconds)
    assert len(first.packets) > len(second.packets)
    # ffmpeg started in a thread and playback in another: the loop kept ticking throughout.
    assert watch.max_gap < 0.05


async def test_enqueue_without_a_connection_is_voice_not_connected(
    make_voice: Callable[..., DiscordVoice],
    guild: discord.Guild,
    channel: discord.VoiceChannel,
    hello: Speech,
) -> None:
    voice = make_voice()
    with pytest.raises(VoiceNotConnected, match="!join"):
        await voice.enqueue(str(guild.id), hello.clip)

    await voice.join(channel)
    for target in ("general", "", str(guild.id + 1)):
        with pytest.raises(VoiceNotConnected):
            await voice.enqueue(target, hello.clip)
    assert client_of(guild).plays == []


async def test_a_failing_clip_is_logged_and_skipped(
    make_voice: Callable[..., DiscordVoice],
    guild: discord.Guild,
    channel: discord.VoiceChannel,
    hello: Speech,
    goodbye: Speech,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def source_factory(clip: AudioClip, *, ffmpeg: str, bitrate: int) -> discord.AudioSource:
        if clip.filename == "hello.wav":
            raise OSError("ffmpeg vanished")
        return opus_source(clip, ffmpeg=ffmpeg, bitrate=bitrate)

    voice = make_voice(source_factory=source_factory)
    await voice.join(channel)
    client = client_of(guild)

    with caplog.at_level(logging.WARNING, logger="trainerbot.adapters.discord.voice"):
        await voice.enqueue(str(guild.id), hello.clip)
        await voice.enqueue(str(guild.id), goodbye.clip)
        await until(lambda: bool(client.plays) and client.plays[-1].ended is not None)

    assert len(client.plays) == 1
    assert_speech_packets(client.plays[0], goodbye.seconds)
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "hello.wav" in record.getMessage()
    assert "OSError: ffmpeg vanished" in record.getMessage()
    assert "RIFF" not in caplog.text  # no audio in the log


async def test_a_clip_that_breaks_off_while_playing_is_logged_and_the_next_plays(
    make_voice: Callable[..., DiscordVoice],
    guild: discord.Guild,
    channel: discord.VoiceChannel,
    hello: Speech,
    goodbye: Speech,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = BrokenSource()

    def source_factory(clip: AudioClip, *, ffmpeg: str, bitrate: int) -> discord.AudioSource:
        if clip.filename == "hello.wav":
            return broken
        return opus_source(clip, ffmpeg=ffmpeg, bitrate=bitrate)

    voice = make_voice(source_factory=source_factory)
    await voice.join(channel)
    client = client_of(guild)

    with caplog.at_level(logging.WARNING, logger="trainerbot.adapters.discord.voice"):
        await voice.enqueue(str(guild.id), hello.clip)
        await voice.enqueue(str(guild.id), goodbye.clip)
        await until(lambda: len(client.plays) == 2 and client.plays[1].ended is not None)

    assert isinstance(client.plays[0].error, OSError)
    assert broken.cleaned_up
    assert_speech_packets(client.plays[1], goodbye.seconds)
    assert "stopped playing" in caplog.text
    assert "the pipe broke" in caplog.text


# --- joining and leaving ---------------------------------------------------------------------


async def test_joining_twice_keeps_one_connection_and_another_channel_moves(
    make_voice: Callable[..., DiscordVoice],
    bot: commands.Bot,
    guild: discord.Guild,
    channel: discord.VoiceChannel,
    other_channel: discord.VoiceChannel,
) -> None:
    voice = make_voice()
    assert voice.channel_of(guild.id) is None

    await voice.join(channel)
    client = client_of(guild)
    await voice.join(channel)

    assert client.connects == 1
    assert client.moves == []
    assert bot.voice_clients == [client]
    assert voice.channel_of(guild.id) is channel

    await voice.join(other_channel)

    assert client.connects == 1
    assert client.moves == [other_channel.id]
    assert bot.voice_clients == [client]
    assert voice.channel_of(guild.id) is other_channel


async def test_leave(
    make_voice: Callable[..., DiscordVoice],
    bot: commands.Bot,
    guild: discord.Guild,
    channel: discord.VoiceChannel,
) -> None:
    voice = make_voice()
    assert await voice.leave(guild.id) is False

    await voice.join(channel)
    client = client_of(guild)
    assert await voice.leave(guild.id) is True

    assert not client.is_connected()
    assert client.disconnected_at is not None
    assert guild.voice_client is None
    assert bot.voice_clients == []
    assert voice.channel_of(guild.id) is None
    assert await voice.leave(guild.id) is False


async def test_leave_stops_playback_and_drops_queued_clips(
    make_voice: Callable[..., DiscordVoice],
    guild: discord.Guild,
    channel: discord.VoiceChannel,
    hello: Speech,
    goodbye: Speech,
) -> None:
    voice = make_voice(voice_client_class=SlowVoiceClient)
    await voice.join(channel)
    client = client_of(guild)
    for clip in (hello.clip, goodbye.clip, hello.clip):
        await voice.enqueue(str(guild.id), clip)
    await until(lambda: bool(client.plays) and len(client.plays[0].packets) >= 3)

    assert await voice.leave(guild.id) is True
    client.wait_played()
    await asyncio.sleep(0.1)  # time enough for a next clip to start, were one still queued

    assert len(client.plays) == 1
    assert len(client.plays[0].packets) < hello.seconds / PACKET_SECONDS / 2  # cut short
    assert not client.is_connected()
    with pytest.raises(VoiceNotConnected):
        await voice.enqueue(str(guild.id), hello.clip)


async def test_a_source_still_being_made_when_leaving_is_cleaned_up_not_played(
    make_voice: Callable[..., DiscordVoice],
    guild: discord.Guild,
    channel: discord.VoiceChannel,
    hello: Speech,
) -> None:
    called = threading.Event()
    release = threading.Event()
    made = BrokenSource()

    def slow_factory(clip: AudioClip, *, ffmpeg: str, bitrate: int) -> discord.AudioSource:
        called.set()
        release.wait(5)
        return made

    voice = make_voice(source_factory=slow_factory)
    await voice.join(channel)
    client = client_of(guild)
    await voice.enqueue(str(guild.id), hello.clip)
    await until(called.is_set)

    assert await voice.leave(guild.id) is True  # returns without waiting for the factory
    release.set()
    await until(lambda: made.cleaned_up)  # as ffmpeg would be stopped

    assert client.plays == []
    assert not client.is_connected()


async def test_a_connection_that_times_out_is_a_service_error(
    make_voice: Callable[..., DiscordVoice],
    bot: commands.Bot,
    guild: discord.Guild,
    channel: discord.VoiceChannel,
) -> None:
    voice = make_voice(voice_client_class=TimingOutVoiceClient)

    with pytest.raises(ServiceError, match="in time"):
        await voice.join(channel)

    assert voice.channel_of(guild.id) is None
    assert bot.voice_clients == []  # discord.py disconnected the half-made client


async def test_close_leaves_every_guild(
    make_voice: Callable[..., DiscordVoice], bot: commands.Bot
) -> None:
    guilds = dpytest.get_config().guilds
    assert len(guilds) == 2
    voice = make_voice()
    for guild in guilds:
        await voice.join(dpytest.backend.make_voice_channel("Speech", guild))
    clients = [client_of(guild) for guild in guilds]
    assert all(client.is_connected() for client in clients)

    await voice.close()

    assert not any(client.is_connected() for client in clients)
    assert all(client.disconnected_at is not None for client in clients)
    assert bot.voice_clients == []
    assert all(voice.channel_of(guild.id) is None for guild in guilds)


# --- idle timeout ----------------------------------------------------------------------------


async def test_an_idle_connection_is_dropped(
    make_voice: Callable[..., DiscordVoice],
    bot: commands.Bot,
    guild: discord.Guild,
    channel: discord.VoiceChannel,
    hello: Speech,
) -> None:
    voice = make_voice(idle_seconds=0.3)
    joined = time.perf_counter()
    await voice.join(channel)
    client = client_of(guild)

    await until(lambda: client.disconnected_at is not None)

    assert client.disconnected_at is not None
    assert 0.3 <= client.disconnected_at - joined < 1.0
    assert not client.is_connected()
    assert bot.voice_clients == []
    assert voice.channel_of(guild.id) is None
    with pytest.raises(VoiceNotConnected):
        await voice.enqueue(str(guild.id), hello.clip)
    assert await voice.leave(guild.id) is False


async def test_a_clip_restarts_the_idle_countdown(
    make_voice: Callable[..., DiscordVoice],
    guild: discord.Guild,
    channel: discord.VoiceChannel,
    goodbye: Speech,
) -> None:
    voice = make_voice(idle_seconds=0.3)
    joined = time.perf_counter()
    await voice.join(channel)
    client = client_of(guild)

    await asyncio.sleep(0.2)
    await voice.enqueue(str(guild.id), goodbye.clip)
    await asyncio.sleep(0.25)  # 0.45 s after joining: past the first countdown
    assert client.is_connected()

    await until(lambda: client.disconnected_at is not None)

    [playback] = client.plays
    assert playback.ended is not None
    assert client.disconnected_at is not None
    assert_speech_packets(playback, goodbye.seconds)
    # Counted from the end of the clip, not from joining.
    assert client.disconnected_at - playback.ended >= 0.3
    assert client.disconnected_at - joined > 0.45


async def test_joining_again_restarts_the_idle_countdown(
    make_voice: Callable[..., DiscordVoice],
    guild: discord.Guild,
    channel: discord.VoiceChannel,
) -> None:
    voice = make_voice(idle_seconds=0.3)
    await voice.join(channel)
    client = client_of(guild)
    await asyncio.sleep(0.2)
    rejoined = time.perf_counter()
    await voice.join(channel)

    await until(lambda: client.disconnected_at is not None)

    assert client.connects == 1
    assert client.disconnected_at is not None
    assert client.disconnected_at - rejoined >= 0.3


def test_idle_seconds_must_be_positive(ffmpeg: str) -> None:
    with pytest.raises(ValueError, match="idle_seconds"):
        DiscordVoice(ffmpeg=ffmpeg, idle_seconds=0)
