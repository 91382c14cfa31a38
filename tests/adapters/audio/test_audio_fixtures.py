"""The generated audio is what the other audio tests take it to be."""

from __future__ import annotations

import struct
import subprocess
import sys
import wave
from pathlib import Path

import audio_fixtures as module
import pytest
from audio_fixtures import (
    FORMAT_OPTIONS,
    SENTENCES,
    TOO_LONG_SECONDS,
    AudioFixtures,
    wav_duration,
)


def opus_head(path: Path) -> tuple[int, int]:
    """(channels, input sample rate) from an Ogg Opus file's identification header."""
    data = path.read_bytes()
    assert data.startswith(b"OggS")
    head = data.index(b"OpusHead")
    channels = data[head + 9]
    (rate,) = struct.unpack_from("<I", data, head + 12)
    return channels, rate


def test_each_sentence_is_spoken_as_a_22khz_mono_wav(audio_fixtures: AudioFixtures) -> None:
    assert audio_fixtures.sentences == SENTENCES
    assert audio_fixtures.speech_wav.keys() == SENTENCES.keys()
    for path in audio_fixtures.speech_wav.values():
        with wave.open(str(path), "rb") as reader:
            assert (reader.getnchannels(), reader.getsampwidth()) == (1, 2)
            assert reader.getframerate() == 22_050
        assert 1.0 < wav_duration(path) < 4.0


def test_the_voice_message_is_48khz_mono_ogg_opus_like_discord_s(
    audio_fixtures: AudioFixtures,
) -> None:
    assert opus_head(audio_fixtures.voice_message) == (1, 48_000)
    assert opus_head(audio_fixtures.formats["ogg"]) == (1, 48_000)


def test_every_container_is_there(audio_fixtures: AudioFixtures) -> None:
    assert audio_fixtures.formats.keys() == {"wav", *FORMAT_OPTIONS}
    signatures = {
        "wav": b"RIFF",
        "ogg": b"OggS",
        "flac": b"fLaC",
        "webm": b"\x1a\x45\xdf\xa3",
    }
    for extension, path in audio_fixtures.formats.items():
        data = path.read_bytes()
        assert path.suffix == f".{extension}"
        assert data.startswith(signatures.get(extension, b"")), extension
    assert audio_fixtures.formats["m4a"].read_bytes()[4:8] == b"ftyp"


def test_the_m4a_fixtures_differ_only_in_where_their_index_is(
    audio_fixtures: AudioFixtures,
) -> None:
    faststart = audio_fixtures.formats["m4a"].read_bytes()
    index_at_end = audio_fixtures.m4a_index_at_end.read_bytes()

    assert faststart.index(b"moov") < faststart.index(b"mdat")
    assert index_at_end.index(b"mdat") < index_at_end.index(b"moov")
    # Big enough that ffmpeg cannot find the index within what it buffers from a pipe.
    assert len(index_at_end) > 64 * 1024


def test_the_bad_inputs_are_bad_in_the_way_they_claim(audio_fixtures: AudioFixtures) -> None:
    assert audio_fixtures.empty.read_bytes() == b""
    noise = audio_fixtures.random_ogg.read_bytes()
    assert len(noise) == 2_000
    assert audio_fixtures.random_ogg.suffix == ".ogg"
    assert not noise.startswith(b"OggS")
    recording = audio_fixtures.too_long.read_bytes()
    truncated = audio_fixtures.truncated_ogg.read_bytes()
    assert recording.startswith(truncated)
    assert len(truncated) == len(recording) * 3 // 10
    with wave.open(str(audio_fixtures.silence), "rb") as reader:
        assert reader.getnframes() / reader.getframerate() == pytest.approx(0.2)
        assert set(reader.readframes(reader.getnframes())) == {0}
    assert opus_head(audio_fixtures.too_long) == (1, 48_000)


def test_the_too_long_recording_is_long_enough(audio_fixtures: AudioFixtures) -> None:
    long_speech = audio_fixtures.too_long.with_name("long-speech.wav")
    assert wav_duration(long_speech) >= TOO_LONG_SECONDS


def test_the_module_run_as_a_script_writes_the_same_files(
    tmp_path: Path, audio_fixtures: AudioFixtures
) -> None:
    result = subprocess.run(
        [sys.executable, module.__file__, str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    written = {path.name: path.read_bytes() for path in (tmp_path / "out").iterdir()}
    assert {"voice-message.ogg", "too-long.ogg", "empty.ogg", "silence.wav"} <= written.keys()
    assert {f"numbers.{extension}" for extension in FORMAT_OPTIONS} <= written.keys()
    # Reproducible: another process, another moment, the very same bytes (speech included).
    session = audio_fixtures.voice_message.parent
    assert written == {path.name: path.read_bytes() for path in session.iterdir()}
