"""The TextToSpeech contract, run against the in-memory voice and espeak-ng (the library the
espeakng-loader wheel bundles, offline)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from trainerbot.adapters.audio.espeak import EspeakTextToSpeech
from trainerbot.adapters.memory import InMemoryTextToSpeech
from trainerbot.core.errors import InvalidInput
from trainerbot.ports import TextToSpeech

IMPLEMENTATIONS: dict[str, Callable[[], TextToSpeech]] = {
    "memory": InMemoryTextToSpeech,
    "espeak": EspeakTextToSpeech,
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def voice(request: pytest.FixtureRequest) -> TextToSpeech:
    return IMPLEMENTATIONS[request.param]()


def test_it_implements_the_port(voice: TextToSpeech) -> None:
    assert isinstance(voice, TextToSpeech)


@pytest.mark.parametrize("language", ["en-US", "ru-RU"])
async def test_text_becomes_an_encoded_clip(voice: TextToSpeech, language: str) -> None:
    clip = await voice.synthesize("The model finished training.", language=language)

    assert clip.data
    assert clip.filename


async def test_longer_text_gives_a_longer_clip(voice: TextToSpeech) -> None:
    short = await voice.synthesize("Yes.", language="en-US")
    long = await voice.synthesize("Yes. " + "The model finished training. " * 4, language="en-US")

    assert long.size > short.size


@pytest.mark.parametrize("text", ["", "   \n"])
async def test_nothing_to_say_is_invalid_input(voice: TextToSpeech, text: str) -> None:
    with pytest.raises(InvalidInput):
        await voice.synthesize(text, language="en-US")
