"""The length limit (core's rule, ``core.limits``) on recordings the real ffmpeg decoded: the use
case over the real converter, its decoding cap set to the limit as the container sets it."""

import re
from pathlib import Path

import pytest
from audio_fixtures import TOO_LONG_LIMIT, AudioFixtures, wav_duration

from trainerbot.adapters.audio.ffmpeg import FfmpegAudioConverter
from trainerbot.adapters.memory import InMemorySpeechToText, InMemoryWorkspace
from trainerbot.core.entities import AudioClip
from trainerbot.core.errors import AudioTooLong
from trainerbot.core.limits import Limits
from trainerbot.core.transcribe_voice import TranscribeRequest, TranscribeVoice


def transcriber(max_seconds: float, heard: InMemorySpeechToText) -> TranscribeVoice:
    """The use case over the real converter, its decoding cap set to the use case's limit as the
    container sets it; what reaches recognition is kept in ``heard``."""
    return TranscribeVoice(
        converter=FfmpegAudioConverter(max_seconds=max_seconds),
        speech_to_text=heard,
        workspace=InMemoryWorkspace(),
        language="en-US",
        limits=Limits(max_audio_seconds=max_seconds),
    )


def request_for(path: Path) -> TranscribeRequest:
    return TranscribeRequest(audio=AudioClip(data=path.read_bytes(), filename=path.name))


async def test_a_recording_just_over_the_limit_is_refused_stating_its_length(
    audio_fixtures: AudioFixtures,
) -> None:
    seconds = wav_duration(audio_fixtures.formats["wav"])
    heard = InMemorySpeechToText()
    assert 1.6 < seconds < 2.4  # past the limit, within the converter's margin

    with pytest.raises(AudioTooLong) as caught:
        await transcriber(1.5, heard).execute(request_for(audio_fixtures.formats["wav"]))

    stated = re.fullmatch(
        r"That recording is (\d+\.\d) s long; the limit is 1\.5 s\.", str(caught.value)
    )
    assert stated is not None, str(caught.value)
    assert float(stated[1]) == pytest.approx(seconds, abs=0.05)
    assert heard.heard == []


@pytest.mark.parametrize("container", ["wav", "mp3", "ogg"])
async def test_a_recording_of_exactly_the_limit_is_recognised(
    audio_fixtures: AudioFixtures, container: str
) -> None:
    # Encoded as mp3 or Ogg Opus, the same speech comes back a few milliseconds longer.
    seconds = wav_duration(audio_fixtures.formats["wav"])
    heard = InMemorySpeechToText()

    result = await transcriber(seconds, heard).execute(
        request_for(audio_fixtures.formats[container])
    )

    assert result.duration_seconds == pytest.approx(seconds, abs=0.05)
    assert len(heard.heard) == 1


async def test_a_recording_far_over_the_limit_is_refused_without_being_decoded_whole(
    audio_fixtures: AudioFixtures,
) -> None:
    heard = InMemorySpeechToText()

    with pytest.raises(AudioTooLong) as caught:
        await transcriber(TOO_LONG_LIMIT, heard).execute(request_for(audio_fixtures.too_long))

    assert str(caught.value) == "That recording is longer than 6 s; the limit is 5 s."
    assert heard.heard == []
