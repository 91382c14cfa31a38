"""Speech-to-text through Google's free web speech API: ``GoogleEngine``.

``Recognizer.recognize_google`` (SpeechRecognition 3.17) takes an ``endpoint`` keyword, so a local
server can stand in for Google's in tests.
"""

from __future__ import annotations

import http.client
import logging
import warnings
from typing import Any
from urllib.error import HTTPError

with warnings.catch_warnings():
    # SpeechRecognition imports aifc (deprecated in 3.11) for AIFF files, which are not used here.
    warnings.simplefilter("ignore", DeprecationWarning)
    import speech_recognition as sr

from trainerbot.core.errors import CapabilityUnavailable, ServiceError

from .engine import RecognitionEngine

log = logging.getLogger(__name__)


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
