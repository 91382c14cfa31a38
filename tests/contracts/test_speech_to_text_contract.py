"""The SpeechToText contract, run against the in-memory recogniser and offline Sphinx (a real
pocketsphinx model in a worker process: an ``engine`` test)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from audio_contract_support import silence

from trainerbot.adapters.memory import InMemorySpeechToText
from trainerbot.core.entities import Transcript
from trainerbot.ports import SpeechToText


def _sphinx() -> SpeechToText:
    from trainerbot.adapters.audio.recognition import SpeechRecognitionSpeechToText
    from trainerbot.adapters.audio.sphinx import SphinxEngine

    return SpeechRecognitionSpeechToText(SphinxEngine(), max_workers=1, name="sphinx")


IMPLEMENTATIONS: dict[str, Callable[[], SpeechToText]] = {
    # The fake hears what it is scripted to hear: here, as in silence, nothing.
    "memory": lambda: InMemorySpeechToText(""),
    "sphinx": _sphinx,
}


@pytest.fixture(
    params=[
        pytest.param("memory"),
        pytest.param("sphinx", marks=[pytest.mark.engine, pytest.mark.slow]),
    ]
)
def recogniser(request: pytest.FixtureRequest) -> Iterator[SpeechToText]:
    sut = IMPLEMENTATIONS[request.param]()
    yield sut
    close = getattr(sut, "close", None)
    if close is not None:
        close(wait=True)


def test_it_implements_the_port(recogniser: SpeechToText) -> None:
    assert isinstance(recogniser, SpeechToText)


async def test_silence_is_an_empty_transcript_not_an_error(recogniser: SpeechToText) -> None:
    transcript = await recogniser.transcribe(silence(1.0), language="en-US")

    assert isinstance(transcript, Transcript)
    assert not transcript.heard_anything
    assert transcript.language == "en-US"
