"""SphinxEngine through SpeechRecognitionSpeechToText, on real speech made by espeak-ng.

Sphinx's accuracy on synthetic speech is poor: tests assert the fixtures' keywords (words it
reliably hears), not exact text. Sphinx runs in worker processes (pocketsphinx holds the GIL
while it decodes), so the engines these tests subclass to count things live at module level,
where a worker process can import them, and count into files, which every process can append to.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pytest
from audio_fixtures import FORMAT_SENTENCE, KEYWORDS, AudioFixtures

from trainerbot.adapters.audio.engine import RecognitionEngine
from trainerbot.adapters.audio.espeak import EspeakTextToSpeech
from trainerbot.adapters.audio.ffmpeg import FfmpegAudioConverter
from trainerbot.adapters.audio.recognition import SpeechRecognitionSpeechToText
from trainerbot.adapters.audio.sphinx import SphinxEngine, SphinxModel
from trainerbot.core.entities import AudioClip, PcmAudio
from trainerbot.core.errors import CapabilityUnavailable, ServiceError

if TYPE_CHECKING:
    import speech_recognition as sr
else:
    sr = pytest.importorskip("speech_recognition")  # at run time too, for AudioData

if TYPE_CHECKING:
    from conftest import LoopWatch


def wanted(name: str) -> tuple[tuple[str, ...], int]:
    """The fixture's keywords for a sentence, and how many of them Sphinx must hear: all of one
    or two, two of three. The fixtures were checked with a fresh decoder; a warm one carries a
    little state from the recordings before (see SphinxEngine), and which worker gets which
    recording varies, so one word in three may come out differently ("four" as "farms")."""
    keywords = KEYWORDS[name]
    return keywords, max(1, math.ceil(len(keywords) * 2 / 3))


MAX_TICKER_GAP = 0.050


def words(text: str) -> set[str]:
    return set(text.lower().split())


def assert_hears(text: str, keywords: tuple[str, ...], at_least: int) -> None:
    heard = words(text) & set(keywords)
    assert len(heard) >= at_least, (
        f"heard {sorted(heard)} of {list(keywords)} (at least {at_least} wanted) in {text!r}"
    )


async def pcm_of(converter: FfmpegAudioConverter, path: Path) -> PcmAudio:
    data = await asyncio.to_thread(path.read_bytes)
    return await converter.to_pcm(AudioClip(data=data, filename=path.name))


@pytest.fixture(scope="module")
def sphinx() -> Iterator[SpeechRecognitionSpeechToText]:
    """One adapter for the module: its two worker processes start once and stay warm."""
    adapter = SpeechRecognitionSpeechToText(SphinxEngine(), max_workers=2, name="sphinx")
    try:
        yield adapter
    finally:
        adapter.close(wait=True)


# --- recognition -------------------------------------------------------------------------------


async def test_sphinx_hears_the_spoken_sentences(
    sphinx: SpeechRecognitionSpeechToText,
    audio_fixtures: AudioFixtures,
    converter: FfmpegAudioConverter,
) -> None:
    names = list(audio_fixtures.speech_wav)
    pcms = [await pcm_of(converter, audio_fixtures.speech_wav[name]) for name in names]

    transcripts = await asyncio.gather(*(sphinx.transcribe(p, language="en-US") for p in pcms))

    for name, transcript in zip(names, transcripts, strict=True):
        assert_hears(transcript.text, *wanted(name))
        assert (transcript.language, transcript.engine) == ("en-US", "sphinx")


async def test_sphinx_hears_a_discord_voice_message(
    sphinx: SpeechRecognitionSpeechToText,
    audio_fixtures: AudioFixtures,
    converter: FfmpegAudioConverter,
) -> None:
    assert audio_fixtures.format_sentence == audio_fixtures.sentences[FORMAT_SENTENCE]
    pcm = await pcm_of(converter, audio_fixtures.voice_message)

    transcript = await sphinx.transcribe(pcm, language="en-US")

    assert_hears(transcript.text, *wanted(FORMAT_SENTENCE))


async def test_silence_is_nothing_recognisable_not_an_error(
    sphinx: SpeechRecognitionSpeechToText,
    audio_fixtures: AudioFixtures,
    converter: FfmpegAudioConverter,
) -> None:
    # Left to itself the decoder "hears" a word in silence; the voice check says nobody spoke.
    pcm = await pcm_of(converter, audio_fixtures.silence)

    transcript = await sphinx.transcribe(pcm, language="en-US")

    assert transcript.text == ""
    assert not transcript.heard_anything


async def test_no_samples_at_all_is_nothing_recognisable(
    sphinx: SpeechRecognitionSpeechToText,
) -> None:
    transcript = await sphinx.transcribe(PcmAudio(samples=b""), language="en-US")

    assert transcript.text == ""


@pytest.mark.parametrize("language", ["ru-RU", "de", "fr_FR"])
async def test_a_language_other_than_english_is_refused_naming_the_engines_that_know_it(
    sphinx: SpeechRecognitionSpeechToText, language: str
) -> None:
    with pytest.raises(CapabilityUnavailable) as raised:
        await sphinx.transcribe(PcmAudio(samples=b"\0\0" * 1600), language=language)

    message = str(raised.value)
    assert "only knows English" in message
    assert "TRAINERBOT_STT_ENGINE=google or openai" in message
    assert language in message


async def test_espeak_speech_comes_back_as_text_through_ffmpeg_and_sphinx(
    sphinx: SpeechRecognitionSpeechToText, converter: FfmpegAudioConverter
) -> None:
    voice = EspeakTextToSpeech(variant="f2", words_per_minute=140)

    clip = await voice.synthesize("where is the train station", language="en-US")
    transcript = await sphinx.transcribe(await converter.to_pcm(clip), language="en-US")

    assert_hears(transcript.text, *wanted("station"))


async def test_speech_recognitions_older_model_can_be_chosen(
    audio_fixtures: AudioFixtures, converter: FfmpegAudioConverter
) -> None:
    # The engine alone, in a worker thread: the model is the point here, not the pool.
    engine = SphinxEngine(SphinxModel.speech_recognition())
    pcm = await pcm_of(converter, audio_fixtures.speech_wav["station"])

    text = await asyncio.to_thread(engine.recognize, sr.AudioData(pcm.samples, 16_000, 2), "en")

    assert_hears(text, *wanted("station"))


async def test_a_missing_model_is_capability_unavailable(
    tmp_path: Path, audio_fixtures: AudioFixtures, converter: FfmpegAudioConverter
) -> None:
    missing = SphinxModel(tmp_path / "hmm", tmp_path / "lm.bin", tmp_path / "words.dict")
    engine = SphinxEngine(missing)
    pcm = await pcm_of(converter, audio_fixtures.speech_wav["station"])

    with pytest.raises(CapabilityUnavailable, match="model is missing") as raised:
        await asyncio.to_thread(engine.recognize, sr.AudioData(pcm.samples, 16_000, 2), "en-US")

    assert str(tmp_path) not in str(raised.value)


# --- splitting and the warm decoder --------------------------------------------------------------


class CountingSphinx(SphinxEngine):
    """A SphinxEngine that writes one line per recognition, and per decoder built, with the pid
    of the worker that did it."""

    def __init__(self, record: Path) -> None:
        super().__init__()
        self.record = record

    def _note(self, event: str) -> None:
        with self.record.open("a") as file:
            file.write(f"{event} {os.getpid()} {threading.get_ident()}\n")

    def recognize(self, audio: sr.AudioData, language: str) -> str:
        self._note("recognize")
        return super().recognize(audio, language)

    def _new_decoder(self) -> Any:
        self._note("decoder")
        return super()._new_decoder()

    def events(self, kind: str) -> list[str]:
        lines = self.record.read_text().splitlines() if self.record.exists() else []
        return [line.split(" ", 1)[1] for line in lines if line.startswith(kind + " ")]


async def test_a_long_recording_is_split_at_pauses_and_recognised_in_pieces(
    tmp_path: Path, audio_fixtures: AudioFixtures
) -> None:
    # The too-long fixture: the four sentences with half a second of silence between, 9 s.
    converter = FfmpegAudioConverter(max_seconds=60)
    pcm = await pcm_of(converter, audio_fixtures.too_long)
    assert pcm.duration_seconds > 8
    engine = CountingSphinx(tmp_path / "events")
    sut = SpeechRecognitionSpeechToText(engine, max_workers=2, max_chunk_seconds=3, name="sphinx")
    try:
        transcript = await sut.transcribe(pcm, language="en-US")
    finally:
        sut.close(wait=True)

    pieces = len(engine.events("recognize"))
    assert pieces >= 3, f"recognised in {pieces} piece(s)"
    # Words from the first half and from the second half of the recording, joined in order.
    first = KEYWORDS["weather"] + KEYWORDS["numbers"]
    second = KEYWORDS["station"] + KEYWORDS["window"]
    assert_hears(transcript.text, first, 3)
    assert_hears(transcript.text, second, 3)
    spoken = transcript.text.split()
    assert min(spoken.index(w) for w in first if w in spoken) < max(
        spoken.index(w) for w in second if w in spoken
    )


async def test_each_worker_builds_one_decoder_and_keeps_it_warm(
    tmp_path: Path, audio_fixtures: AudioFixtures, converter: FfmpegAudioConverter
) -> None:
    pcm = await pcm_of(converter, audio_fixtures.speech_wav["numbers"])
    engine = CountingSphinx(tmp_path / "events")
    sut = SpeechRecognitionSpeechToText(engine, max_workers=2, name="sphinx")
    try:
        for _ in range(2):  # two rounds: the second finds every worker already warm
            await asyncio.gather(*(sut.transcribe(pcm, language="en-US") for _ in range(4)))
    finally:
        sut.close(wait=True)

    decoders = engine.events("decoder")
    recognitions = engine.events("recognize")
    assert len(recognitions) == 8
    assert len(decoders) == len(set(decoders)) <= 2, decoders  # at most one per worker
    assert set(recognitions) <= set(decoders)  # every worker that recognised had built one


# --- the event loop ------------------------------------------------------------------------------


async def test_the_event_loop_keeps_ticking_while_ten_recognitions_run(
    sphinx: SpeechRecognitionSpeechToText,
    audio_fixtures: AudioFixtures,
    converter: FfmpegAudioConverter,
    event_loop_watch: type[LoopWatch],
) -> None:
    pcms = [await pcm_of(converter, path) for path in audio_fixtures.speech_wav.values()]
    await sphinx.transcribe(pcms[0], language="en-US")  # workers started and warm

    started = time.perf_counter()
    async with event_loop_watch(tick=0.005) as watch:
        transcripts = await asyncio.gather(
            *(sphinx.transcribe(pcms[n % len(pcms)], language="en-US") for n in range(10))
        )
    elapsed = time.perf_counter() - started

    assert all(t.heard_anything for t in transcripts)
    assert watch.ticks > 20, f"the ticker ran only {watch.ticks} times in {elapsed:.2f} s"
    assert watch.max_gap <= MAX_TICKER_GAP, (
        f"the event loop stalled for {watch.max_gap * 1000:.0f} ms "
        f"(limit {MAX_TICKER_GAP * 1000:.0f} ms) while 10 recognitions ran for {elapsed:.2f} s"
    )


# --- failures ------------------------------------------------------------------------------------


class DyingSphinx(SphinxEngine):
    """Kills its worker process (as a crash in native code would) while ``flag`` exists."""

    def __init__(self, flag: Path) -> None:
        super().__init__()
        self.flag = flag

    def recognize(self, audio: sr.AudioData, language: str) -> str:
        if self.flag.exists():
            self.flag.unlink()
            os._exit(3)
        return super().recognize(audio, language)


async def test_a_dead_worker_is_a_service_error_and_new_workers_take_over(
    tmp_path: Path,
    audio_fixtures: AudioFixtures,
    converter: FfmpegAudioConverter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pcm = await pcm_of(converter, audio_fixtures.speech_wav["station"])
    flag = tmp_path / "die"
    flag.touch()
    sut = SpeechRecognitionSpeechToText(DyingSphinx(flag), max_workers=1, name="sphinx")
    try:
        with pytest.raises(ServiceError, match=r"^Speech recognition failed; please try again\.$"):
            await sut.transcribe(pcm, language="en-US")
        transcript = await sut.transcribe(pcm, language="en-US")
    finally:
        sut.close(wait=True)

    assert "station" in words(transcript.text)
    assert "a recognition worker died" in caplog.text


class BrokenEngine(RecognitionEngine):
    """A thread engine whose library fails in a way nobody anticipated."""

    label: ClassVar[str] = "broken"

    def recognize(self, audio: sr.AudioData, language: str) -> str:
        raise RuntimeError("internal detail /home/someone/model.bin")


async def test_an_unexpected_engine_failure_is_a_logged_service_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sut = SpeechRecognitionSpeechToText(BrokenEngine(), name="broken")
    try:
        with caplog.at_level(logging.ERROR), pytest.raises(ServiceError) as raised:
            await sut.transcribe(PcmAudio(samples=b"\0\0" * 1600), language="en-US")
    finally:
        sut.close()

    assert "/home/someone" not in str(raised.value)
    assert raised.value.__cause__ is None
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.exc_info is not None  # the traceback is in the log
    assert "internal detail" in caplog.text
