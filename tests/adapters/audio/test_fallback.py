"""FallbackTextToSpeech: the online engine first, offline espeak when it fails; and
FallbackSpeechToText: Whisper first, sphinx once Whisper cannot be used."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from trainerbot.adapters.audio.espeak import EspeakTextToSpeech
from trainerbot.adapters.audio.fallback import FallbackSpeechToText, FallbackTextToSpeech
from trainerbot.adapters.audio.gtts import GttsTextToSpeech
from trainerbot.adapters.memory import InMemorySpeechToText
from trainerbot.core.entities import AudioClip, PcmAudio, Transcript
from trainerbot.core.errors import (
    CapabilityUnavailable,
    InvalidInput,
    LanguageUnavailable,
    ServiceError,
    TrainerbotError,
)
from trainerbot.ports import TextToSpeech

SECRET_TEXT = "my bank PIN is 4921"


class ScriptedTextToSpeech(TextToSpeech):
    """Answers ``clip``, or raises ``error``; every request is kept in ``spoken``."""

    def __init__(self, *, error: Exception | None = None, name: str = "scripted") -> None:
        self.error = error
        self.clip = AudioClip(data=f"{name} speech".encode(), filename=f"{name}.mp3")
        self.spoken: list[tuple[str, str]] = []

    async def synthesize(self, text: str, *, language: str) -> AudioClip:
        self.spoken.append((text, language))
        if self.error is not None:
            raise self.error
        return self.clip


@pytest.fixture
def espeak() -> EspeakTextToSpeech:
    return EspeakTextToSpeech()


async def test_a_working_primary_speaks_and_the_fallback_is_not_asked(
    espeak: EspeakTextToSpeech,
) -> None:
    primary = ScriptedTextToSpeech(name="online")
    sut = FallbackTextToSpeech(primary, espeak, name="online+espeak")

    clip = await sut.synthesize("hello", language="en-US")

    assert clip == primary.clip
    assert primary.spoken == [("hello", "en-US")]


@pytest.mark.parametrize(
    "error",
    [
        ServiceError("Google text-to-speech could not be reached; please try again later."),
        CapabilityUnavailable("Google text-to-speech cannot speak 'xx'."),
    ],
)
async def test_a_failing_primary_falls_back_to_espeak_with_a_warning(
    espeak: EspeakTextToSpeech, caplog: pytest.LogCaptureFixture, error: TrainerbotError
) -> None:
    primary = ScriptedTextToSpeech(error=error, name="online")
    sut = FallbackTextToSpeech(primary, espeak, name="online+espeak")

    with caplog.at_level(logging.WARNING, logger="trainerbot.adapters.audio.fallback"):
        clip = await sut.synthesize(SECRET_TEXT, language="en-US")

    assert clip.content_type == "audio/wav"
    assert clip.data.startswith(b"RIFF")
    assert len(clip.data) > 10_000  # speech, not an empty WAV header
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "ScriptedTextToSpeech" in message
    assert "EspeakTextToSpeech" in message
    assert str(error) in message
    assert SECRET_TEXT not in message


async def test_when_both_fail_the_primarys_error_is_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    primary_error = ServiceError("Google text-to-speech could not be reached; please try again.")
    primary = ScriptedTextToSpeech(error=primary_error, name="online")
    fallback = ScriptedTextToSpeech(error=CapabilityUnavailable("no espeak here"), name="offline")
    sut = FallbackTextToSpeech(primary, fallback, name="online+offline")

    with pytest.raises(ServiceError) as raised:
        await sut.synthesize(SECRET_TEXT, language="en-US")

    assert raised.value is primary_error
    assert fallback.spoken == [(SECRET_TEXT, "en-US")]
    assert SECRET_TEXT not in caplog.text


async def test_a_bad_request_is_not_retried_with_the_fallback(
    espeak: EspeakTextToSpeech,
) -> None:
    primary = ScriptedTextToSpeech(error=InvalidInput("There is nothing to say."))
    fallback = ScriptedTextToSpeech(name="offline")
    sut = FallbackTextToSpeech(primary, fallback, name="online+offline")

    with pytest.raises(InvalidInput):
        await sut.synthesize("", language="en-US")

    assert fallback.spoken == []


@pytest.fixture
def gtts() -> Iterator[GttsTextToSpeech]:
    tts = GttsTextToSpeech(timeout=2.0)
    try:
        yield tts
    finally:
        tts.close()


async def test_gtts_without_network_falls_back_to_espeak(
    gtts: GttsTextToSpeech,
    espeak: EspeakTextToSpeech,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The real pair the bot is configured with by default; pytest-socket keeps Google away.
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    sut = FallbackTextToSpeech(gtts, espeak, name="gtts+espeak")

    with caplog.at_level(logging.WARNING, logger="trainerbot.adapters.audio.fallback"):
        clip = await sut.synthesize("the weather is nice today", language="en-US")

    assert clip.filename == "speech.wav"
    assert "GttsTextToSpeech failed" in caplog.text


# --- FallbackSpeechToText: Whisper first, sphinx once Whisper proves unusable ----------------


class FailingSpeechToText(InMemorySpeechToText):
    """Raises ``error`` (while it is set) instead of hearing; counts the attempts and closes."""

    def __init__(self, error: Exception | None, text: str = "whisper heard") -> None:
        super().__init__(text)
        self.error = error
        self.closed: list[bool] = []

    async def transcribe(self, audio: PcmAudio, *, language: str) -> Transcript:
        self.heard.append((audio, language))
        if self.error is not None:
            raise self.error
        return Transcript(text=self.text, language=language, engine="whisper")

    def close(self, *, wait: bool = False) -> None:
        self.closed.append(wait)


AUDIO = PcmAudio(samples=b"\x00\x00" * 1_600)


async def test_an_unusable_recogniser_is_given_up_once_and_for_good(
    caplog: pytest.LogCaptureFixture,
) -> None:
    whisper = FailingSpeechToText(CapabilityUnavailable("model files do not match"))
    sphinx = InMemorySpeechToText("sphinx heard")
    sut = FallbackSpeechToText(whisper, sphinx, name="faster_whisper")

    with caplog.at_level(logging.WARNING):
        first = await sut.transcribe(AUDIO, language="en-US")
        second = await sut.transcribe(AUDIO, language="en-US")

    assert (first.text, second.text) == ("sphinx heard", "sphinx heard")
    assert len(whisper.heard) == 1  # not tried again
    assert whisper.closed == [False]  # its workers ended when it was given up
    assert sut.reason == "model files do not match"
    assert sut.name == "InMemorySpeechToText"
    [warning] = [r.getMessage() for r in caplog.records if r.name.endswith("fallback")]
    assert "model files do not match" in warning


@pytest.mark.parametrize(
    "error",
    [LanguageUnavailable("Whisper does not know the language 'tlh'."), ServiceError("busy")],
    ids=["a language it lacks", "a failure of a working engine"],
)
async def test_a_working_recogniser_s_own_errors_are_raised_not_hidden(error: Exception) -> None:
    whisper = FailingSpeechToText(error)
    sphinx = InMemorySpeechToText("sphinx heard")
    sut = FallbackSpeechToText(whisper, sphinx, name="faster_whisper")

    with pytest.raises(type(error)):
        await sut.transcribe(AUDIO, language="tlh")

    assert sphinx.heard == []
    assert sut.reason is None
    whisper.error = None  # still the one that answers
    assert (await sut.transcribe(AUDIO, language="en-US")).engine == "whisper"


def test_closing_the_fallback_ends_both_recognisers() -> None:
    whisper, sphinx = FailingSpeechToText(None), FailingSpeechToText(None)

    FallbackSpeechToText(whisper, sphinx, name="faster_whisper").close(wait=True)

    assert (whisper.closed, sphinx.closed) == ([True], [True])
