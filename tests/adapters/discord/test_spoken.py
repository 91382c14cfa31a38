"""Voice through the bot: ``!join``/``!leave``, and answers spoken where the author listens.

The container's voice output is the real ``DiscordVoice`` with the real ffmpeg, the voice is
espeak's: the only fake is the connection, dpytest's voice client recording the Opus packets
that discord.py would send.
"""

from __future__ import annotations

import asyncio

import discord
import discord.ext.test as dpytest
import imageio_ffmpeg
import pytest
from discord_support import ANSWER, Server, say
from voice_support import PACKET_SECONDS, RecordingVoiceClient, enter, played

from trainerbot.adapters.audio.espeak import EspeakTextToSpeech
from trainerbot.adapters.discord.voice import DiscordVoice
from trainerbot.container import Container


@pytest.fixture
def container(container: Container) -> Container:
    container.text_to_speech.override(EspeakTextToSpeech())
    container.voice_output.override(
        DiscordVoice(
            ffmpeg=str(imageio_ffmpeg.get_ffmpeg_exe()), voice_client_class=RecordingVoiceClient
        )
    )
    return container


@pytest.fixture
def voice_channel(server: Server) -> discord.VoiceChannel:
    return dpytest.backend.make_voice_channel("Lounge", server.guild)


def voice_client(server: Server) -> RecordingVoiceClient | None:
    client = server.guild.voice_client
    assert client is None or isinstance(client, RecordingVoiceClient)
    return client


async def test_an_answer_is_also_spoken_in_the_authors_voice_channel(
    server: Server, voice_channel: discord.VoiceChannel
) -> None:
    enter(server, server.member, voice_channel)

    replies = await say(server, "What is the capital of France?", by=server.member)

    assert replies == [ANSWER]
    [playback] = await played(server)
    client = voice_client(server)
    assert client is not None
    assert client.channel.id == voice_channel.id
    assert playback.error is None
    # Real speech encoded by ffmpeg: one Opus frame per 20 ms, for well over a second.
    assert len(playback.packets) * PACKET_SECONDS > 1.0
    assert all(0 < len(packet) <= 1_275 for packet in playback.packets)


async def test_two_answers_are_spoken_one_after_the_other_on_one_connection(
    server: Server, voice_channel: discord.VoiceChannel
) -> None:
    enter(server, server.member, voice_channel)
    enter(server, server.trainer, voice_channel)

    await say(server, "first question", by=server.member)
    await say(server, "second question", by=server.trainer)

    first, second = await played(server, count=2)
    client = voice_client(server)
    assert client is not None
    assert client.connects == 1
    assert first.ended is not None
    assert first.ended <= second.started


async def test_an_author_outside_voice_gets_the_text_answer_only(server: Server) -> None:
    replies = await say(server, "What is the capital of France?", by=server.member)

    assert replies == [ANSWER]
    await asyncio.sleep(0.05)  # room for a (wrong) background join
    assert voice_client(server) is None


async def test_join_and_leave_the_callers_voice_channel(
    server: Server, voice_channel: discord.VoiceChannel
) -> None:
    enter(server, server.member, voice_channel)

    assert await say(server, "!join", by=server.member) == [
        "🔊 Joined Lounge; I will speak my answers there."
    ]
    client = voice_client(server)
    assert client is not None
    assert client.is_connected()
    assert client.channel.id == voice_channel.id

    assert await say(server, "!leave", by=server.member) == ["👋 Left the voice channel."]
    assert voice_client(server) is None
    assert await say(server, "!leave", by=server.member) == ["I am not in a voice channel here."]


async def test_join_asks_the_caller_to_be_in_a_voice_channel_first(server: Server) -> None:
    assert await say(server, "!join", by=server.member) == [
        "Join a voice channel first, then ask me to join you."
    ]
    assert voice_client(server) is None
