"""What every speech-to-text engine here shares: the ``RecognitionEngine`` base, what it hears
(``Heard``), and the samples it is given (16 kHz 16-bit mono, ``pcm_bytes``).

An engine is a small synchronous class that runs only inside the worker pool of
``recognition.SpeechRecognitionSpeechToText``: recognition is seconds of CPU work (Sphinx,
Whisper) or a blocking HTTP request (Google), and none of it may run on the event loop. One
module per engine: ``sphinx``, ``google``, ``whisper``.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

with warnings.catch_warnings():
    # SpeechRecognition imports aifc (deprecated in 3.11) for AIFF files, which are not used here.
    warnings.simplefilter("ignore", DeprecationWarning)
    import speech_recognition as sr

from trainerbot.core.language import recognition_fallback

SAMPLE_RATE = 16_000  # what every engine here wants: 16 kHz, 16-bit mono
SAMPLE_WIDTH = 2


@dataclass(frozen=True)
class Heard:
    """What an engine recognised in one piece: the words, and the language it detected (None
    when it was told the language)."""

    text: str
    language: str | None = None


def pcm_bytes(audio: sr.AudioData) -> bytes:
    """The engines' common input: 16 kHz 16-bit mono little-endian samples."""
    return bytes(audio.get_raw_data(convert_rate=SAMPLE_RATE, convert_width=SAMPLE_WIDTH))


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
