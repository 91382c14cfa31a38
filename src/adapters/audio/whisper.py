"""Local speech-to-text with Whisper through faster-whisper: ``FasterWhisperEngine``, and the
rules that drop what Whisper invents on silence and noise.

``Recognizer.recognize_faster_whisper`` (SpeechRecognition 3.17) loads the Whisper model on every
call and decodes audio through ``soundfile`` (not a dependency of faster-whisper 1.2);
``FasterWhisperEngine`` loads the model once and gives it the samples directly. CTranslate2
releases the GIL, so Whisper runs in threads.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from trainerbot.core.errors import CapabilityUnavailable, LanguageUnavailable
from trainerbot.core.language import is_auto, primary_language

from . import whisper_weights
from .engine import Heard, RecognitionEngine, pcm_bytes

if TYPE_CHECKING:
    import speech_recognition as sr

log = logging.getLogger(__name__)


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
