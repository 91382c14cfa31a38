"""Speech-to-text through the SpeechRecognition library: Google web speech, Sphinx, local Whisper.

``SpeechRecognitionSpeechToText`` is the port's adapter; the engine it is given does the
recognising. Engines are small synchronous classes that run only inside the adapter's worker pool:
recognition is seconds of CPU work (Sphinx, Whisper) or a blocking HTTP request (Google), and none
of it may run on the event loop.

Facts that shaped this module (SpeechRecognition 3.17, pocketsphinx 5.1, faster-whisper 1.2):

- ``Recognizer.recognize_sphinx`` builds a new pocketsphinx decoder (0.2–0.5 s) on every call,
  with SpeechRecognition's own older en-US model; ``SphinxEngine`` builds one per worker and keeps
  it, with the better en-US model the pocketsphinx 5 wheel ships.
- pocketsphinx holds the GIL for the whole of ``Decoder.process_raw`` and ``end_utt`` (1.2 s for
  5 s of speech), so a *thread* running it stalls the event loop just as if it ran on it. Engines
  that hold the GIL say so (``needs_process``) and the adapter then runs them in worker processes.
- ``Recognizer.recognize_faster_whisper`` loads the Whisper model on every call and decodes audio
  through ``soundfile`` (not a dependency of faster-whisper); ``FasterWhisperEngine`` loads the model
  once and gives it the samples directly. CTranslate2 releases the GIL, so Whisper runs in threads.
- ``Recognizer.recognize_google`` takes an ``endpoint`` keyword, so a local server can stand in for
  Google's in tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.client
import logging
import multiprocessing
import os
import threading
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar
from urllib.error import HTTPError

with warnings.catch_warnings():
    # SpeechRecognition imports aifc (deprecated in 3.11) for AIFF files, which are not used here.
    warnings.simplefilter("ignore", DeprecationWarning)
    import speech_recognition as sr

from trainerbot.core.entities import PcmAudio, Transcript
from trainerbot.core.errors import (
    CapabilityUnavailable,
    LanguageUnavailable,
    ServiceError,
    TrainerbotError,
)
from trainerbot.core.language import is_auto, primary_language, recognition_fallback
from trainerbot.ports import SpeechToText

from . import whisper_weights
from .ffmpeg import split_on_silence

log = logging.getLogger(__name__)

T = TypeVar("T")

SAMPLE_RATE = 16_000  # what every engine here wants: 16 kHz, 16-bit mono
SAMPLE_WIDTH = 2

RECOGNITION_FAILED = "Speech recognition failed; please try again."

# How much lower than the bot's own process the recognition worker processes run (POSIX nice).
WORKER_NICENESS = 5


@dataclass(frozen=True)
class Heard:
    """What an engine recognised in one piece: the words, and the language it detected (None
    when it was told the language)."""

    text: str
    language: str | None = None


def pcm_bytes(audio: sr.AudioData) -> bytes:
    """The engines' common input: 16 kHz 16-bit mono little-endian samples."""
    return bytes(audio.get_raw_data(convert_rate=SAMPLE_RATE, convert_width=SAMPLE_WIDTH))


# --- engines ---------------------------------------------------------------------------------


class RecognitionEngine(ABC):
    """One recogniser, called synchronously, only inside ``SpeechRecognitionSpeechToText``'s pool.

    ``recognize`` returns ``""`` when it hears nothing recognisable, raises a
    ``TrainerbotError`` (with a one-line user-safe message) for failures it understands, and lets
    anything else escape for the adapter to log and report as a ``ServiceError``.
    """

    #: True for an engine that holds the GIL while it computes: a worker *thread* running it would
    #: stall the event loop, so the adapter runs it in worker processes (it must then pickle).
    needs_process: ClassVar[bool] = False
    #: How messages and logs name the engine.
    label: ClassVar[str] = "speech recognition"

    def check_language(self, language: str) -> None:
        """Raise ``CapabilityUnavailable`` for a language this engine cannot recognise.

        Called on the event loop before any work is queued, so it must be cheap. By default
        every language passes: the engine's service decides.
        """
        return None

    def prepare(self) -> None:
        """Load what the engine needs (a decoder, a model) in the worker that will use it.

        Nothing by default: an engine with nothing to load is ready as it is.
        """
        return None

    @abstractmethod
    def recognize(self, audio: sr.AudioData, language: str) -> str:
        """The words heard in ``audio`` (``""`` for none). Blocking: call it in a worker only.
        ``language`` is never ``auto`` here: an engine that detects languages overrides
        ``hear``."""

    def hear(self, audio: sr.AudioData, language: str) -> Heard:
        """``recognize``, with the language detected when ``language`` is ``auto``; an engine
        that cannot detect recognises English then."""
        return Heard(self.recognize(audio, recognition_fallback(language)))


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


class GoogleEngine(RecognitionEngine):
    """Google's free web speech API (the original bot's engine) via ``recognize_google``.

    Needs the network; the audio is sent as FLAC, encoded by the ``flac`` program that
    SpeechRecognition bundles for Linux/macOS/Windows on x86 (other machines need it installed).
    ``endpoint`` replaces Google's URL (a proxy, or a local stand-in in tests); ``key`` replaces
    the library's shared key. Failures become one ``ServiceError`` sentence; the key never
    appears in a message or a log.
    """

    label = "Google speech recognition"
    UNREACHABLE = (
        "Google speech recognition could not be reached; please try again later, "
        "or set TRAINERBOT_STT_ENGINE=sphinx to recognise speech offline."
    )

    def __init__(
        self, *, endpoint: str | None = None, key: str | None = None, timeout: float = 15.0
    ) -> None:
        self._options: dict[str, Any] = {}
        if endpoint:
            self._options["endpoint"] = endpoint
        if key:
            self._options["key"] = key
        self._timeout = timeout

    def recognize(self, audio: sr.AudioData, language: str) -> str:
        try:
            sr.audio.get_flac_converter()
        except OSError:
            raise CapabilityUnavailable(
                "Google speech recognition needs the flac program on this machine: install flac."
            ) from None
        recognizer = sr.Recognizer()
        # The library waits forever by default; a silent server must not hold a worker for good.
        recognizer.operation_timeout = self._timeout
        try:
            text = recognizer.recognize_google(audio, language=language, **self._options)
        except sr.UnknownValueError:
            return ""
        except TimeoutError:
            # A read timeout escapes urllib unwrapped (a connect timeout arrives as RequestError).
            log.warning("%s timed out after %s s", self.label, self._timeout)
            raise ServiceError(
                "Google speech recognition did not answer in time; please try again."
            ) from None
        except (sr.RequestError, OSError, http.client.HTTPException) as error:
            log.warning("%s failed: %s: %s", self.label, type(error).__name__, error)
            # The library wraps an HTTP error status in RequestError; the status is its context.
            if isinstance(error.__context__, HTTPError):
                raise ServiceError(
                    f"Google speech recognition failed (HTTP {error.__context__.code}); "
                    "please try again later."
                ) from None
            raise ServiceError(self.UNREACHABLE) from None
        except (ValueError, LookupError, TypeError) as error:
            # Not JSON, or JSON without the expected fields.
            log.warning("%s sent an unreadable answer: %s", self.label, type(error).__name__)
            raise ServiceError(
                "Google speech recognition sent an answer I could not read; please try again."
            ) from None
        return str(text).strip()


class FasterWhisperEngine(RecognitionEngine):
    """Local Whisper through faster-whisper (CTranslate2), the model loaded once per engine.

    ``model`` is None for the bundled multilingual Whisper base (``whisper_weights``: checked
    against its pinned sha256 before it is loaded), a model name (``"base"``, ``"small.en"``:
    downloaded once by faster-whisper into its cache) or the path of a CTranslate2 model folder.
    It is loaded on first use, by one worker while the others wait (a lock), and then shared by
    the whole pool: CTranslate2 models take concurrent calls.

    What people send is not studio speech:
    - Voice activity detection (Silero, shipped inside faster-whisper) skips leading and trailing
      silence and long pauses; a recording with no speech in it is never decoded at all.
    - Whisper invents text on silence and noise ("Thank you.", "Subtitles by…"): a segment the
      model itself thinks is no speech (``no_speech_prob``) and decoded with low confidence is
      dropped, and so is a segment that is only one of the well-known inventions when the model
      was not sure it heard speech. Each segment is decoded without the previous one's text as
      its prompt, so one invention does not seed the next.
    - ``auto`` lets Whisper detect the language; ``hear`` reports what it detected.

    SpeechRecognition's ``recognize_faster_whisper`` would load the model on every call and needs
    ``soundfile``; this engine feeds the model float32 samples itself. faster-whisper is optional
    (``pip install 'trainerbot[whisper]'``); without it the engine is ``CapabilityUnavailable``.
    An English-only model (``*.en``) refuses other languages rather than mistranscribe them.
    """

    label = "Whisper"

    def __init__(
        self,
        model: str | None = None,
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        beam_size: int = 5,
        cpu_threads: int = 0,
        vad: bool = True,
    ) -> None:
        self._model_name = model
        self._device = device
        self._compute_type = compute_type
        self._beam_size = beam_size
        self._cpu_threads = cpu_threads  # 0: CTranslate2's default
        self._vad = vad
        self._unusable: str | None = None  # why the model could not be loaded, once it could not
        self._lock = threading.Lock()
        self._model: Any = None

    @property
    def model_name(self) -> str:
        return self._model_name or whisper_weights.MODEL_NAME

    def check_language(self, language: str) -> None:
        # The model knows which languages it has; before it is loaded, the worker checks.
        if self._model is not None:
            self._check_language(self._model, language)

    def prepare(self) -> None:
        self._loaded()

    def recognize(self, audio: sr.AudioData, language: str) -> str:
        return self.hear(audio, language).text

    def hear(self, audio: sr.AudioData, language: str) -> Heard:
        import numpy as np  # comes with faster-whisper

        model = self._loaded()
        self._check_language(model, language)
        detect = is_auto(language)
        samples = np.frombuffer(pcm_bytes(audio), dtype="<i2").astype(np.float32) / 32768.0
        segments, info = model.transcribe(
            samples,
            language=None if detect else primary_language(language),
            beam_size=self._beam_size,
            vad_filter=self._vad,
            vad_parameters={"min_silence_duration_ms": VAD_PAUSE_MS},
            condition_on_previous_text=False,
        )
        # ``segments`` is lazy: iterating it is the decoding.
        kept = [str(s.text).strip() for s in segments if not _invented(s)]
        text = " ".join(t for t in kept if t).strip()
        return Heard(text, str(info.language) if detect and text else None)

    def _check_language(self, model: Any, language: str) -> None:
        supported = list(model.supported_languages)
        if is_auto(language) or primary_language(language) in supported:
            return
        if supported == ["en"]:
            raise LanguageUnavailable(
                "The configured Whisper model only knows English; use a multilingual model "
                f"(one without .en) or set TRAINERBOT_STT_ENGINE=google or openai for {language}."
            )
        raise LanguageUnavailable(f"Whisper does not know the language {language!r}.")

    def _loaded(self) -> Any:
        model = self._model
        if model is None:
            with self._lock:
                if self._unusable is not None:  # said once: not loaded (and hashed) again
                    raise CapabilityUnavailable(self._unusable)
                if self._model is None:
                    try:
                        self._model = self._load_model()
                    except CapabilityUnavailable as error:
                        self._unusable = str(error)
                        raise
                model = self._model
        return model

    def _load_model(self) -> Any:
        try:
            from faster_whisper import WhisperModel  # an optional extra
        except ImportError:
            raise CapabilityUnavailable(
                "Local Whisper needs faster-whisper: pip install 'trainerbot[whisper]'."
            ) from None
        started = time.perf_counter()
        # The bundled model: its files, checked (CapabilityUnavailable when they do not match).
        files = whisper_weights.load_files() if self._model_name is None else None
        try:
            model = WhisperModel(
                self.model_name,
                device=self._device,
                compute_type=self._compute_type,
                cpu_threads=self._cpu_threads,
                files=files,
            )
        except Exception as error:  # noqa: BLE001 -- CTranslate2, the hub and the OS each raise their own
            log.warning("Whisper model %r could not be loaded: %s", self._model_name, error)
            # The name may be a host path: the log has it, the user's message does not.
            raise CapabilityUnavailable(
                "The configured Whisper model could not be loaded; check the model name or "
                "folder (a name is downloaded once, which needs the network)."
            ) from None
        log.info(
            "Whisper model %s loaded in %.1f s", self.model_name, time.perf_counter() - started
        )
        return model


# Pauses at least this long are cut out before Whisper decodes (voice activity detection).
VAD_PAUSE_MS = 500
# A segment Whisper thinks is no speech, decoded with less confidence than this, is dropped
# (the thresholds Whisper's own decoder uses to skip silent windows).
NO_SPEECH_PROB = 0.6
LOW_LOGPROB = -1.0
# Whisper's best-known inventions on silence and noise (from its subtitle training data).
INVENTIONS = frozenset(
    {
        "thank you",
        "thank you very much",
        "thanks for watching",
        "thank you for watching",
        "please subscribe",
        "subtitles by the amaraorg community",
        "you",
        "bye",
        "продолжение следует",
        "спасибо за просмотр",
        "субтитры сделал dimatorzok",
        "субтитры создавались сообществом amaraorg",
        "редактор субтитров асемкин корректор аегорова",
    }
)
# A segment that is only one of those is dropped when the model was this unsure it was speech.
INVENTION_NO_SPEECH_PROB = 0.1


def _normalised(text: str) -> str:
    return " ".join("".join(c for c in text.casefold() if c.isalnum() or c.isspace()).split())


def _invented(segment: Any) -> bool:
    """Whether a Whisper segment is an invention rather than speech (see FasterWhisperEngine)."""
    words = _normalised(str(segment.text))
    if not words:
        return True  # only punctuation ("..."): what Whisper writes for noise
    no_speech = float(getattr(segment, "no_speech_prob", 0.0))
    if no_speech > NO_SPEECH_PROB and float(getattr(segment, "avg_logprob", 0.0)) < LOW_LOGPROB:
        return True
    return words in INVENTIONS and no_speech > INVENTION_NO_SPEECH_PROB


# --- the adapter -----------------------------------------------------------------------------


def _prepare_quietly(engine: RecognitionEngine) -> None:
    """Pool initializer: warm the engine in each new worker.

    A failure here would break the whole pool; it is left for ``recognize`` to raise again
    with its proper message.
    """
    try:
        engine.prepare()
    except Exception:  # noqa: BLE001 -- reported by the first recognition instead
        return


def _prepare_worker_process(engine: RecognitionEngine) -> None:
    """Initializer of a worker process: lower its priority, then warm the engine.

    Workers compute flat out; at a lower priority they leave the CPU to the bot's own process
    when both want it, so the event loop stays responsive on a machine with few cores.
    """
    if hasattr(os, "nice"):  # POSIX only
        with contextlib.suppress(OSError):
            os.nice(WORKER_NICENESS)
    _prepare_quietly(engine)


def _recognize_piece(
    engine: RecognitionEngine, samples: bytes, sample_rate: int, language: str
) -> Heard:
    """Runs in a worker: one piece of PCM → what was heard."""
    return engine.hear(sr.AudioData(samples, sample_rate, SAMPLE_WIDTH), language)


class SpeechRecognitionSpeechToText(SpeechToText):
    """The ``SpeechToText`` port over one ``RecognitionEngine``.

    - The adapter owns a bounded pool of ``max_workers`` workers for as long as it lives
      (``close()`` ends it): threads named ``stt-*``, or worker processes for an engine that holds
      the GIL (``needs_process``), each warming its engine once and running at a lower priority.
      Nothing blocking ever runs on the event loop.
    - Worker processes are started with ``spawn`` (``fork`` is unsafe in a process with threads,
      as a bot always is), so, as with any multiprocessing on macOS and Windows, a program that
      uses a process engine must guard its entry point with ``if __name__ == "__main__":``.
      trainerbot's own commands do; ``python -m trainerbot`` needs nothing.
    - A recording longer than ``max_chunk_seconds`` is split at its pauses (``split_on_silence``,
      in the pool too) and the pieces are recognised in parallel; their text is joined by spaces.
    - Nothing recognisable is an empty transcript, not an error.
    - The engine's own errors (``TrainerbotError``) pass through; anything else is logged with
      its traceback and reported as ``ServiceError``. A worker process that dies is replaced.
    """

    def __init__(
        self,
        engine: RecognitionEngine,
        *,
        max_workers: int = 2,
        max_chunk_seconds: float = 30.0,
        name: str,
    ) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        if max_chunk_seconds <= 0:
            raise ValueError("max_chunk_seconds must be positive")
        self._engine = engine
        self._max_workers = max_workers
        self._max_chunk_seconds = max_chunk_seconds
        self._name = name
        self._pool = self._new_pool()

    @property
    def name(self) -> str:
        return self._name

    def _new_pool(self) -> Executor:
        if self._engine.needs_process:
            return ProcessPoolExecutor(
                self._max_workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_prepare_worker_process,
                initargs=(self._engine,),
            )
        return ThreadPoolExecutor(
            self._max_workers,
            thread_name_prefix="stt",
            initializer=_prepare_quietly,
            initargs=(self._engine,),
        )

    async def warm_up(self) -> None:
        """Load the engine now (a model, a decoder) instead of on the first recording."""
        await self._run(self._engine.prepare)

    async def transcribe(self, audio: PcmAudio, *, language: str) -> Transcript:
        self._engine.check_language(language)
        started = time.perf_counter()
        pieces = [audio]
        if audio.duration_seconds > self._max_chunk_seconds:
            pieces = await self._run(
                functools.partial(
                    split_on_silence, audio, max_chunk_seconds=self._max_chunk_seconds
                )
            )
        texts = await asyncio.gather(
            *(
                self._run(
                    functools.partial(
                        _recognize_piece, self._engine, piece.samples, piece.sample_rate, language
                    )
                )
                for piece in pieces
                if piece.samples
            ),
            # Let every piece finish before reporting a failure, so none is left running unseen.
            return_exceptions=True,
        )
        heard: list[Heard] = []
        for result in texts:
            if isinstance(result, BaseException):
                raise result
            heard.append(result)
        text = " ".join(piece.text.strip() for piece in heard if piece.text.strip())
        # With auto: the language of the longest piece heard (None from engines that cannot tell).
        detected = max(
            (piece for piece in heard if piece.language and piece.text.strip()),
            key=lambda piece: len(piece.text),
            default=None,
        )
        log.debug(
            "%s: %.1f s of audio in %d piece(s) recognised in %.2f s",
            self._name,
            audio.duration_seconds,
            len(pieces),
            time.perf_counter() - started,
        )
        spoken = detected.language if detected is not None else None
        return Transcript(
            text=text, language=spoken or recognition_fallback(language), engine=self._name
        )

    async def _run(self, call: Callable[[], T]) -> T:
        """``call()`` in the pool, its failures as trainerbot errors."""
        pool = self._pool
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, call)
        except TrainerbotError:
            raise
        except BrokenExecutor:
            log.exception("%s: a recognition worker died; starting new workers", self._name)
            if self._pool is pool:  # concurrent callers may all see the same broken pool
                self._pool = self._new_pool()
                pool.shutdown(wait=False, cancel_futures=True)
            raise ServiceError(RECOGNITION_FAILED) from None
        except Exception:
            log.exception("%s failed", self._name)
            raise ServiceError(RECOGNITION_FAILED) from None

    def close(self, *, wait: bool = False) -> None:
        """End the pool: queued recognitions are cancelled; running ones finish in the background
        unless ``wait``. The adapter cannot be used afterwards."""
        self._pool.shutdown(wait=wait, cancel_futures=True)
