"""opus_source: what a voice channel plays, encoded to Opus by the real ffmpeg."""

from __future__ import annotations

import gc
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import discord
import pytest
from audio_fixtures import AudioFixtures, wav_duration

from trainerbot.adapters.discord.playback import opus_source
from trainerbot.core.entities import AudioClip
from trainerbot.core.errors import CapabilityUnavailable

PACKET_SECONDS = 0.020
MAX_OPUS_PACKET_BYTES = 1_275  # RFC 6716: the largest single Opus frame


def clip_of(path: Path, content_type: str | None = None) -> AudioClip:
    return AudioClip(data=path.read_bytes(), filename=path.name, content_type=content_type)


def packets(source: discord.AudioSource) -> Iterator[bytes]:
    """What discord.py's player does: read() until it returns nothing."""
    while packet := source.read():
        yield packet


@pytest.mark.parametrize(
    ("extension", "content_type"),
    [
        ("wav", "audio/wav"),  # espeak's speech
        ("mp3", "audio/mpeg"),  # gTTS's speech
        ("ogg", "audio/ogg"),  # OpenAI's speech: Opus already, re-encoded all the same
    ],
)
def test_speech_becomes_one_opus_packet_per_20_ms(
    audio_fixtures: AudioFixtures, ffmpeg_path: str, extension: str, content_type: str
) -> None:
    seconds = wav_duration(audio_fixtures.formats["wav"])
    source = opus_source(
        clip_of(audio_fixtures.formats[extension], content_type), ffmpeg=ffmpeg_path
    )
    try:
        assert source.is_opus()
        read = list(packets(source))
    finally:
        source.cleanup()

    assert len(read) == pytest.approx(seconds / PACKET_SECONDS, abs=2)
    assert all(0 < len(packet) <= MAX_OPUS_PACKET_BYTES for packet in read)
    # The Ogg stream's headers are not sent to Discord as if they were audio.
    assert not any(packet.startswith((b"OpusHead", b"OpusTags")) for packet in read)


def test_a_voice_message_with_60_ms_frames_is_repacketised_to_20_ms(
    audio_fixtures: AudioFixtures, ffmpeg_path: str, tmp_path: Path
) -> None:
    long_frames = tmp_path / "60ms.ogg"
    subprocess.run(
        [
            ffmpeg_path,
            "-loglevel",
            "error",
            "-i",
            str(audio_fixtures.formats["wav"]),
            "-c:a",
            "libopus",
            "-frame_duration",
            "60",
            str(long_frames),
        ],
        check=True,
    )
    seconds = wav_duration(audio_fixtures.formats["wav"])

    source = opus_source(clip_of(long_frames, "audio/ogg"), ffmpeg=ffmpeg_path)
    try:
        count = len(list(packets(source)))
    finally:
        source.cleanup()

    assert count == pytest.approx(seconds / PACKET_SECONDS, abs=2)


def test_cleanup_stops_and_reaps_ffmpeg_mid_stream(ffmpeg_path: str, tmp_path: Path) -> None:
    # Half a minute of noise, small as Opus at 6 kb/s (it fits in the input pipe at once) but
    # far more than the output pipe holds at 64 kb/s: ffmpeg is still writing when cleaned up.
    noise = tmp_path / "noise.ogg"
    subprocess.run(
        [
            ffmpeg_path,
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "anoisesrc=duration=30:sample_rate=48000",
            "-c:a",
            "libopus",
            "-b:a",
            "6k",
            str(noise),
        ],
        check=True,
    )
    source = opus_source(clip_of(noise, "audio/ogg"), ffmpeg=ffmpeg_path)
    process = source._process
    assert source.read()

    source.cleanup()

    # Killed, reaped and its pipe closed by cleanup() itself: no zombie, no open descriptor.
    assert process.returncode == -signal.SIGKILL
    assert process.stdout is not None
    assert process.stdout.closed


def test_a_clip_ffmpeg_cannot_read_plays_nothing(
    audio_fixtures: AudioFixtures, ffmpeg_path: str
) -> None:
    source = opus_source(clip_of(audio_fixtures.random_ogg), ffmpeg=ffmpeg_path)
    try:
        assert source.read() == b""
    finally:
        source.cleanup()


def test_a_missing_ffmpeg_is_unavailable(audio_fixtures: AudioFixtures, tmp_path: Path) -> None:
    with pytest.raises(CapabilityUnavailable) as caught:
        opus_source(clip_of(audio_fixtures.voice_message), ffmpeg=str(tmp_path / "ffmpeg"))

    assert str(caught.value) == (
        "ffmpeg could not be started (ffmpeg) to play speech; "
        "fix TRAINERBOT_FFMPEG_PATH or reinstall imageio-ffmpeg"
    )
    # The half-built source is collected quietly (its __del__ runs cleanup()).
    del caught
    gc.collect()
