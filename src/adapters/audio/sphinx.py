"""Offline speech-to-text with CMU Sphinx (pocketsphinx 5): ``SphinxEngine`` and its ``SphinxModel``.

Facts that shaped this module (SpeechRecognition 3.17, pocketsphinx 5.1):

- ``Recognizer.recognize_sphinx`` builds a new pocketsphinx decoder (0.2–0.5 s) on every call,
  with SpeechRecognition's own older en-US model; ``SphinxEngine`` builds one per worker and keeps
  it, with the better en-US model the pocketsphinx 5 wheel ships.
- pocketsphinx holds the GIL for the whole of ``Decoder.process_raw`` and ``end_utt`` (1.2 s for
  5 s of speech), so a *thread* running it stalls the event loop just as if it ran on it: the
  engine says so (``needs_process``) and the adapter then runs it in worker processes.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

with warnings.catch_warnings():
    # SpeechRecognition imports aifc (deprecated in 3.11) for AIFF files, which are not used here.
    warnings.simplefilter("ignore", DeprecationWarning)
    import speech_recognition as sr

from trainerbot.core.errors import CapabilityUnavailable, LanguageUnavailable
from trainerbot.core.language import primary_language, recognition_fallback

from .engine import SAMPLE_RATE, RecognitionEngine, pcm_bytes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SphinxModel:
    """The three files of a pocketsphinx model: acoustic model folder, language model, dictionary."""

    acoustic: Path
    language_model: Path
    dictionary: Path

    @classmethod
    def pocketsphinx(cls) -> SphinxModel:
        """The US English model in the pocketsphinx 5 wheel (the default: it hears best)."""
        try:
            from pocketsphinx import get_model_path  # pocketsphinx is optional at import time
        except ImportError:
            raise CapabilityUnavailable(SPHINX_MISSING) from None
        folder = Path(get_model_path("en-us"))
        return cls(folder / "en-us", folder / "en-us.lm.bin", folder / "cmudict-en-us.dict")

    @classmethod
    def speech_recognition(cls) -> SphinxModel:
        """The older US English model SpeechRecognition bundles for ``recognize_sphinx``."""
        folder = Path(sr.__file__).parent / "pocketsphinx-data" / "en-US"
        return cls(
            folder / "acoustic-model",
            folder / "language-model.lm.bin",
            folder / "pronounciation-dictionary.dict",  # sic
        )

    def exists(self) -> bool:
        return (
            self.acoustic.is_dir() and self.language_model.is_file() and self.dictionary.is_file()
        )


SPHINX_MISSING = "The offline speech engine needs pocketsphinx: pip install pocketsphinx."

# This thread's decoders, by engine class and model. Module-level, not on the engine, because
# engines travel to worker processes by pickle: a decoder held by the engine object would be
# rebuilt for every call. In a worker process, the one worker thread holds them.
_sphinx_decoders = threading.local()


class SphinxEngine(RecognitionEngine):
    """Offline CMU Sphinx (pocketsphinx 5), one decoder per worker, built once and kept warm.

    Configured as ``Recognizer.recognize_sphinx`` configures pocketsphinx (acoustic model,
    language model and dictionary, logging off, each recording decoded as one whole utterance),
    but with the decoder kept instead of built per call, which saves 0.2–0.5 s a recording. A
    decoder is not thread-safe: each worker thread has its own.

    The model defaults to the one in the pocketsphinx wheel: on the test speech it hears "the
    weather is nice today" where SpeechRecognition's older bundled model (``SphinxModel.
    speech_recognition()``) hears "whether his life today". Both know US English only, so another
    language is refused with ``CapabilityUnavailable`` naming the engines that know it, rather than
    transcribed as English gibberish; any English (``en``, ``en-GB``...) gets the US model.

    Before decoding, pocketsphinx's voice-activity detector checks that the audio holds speech: on
    silence the decoder still guesses a word ("oh"), which would turn a silent recording into a
    reply to something nobody said.

    A warm decoder carries a little acoustic state from one utterance to the next, so the same
    recording can come out a word different from what a fresh decoder makes of it (neither is
    more accurate): results are not reproducible run to run, as with any adaptive recogniser.
    """

    needs_process = True
    label = "Sphinx"
    #: Less voiced audio than this is "nothing recognisable" (a short word is ~0.3 s).
    MIN_SPEECH_SECONDS = 0.15

    def __init__(self, model: SphinxModel | None = None) -> None:
        self._model = model

    def check_language(self, language: str) -> None:
        if primary_language(recognition_fallback(language)) != "en":
            raise LanguageUnavailable(
                "The offline speech engine only knows English (en-US); set "
                f"TRAINERBOT_STT_ENGINE=google or openai for {language}."
            )

    def prepare(self) -> None:
        self._decoder()

    def recognize(self, audio: sr.AudioData, language: str) -> str:
        self.check_language(language)
        samples = pcm_bytes(audio)
        if not self._has_speech(samples):
            return ""
        decoder = self._decoder()
        try:
            decoder.start_utt()
            decoder.process_raw(samples, False, True)  # no_search=False, full_utt=True
            decoder.end_utt()
            hypothesis = decoder.hyp()
        except Exception:
            # A decoder that failed mid-utterance is in an unknown state: the next call builds anew.
            self._decoders().pop(self._key(), None)
            raise
        return str(hypothesis.hypstr).strip() if hypothesis is not None else ""

    def _has_speech(self, samples: bytes) -> bool:
        from pocketsphinx import Vad  # imported already by the decoder

        vad = Vad(Vad.LOOSE, SAMPLE_RATE)
        size = int(vad.frame_bytes)
        voiced = sum(
            1
            for start in range(0, len(samples) - size + 1, size)
            if vad.is_speech(samples[start : start + size])
        )
        return voiced * float(vad.frame_length) >= self.MIN_SPEECH_SECONDS

    def _key(self) -> tuple[str, SphinxModel | None]:
        return (type(self).__qualname__, self._model)

    @staticmethod
    def _decoders() -> dict[tuple[str, SphinxModel | None], Any]:
        decoders: dict[tuple[str, SphinxModel | None], Any] | None = getattr(
            _sphinx_decoders, "by_model", None
        )
        if decoders is None:
            decoders = _sphinx_decoders.by_model = {}
        return decoders

    def _decoder(self) -> Any:
        """This thread's decoder, built on first use."""
        decoders = self._decoders()
        key = self._key()
        if key not in decoders:
            started = time.perf_counter()
            decoders[key] = self._new_decoder()
            log.debug("Sphinx decoder ready in %.2f s", time.perf_counter() - started)
        return decoders[key]

    def _new_decoder(self) -> Any:
        try:
            from pocketsphinx import Config, Decoder  # optional at import time
        except ImportError:
            raise CapabilityUnavailable(SPHINX_MISSING) from None
        model = self._model or SphinxModel.pocketsphinx()
        if not model.exists():
            raise CapabilityUnavailable(
                "The offline speech engine's English model is missing; reinstall pocketsphinx."
            )
        config = Config(
            hmm=str(model.acoustic),
            lm=str(model.language_model),
            dict=str(model.dictionary),
            logfn=os.devnull,  # pocketsphinx logs every utterance to stderr otherwise
        )
        return Decoder(config)
