"""EspeakTextToSpeech: real espeak-ng from the espeakng-loader wheel, through ctypes."""

from __future__ import annotations

import array
import asyncio
import io
import logging
import threading
import wave

import pytest

from trainerbot.adapters.audio import espeak
from trainerbot.adapters.audio.espeak import EspeakTextToSpeech, espeak_voice_candidates
from trainerbot.core.entities import AudioClip
from trainerbot.core.errors import InvalidInput
from trainerbot.ports import TextToSpeech

SENTENCE = "The weather is nice today, so please open the door."


@pytest.fixture
def sut() -> EspeakTextToSpeech:
    return EspeakTextToSpeech()


def read_wav(clip: AudioClip) -> tuple[wave._wave_params, bytes]:
    with wave.open(io.BytesIO(clip.data), "rb") as reader:
        return reader.getparams(), reader.readframes(reader.getnframes())


def seconds(clip: AudioClip) -> float:
    params, _ = read_wav(clip)
    return params.nframes / params.framerate


def test_it_is_a_text_to_speech(sut: EspeakTextToSpeech) -> None:
    assert isinstance(sut, TextToSpeech)


async def test_a_sentence_becomes_a_mono_16_bit_wav_of_plausible_length(
    sut: EspeakTextToSpeech,
) -> None:
    clip = await sut.synthesize(SENTENCE, language="en-US")

    assert clip.filename == "speech.wav"
    assert clip.content_type == "audio/wav"
    params, frames = read_wav(clip)
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 22_050)
    # Ten words at espeak's 175 words a minute, with a pause at the comma.
    assert 2.0 < params.nframes / params.framerate < 5.0
    assert max(abs(sample) for sample in array.array("h", frames)) > 3_000


async def test_each_language_speaks_with_its_own_voice(sut: EspeakTextToSpeech) -> None:
    text = "Привет, как дела?"

    russian = await sut.synthesize(text, language="ru-RU")
    english = await sut.synthesize(text, language="en-US")
    german = await sut.synthesize("Guten Tag, wie geht es Ihnen?", language="de-DE")

    # espeak's English voice spells Cyrillic out letter by letter: far longer than the words.
    assert 0.5 < seconds(russian) < 2.5
    assert seconds(english) > 2 * seconds(russian)
    assert 0.5 < seconds(german) < 4.0


async def test_a_region_espeak_lacks_speaks_the_language(sut: EspeakTextToSpeech) -> None:
    # espeak's output varies by a few samples from call to call (random breath noise, pitch
    # flutter), so voices are compared by length, not byte for byte.
    regional = await sut.synthesize("Привет, как дела?", language="ru-RU")
    plain = await sut.synthesize("Привет, как дела?", language="ru")

    assert seconds(regional) == pytest.approx(seconds(plain), abs=0.05)


async def test_an_unknown_language_speaks_english_with_a_warning(
    sut: EspeakTextToSpeech, caplog: pytest.LogCaptureFixture
) -> None:
    text = "Привет, как дела?"  # spelled out by English, spoken by Russian: lengths tell them apart
    with caplog.at_level(logging.WARNING, logger="trainerbot.adapters.audio.espeak"):
        unknown = await sut.synthesize(text, language="xx-YY")
    english = await sut.synthesize(text, language="en-US")
    russian = await sut.synthesize(text, language="ru-RU")

    assert seconds(unknown) == pytest.approx(seconds(english), abs=0.05)
    assert seconds(unknown) > 2 * seconds(russian)
    assert [record.levelname for record in caplog.records] == ["WARNING"]
    assert "xx-YY" in caplog.records[0].getMessage()


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "\0"])
async def test_empty_text_is_invalid_input(sut: EspeakTextToSpeech, text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        await sut.synthesize(text, language="en-US")

    assert str(caught.value) == "There is nothing to say."


async def test_a_nul_character_does_not_end_the_text(sut: EspeakTextToSpeech) -> None:
    hello = await sut.synthesize("hello", language="en-US")
    both = await sut.synthesize("hello\0 and goodbye", language="en-US")

    assert seconds(both) > seconds(hello) + 0.4


async def test_speed_and_variant_are_configurable() -> None:
    slow = await EspeakTextToSpeech(words_per_minute=100).synthesize(SENTENCE, language="en-US")
    fast = await EspeakTextToSpeech(words_per_minute=300).synthesize(SENTENCE, language="en-US")
    female = await EspeakTextToSpeech(variant="f2").synthesize(SENTENCE, language="en-US")
    default = await EspeakTextToSpeech().synthesize(SENTENCE, language="en-US")

    assert seconds(slow) > 1.8 * seconds(fast)
    assert female.data != default.data


@pytest.mark.parametrize(
    "options", [{"words_per_minute": 10}, {"words_per_minute": 1_000}, {"variant": "f2; rm"}]
)
def test_nonsense_settings_are_refused_at_construction(options: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must be"):
        EspeakTextToSpeech(**options)  # type: ignore[arg-type]


async def test_synthesis_runs_in_one_worker_thread_never_on_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    threads: set[str] = set()
    engine = espeak._shared_engine()
    real = engine.synthesize

    def spying(text: str, **options: object) -> object:
        threads.add(threading.current_thread().name)
        return real(text, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "synthesize", spying)
    sut = EspeakTextToSpeech()

    clips = await asyncio.gather(*(sut.synthesize(SENTENCE, language="en-US") for _ in range(8)))

    assert len(threads) == 1
    assert next(iter(threads)).startswith("espeak")
    assert threading.current_thread().name not in threads
    # Calls from many tasks are serialised: none gets another's samples or a mix of two.
    lengths = {seconds(clip) for clip in clips}
    assert max(lengths) - min(lengths) < 0.05
    assert min(lengths) > 2.0


@pytest.mark.parametrize(
    ("language", "voices"),
    [
        ("en-US", ["en-us"]),
        ("en", ["en-us"]),
        ("en-GB", ["en", "en-us"]),
        ("ru-RU", ["ru-ru", "ru"]),
        ("pt_BR", ["pt-br", "pt"]),
        ("zh-CN", ["cmn"]),
        ("de", ["de"]),
    ],
)
def test_language_tags_map_to_espeak_voices(language: str, voices: list[str]) -> None:
    assert espeak_voice_candidates(language) == voices
