"""FallbackTextToSpeech: an online text-to-speech engine with an offline one behind it."""

from __future__ import annotations

import logging

from trainerbot.core.entities import AudioClip
from trainerbot.core.errors import CapabilityUnavailable, ServiceError
from trainerbot.ports import TextToSpeech

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
