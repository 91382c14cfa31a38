"""The AudioConverter contract, run against the in-memory converter and the ffmpeg converter
(the real ffmpeg binary decoding a real WAV file)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from audio_contract_support import tone_samples, wav_clip

from trainerbot.adapters.audio.ffmpeg import FfmpegAudioConverter
from trainerbot.adapters.memory import InMemoryAudioConverter
from trainerbot.core.entities import AudioClip
from trainerbot.core.errors import UndecodableAudio
from trainerbot.ports import AudioConverter

IMPLEMENTATIONS: dict[str, Callable[[], AudioConverter]] = {
    "memory": InMemoryAudioConverter,
    "ffmpeg": FfmpegAudioConverter,
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def converter(request: pytest.FixtureRequest) -> AudioConverter:
    return IMPLEMENTATIONS[request.param]()


def test_it_implements_the_port(converter: AudioConverter) -> None:
    assert isinstance(converter, AudioConverter)


async def test_a_16_khz_wav_becomes_16_khz_pcm_of_the_same_length(
    converter: AudioConverter,
) -> None:
    pcm = await converter.to_pcm(wav_clip(tone_samples(0.5)))

    assert pcm.sample_rate == 16_000
    assert len(pcm.samples) % 2 == 0  # whole 16-bit samples
    assert pcm.duration_seconds == pytest.approx(0.5, abs=0.01)


async def test_input_that_is_not_audio_is_undecodable(converter: AudioConverter) -> None:
    text = AudioClip(
        data=b"NOT AUDIO: a shopping list\nmilk\neggs\n" * 20,
        filename="voice-message.ogg",
        content_type="audio/ogg",
    )

    with pytest.raises(UndecodableAudio):
        await converter.to_pcm(text)
