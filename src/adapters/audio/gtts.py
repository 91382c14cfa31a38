"""GttsTextToSpeech: Google Translate's text-to-speech through gTTS (the original bot's engine)."""

from __future__ import annotations

import asyncio
import io
import logging
from concurrent.futures import ThreadPoolExecutor

from gtts import gTTS, gTTSError
from gtts.lang import tts_langs

from trainerbot.core.entities import AudioClip
from trainerbot.core.errors import CapabilityUnavailable, InvalidInput, ServiceError
from trainerbot.ports import TextToSpeech

log = logging.getLogger(__name__)

DEFAULT_TLD = "com"

# Regional tags → (gTTS language, Google Translate host), as gTTS documents its "localized accents":
# the region is chosen by which Google host speaks, not by the language code.
ACCENTS: dict[str, tuple[str, str]] = {
    "en-us": ("en", "com"),
    "en-gb": ("en", "co.uk"),
    "en-au": ("en", "com.au"),
    "en-ca": ("en", "ca"),
    "en-in": ("en", "co.in"),
    "en-ie": ("en", "ie"),
    "en-za": ("en", "co.za"),
    "en-ng": ("en", "com.ng"),
    "fr-ca": ("fr", "ca"),
    "fr-fr": ("fr", "fr"),
    "pt-br": ("pt", "com.br"),
    "pt-pt": ("pt", "pt"),
    "es-es": ("es", "es"),
    "es-mx": ("es", "com.mx"),
    "es-us": ("es", "us"),
    "zh-cn": ("zh-CN", DEFAULT_TLD),
    "zh-tw": ("zh-TW", DEFAULT_TLD),
}
# Current ISO codes that Google Translate still knows by their old names.
OLD_CODES = {"he": "iw", "jv": "jw", "nb": "no", "nn": "no", "fil": "tl"}

NOTHING_TO_SAY = "There is nothing to say."


def gtts_voice(language: str) -> tuple[str, str]:
    """``"ru-RU"`` → ``("ru", "com")``, ``"en-GB"`` → ``("en", "co.uk")``.

    A regional accent where gTTS has one, else the language without its region. A language
    Google Translate cannot speak is ``CapabilityUnavailable`` (not silently English), so that a
    fallback engine that knows it can speak instead.
    """
    tag = language.strip().replace("_", "-").lower()
    if tag in ACCENTS:
        return ACCENTS[tag]
    known = {code.lower(): code for code in tts_langs()}
    primary = tag.split("-", 1)[0]
    for candidate in (tag, primary, OLD_CODES.get(primary, "").lower()):
        if candidate in known:
            return known[candidate], DEFAULT_TLD
    raise CapabilityUnavailable(f"Google text-to-speech cannot speak {language!r}.")


class GttsTextToSpeech(TextToSpeech):
    """Speaks through Google Translate's TTS with gTTS; answers an MP3 clip.

    Needs the network. gTTS is blocking HTTP (one request per ~100 characters), so it runs in a
    small thread pool the adapter owns for as long as it lives (``close()`` ends it). Failures are
    one ``ServiceError`` sentence, which ``FallbackTextToSpeech`` turns into offline speech.
    """

    def __init__(self, *, timeout: float = 10.0, max_workers: int = 2) -> None:
        self._timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="gtts")

    async def synthesize(self, text: str, *, language: str) -> AudioClip:
        if not text.strip():
            raise InvalidInput(NOTHING_TO_SAY)
        lang, tld = gtts_voice(language)
        loop = asyncio.get_running_loop()
        data = await loop.run_in_executor(self._pool, self._speak, text, lang, tld)
        return AudioClip(data=data, filename="speech.mp3", content_type="audio/mpeg")

    def _speak(self, text: str, lang: str, tld: str) -> bytes:
        """Runs in the pool: the whole MP3, or a trainerbot error."""
        buffer = io.BytesIO()
        try:
            # lang_check=False: the language was checked already, and the check warns about
            # deprecated tags on every call.
            gTTS(text, lang=lang, tld=tld, lang_check=False, timeout=self._timeout).write_to_fp(
                buffer
            )
        except AssertionError:
            # gTTS asserts that something is left to speak once punctuation is stripped.
            raise InvalidInput(NOTHING_TO_SAY) from None
        except gTTSError as error:
            log.warning("Google text-to-speech failed: %s", error)
            status = getattr(error.rsp, "status_code", None)
            if status is not None:
                raise ServiceError(
                    f"Google text-to-speech failed (HTTP {status}); please try again later."
                ) from None
            raise ServiceError(
                "Google text-to-speech could not be reached; please try again later."
            ) from None
        except OSError as error:
            # requests' errors are OSErrors; one raised while the answer streams is not wrapped.
            log.warning("Google text-to-speech failed: %s", type(error).__name__)
            raise ServiceError(
                "Google text-to-speech could not be reached; please try again later."
            ) from None
        except Exception:
            # Never a vendor exception out of the adapter: the traceback goes to the log.
            log.exception("Google text-to-speech failed unexpectedly")
            raise ServiceError(
                "Google text-to-speech could not be reached; please try again later."
            ) from None
        data = buffer.getvalue()
        if not data:
            raise ServiceError("Google text-to-speech sent no audio; please try again later.")
        return data

    def close(self) -> None:
        """End the pool; a synthesis still running finishes in the background."""
        self._pool.shutdown(wait=False, cancel_futures=True)
