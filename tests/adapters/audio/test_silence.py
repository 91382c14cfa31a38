"""split_on_silence on real speech (made by espeak-ng, decoded by the real ffmpeg) and on made-up
samples: where it cuts, that nothing is lost, and that it runs no program."""

from __future__ import annotations

import array
import subprocess
from pathlib import Path

import pytest
from audio_fixtures import AudioFixtures

from trainerbot.adapters.audio.ffmpeg import FfmpegAudioConverter
from trainerbot.adapters.audio.silence import split_on_silence
from trainerbot.core.entities import AudioClip, PcmAudio


def peak(pcm: PcmAudio) -> int:
    samples = array.array("h", pcm.samples)
    return max((abs(sample) for sample in samples), default=0)


def clip_of(path: Path) -> AudioClip:
    return AudioClip(data=path.read_bytes(), filename=path.name)


@pytest.fixture
async def long_speech(audio_fixtures: AudioFixtures) -> PcmAudio:
    """The too-long recording decoded: sentences with half a second of silence between, 9 s."""
    return await FfmpegAudioConverter().to_pcm(clip_of(audio_fixtures.too_long))


def test_a_long_recording_is_cut_in_its_silences(long_speech: PcmAudio) -> None:
    pieces = split_on_silence(long_speech, max_chunk_seconds=3.0)

    assert len(pieces) >= 3
    assert all(piece.duration_seconds <= 3.0 for piece in pieces)
    assert all(piece.sample_rate == long_speech.sample_rate for piece in pieces)
    assert b"".join(piece.samples for piece in pieces) == long_speech.samples
    cut = 0
    for piece in pieces[:-1]:
        cut += len(piece.samples) // 2
        around = PcmAudio(samples=long_speech.samples[2 * (cut - 160) : 2 * (cut + 160)])
        assert peak(around) < 1_000, f"cut at {cut / 16_000:.2f} s is not in a silence"


def test_a_recording_that_fits_is_one_piece_as_it_is(long_speech: PcmAudio) -> None:
    assert split_on_silence(long_speech)[0] is long_speech
    assert split_on_silence(long_speech, max_chunk_seconds=30.0) == [long_speech]


def test_nothing_gives_no_pieces() -> None:
    assert split_on_silence(PcmAudio(samples=b"")) == []


@pytest.mark.parametrize(
    "samples",
    [
        b"\0\0" * 16_000 * 7,  # digital silence: no sound to cut between
        array.array("h", [12_000, -12_000] * 8_000 * 7).tobytes(),  # sound without a pause
    ],
    ids=["silence", "no-pause"],
)
def test_without_pauses_to_cut_at_pieces_are_cut_hard_at_the_limit(samples: bytes) -> None:
    pcm = PcmAudio(samples=samples)

    pieces = split_on_silence(pcm, max_chunk_seconds=3.0)

    assert [piece.duration_seconds for piece in pieces] == [3.0, 3.0, 1.0]
    assert b"".join(piece.samples for piece in pieces) == samples


def test_splitting_runs_no_program(long_speech: PcmAudio, monkeypatch: pytest.MonkeyPatch) -> None:
    # pydub's file readers call ffprobe, which imageio-ffmpeg does not ship: raw samples only.
    def no_programs(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a program was started: {args}")

    monkeypatch.setattr(subprocess, "Popen", no_programs)

    assert len(split_on_silence(long_speech, max_chunk_seconds=2.0)) >= 4


def test_a_chunk_length_must_be_positive(long_speech: PcmAudio) -> None:
    with pytest.raises(ValueError, match="positive"):
        split_on_silence(long_speech, max_chunk_seconds=0)
