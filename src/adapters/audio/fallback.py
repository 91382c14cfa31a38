"""Fallbacks: an online text-to-speech engine with an offline one behind it; a speech recogniser
with a lighter one behind it."""

from __future__ import annotations

import logging

from trainerbot.core.entities import AudioClip, PcmAudio, Transcript
from trainerbot.core.errors import CapabilityUnavailable, LanguageUnavailable, ServiceError
from trainerbot.ports import SpeechToText, TextToSpeech

log = logging.getLogger(__name__)


class FallbackTextToSpeech(TextToSpeech):
    """Speaks with ``primary``; when it fails, with ``fallback`` (gtts → espeak, openai → espeak).

    - Only a failure of the service (``ServiceError``: unreachable, rate-limited) or a missing
      capability (``CapabilityUnavailable``: a language it cannot speak, no key) falls back; a bad
      request (``InvalidInput``, such as nothing to say) would fail the fallback too and is raised.
    - Each fallback is logged as a warning naming the engines and the reason, never the text.
    - When the fallback fails as well, the primary's error is raised: it says what is wrong with
      the configured engine, which is what the user needs to hear.
    """

    def __init__(self, primary: TextToSpeech, fallback: TextToSpeech, *, name: str) -> None:
        self._primary = primary
        self._fallback = fallback
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    async def synthesize(self, text: str, *, language: str) -> AudioClip:
        try:
            return await self._primary.synthesize(text, language=language)
        except (ServiceError, CapabilityUnavailable) as error:
            primary_error = error
        log.warning(
            "%s: %s failed (%s: %s); speaking with %s instead",
            self._name,
            type(self._primary).__name__,
            type(primary_error).__name__,
            primary_error,
            type(self._fallback).__name__,
        )
        try:
            return await self._fallback.synthesize(text, language=language)
        except Exception as error:  # noqa: BLE001 -- whatever the fallback raised, the primary's error is the answer
            log.warning(
                "%s: the fallback %s failed too (%s: %s)",
                self._name,
                type(self._fallback).__name__,
                type(error).__name__,
                error,
            )
            raise primary_error from None


class FallbackSpeechToText(SpeechToText):
    """Recognises with ``primary``; once it proves unusable, with ``fallback`` (Whisper → sphinx).

    - Only a missing capability (``CapabilityUnavailable``: the model not installed, its files not
      the pinned ones, faster-whisper missing) falls back, and for good: it is logged once, as a
      warning naming both engines and the reason, and the primary is not tried again. A language
      the primary does not know is not such a failure when the engine works: that is raised.
    - A service failure of a working primary (``ServiceError``) is raised, not hidden.
    """

    def __init__(self, primary: SpeechToText, fallback: SpeechToText, *, name: str) -> None:
        self._primary: SpeechToText | None = primary
        self._primary_name = str(getattr(primary, "name", type(primary).__name__))
        self._fallback = fallback
        self._fallback_name = str(getattr(fallback, "name", type(fallback).__name__))
        self._name = name
        self.reason: str | None = None  # why the primary was given up, once it was

    @property
    def name(self) -> str:
        return self._name if self._primary is not None else self._fallback_name

    async def transcribe(self, audio: PcmAudio, *, language: str) -> Transcript:
        primary = self._primary
        if primary is not None:
            try:
                return await primary.transcribe(audio, language=language)
            except LanguageUnavailable:
                raise  # the engine works, only not in that language
            except CapabilityUnavailable as error:
                self._give_up(primary, error)
        return await self._fallback.transcribe(audio, language=language)

    def close(self, *, wait: bool = False) -> None:
        """End both recognisers' workers (as ``SpeechRecognitionSpeechToText.close``)."""
        for adapter in (self._primary, self._fallback):
            close = getattr(adapter, "close", None)
            if close is not None:
                close(wait=wait)

    def _give_up(self, primary: SpeechToText, error: CapabilityUnavailable) -> None:
        if self._primary is None:  # another recognition gave it up meanwhile
            return
        self._primary = None
        self.reason = str(error)
        log.warning(
            "%s cannot be used (%s); recognising speech with %s instead",
            self._primary_name,
            error,
            self._fallback_name,
        )
        close = getattr(primary, "close", None)
        if close is not None:
            close()
