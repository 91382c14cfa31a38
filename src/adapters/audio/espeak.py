"""EspeakTextToSpeech: offline speech with espeak-ng, installed from PyPI alone.

The ``espeakng-loader`` wheel bundles ``libespeak-ng`` and its data; this module calls the library
through ctypes (no apt package, no ``espeak-ng`` program). libespeak-ng keeps its state in
process-wide globals and is not thread-safe, so the process has one engine: initialised on first
use and driven by one dedicated worker thread, which also keeps synthesis off the event loop.
"""

from __future__ import annotations

import asyncio
import ctypes
import io
import logging
import threading
import wave
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from trainerbot.core.entities import AudioClip
from trainerbot.core.errors import CapabilityUnavailable, InvalidInput, ServiceError
from trainerbot.ports import TextToSpeech

log = logging.getLogger(__name__)

FALLBACK_VOICE = "en-us"

# Language tags whose espeak voice is not the tag itself nor its language part.
VOICE_ALIASES = {
    "en": "en-us",  # espeak's "en" is British English; the project's default language is en-US
    "en-gb": "en",
    "en-uk": "en",
    "zh": "cmn",
    "zh-cn": "cmn",
    "zh-tw": "cmn",
    "zh-hk": "yue",
}

# libespeak-ng's C API (speak_lib.h), the values this module uses.
AUDIO_OUTPUT_SYNCHRONOUS = 2  # synthesise in the calling thread, samples to the callback
ESPEAK_INITIALIZE_DONT_EXIT = 0x8000  # report a missing data folder instead of calling exit()
POS_CHARACTER = 1
ESPEAK_CHARS_UTF8 = 1
ESPEAK_RATE = 1
EE_OK = 0

# int callback(short *wav, int numsamples, espeak_EVENT *events): 0 continues, 1 aborts.
SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


def espeak_voice_candidates(language: str) -> list[str]:
    """Voices to try for a language tag, best first: ``"en-US"`` → ``["en-us"]``,
    ``"ru-RU"`` → ``["ru-ru", "ru"]``, ``"pt-BR"`` → ``["pt-br", "pt"]``."""
    tag = language.strip().replace("_", "-").lower()
    primary = tag.split("-", 1)[0]
    candidates: list[str] = []
    for name in (tag, primary):
        name = VOICE_ALIASES.get(name, name)
        if name and name not in candidates:
            candidates.append(name)
    return candidates


def espeak_voice_for(language: str) -> str | None:
    """The espeak-ng voice that speaks ``language`` (as ``synthesize`` would choose it), found in
    the voices shipped with espeakng-loader without starting espeak; None when it has none (or
    espeak-ng is not installed). For ``trainerbot doctor``."""
    try:
        import espeakng_loader

        voices = Path(espeakng_loader.get_data_path()) / "lang"
    except (ImportError, OSError, RuntimeError):
        return None
    shipped = {path.name.lower() for path in voices.rglob("*") if path.is_file()}
    return next((c for c in espeak_voice_candidates(language) if c in shipped), None)


@dataclass(frozen=True)
class _Speech:
    samples: bytes
    sample_rate: int


class _EspeakEngine:
    """The process's one libespeak-ng: every call runs in ``executor``'s single thread."""

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="espeak")
        self._library: ctypes.CDLL | None = None
        self._sample_rate = 0
        self._chunks: list[bytes] = []
        # ctypes does not keep the callback alive for the C side: a collected callback would
        # crash the process on the next synthesis, so the engine holds it.
        self._callback = SynthCallback(self._collect)
        self._voices: dict[str, str] = {}  # language → the espeak voice chosen for it

    def _collect(
        self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int | None
    ) -> int:
        if count > 0 and wav:
            self._chunks.append(ctypes.string_at(wav, count * 2))
        return 0

    def _load(self) -> ctypes.CDLL:
        if self._library is not None:
            return self._library
        try:
            import espeakng_loader

            library = ctypes.CDLL(espeakng_loader.get_library_path())
            data_path = espeakng_loader.get_data_path()
        except (ImportError, OSError, RuntimeError) as error:
            log.warning("espeak-ng could not be loaded: %s", error)
            raise CapabilityUnavailable(
                "Offline speech is not available: install the espeakng-loader package."
            ) from None
        library.espeak_Initialize.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        library.espeak_Initialize.restype = ctypes.c_int
        library.espeak_SetSynthCallback.argtypes = [SynthCallback]
        library.espeak_SetSynthCallback.restype = None
        library.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        library.espeak_SetVoiceByName.restype = ctypes.c_int
        library.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        library.espeak_SetParameter.restype = ctypes.c_int
        library.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        library.espeak_Synth.restype = ctypes.c_int
        library.espeak_Synchronize.argtypes = []
        library.espeak_Synchronize.restype = ctypes.c_int
        # A buffer length of 0 means espeak's default (60 ms of samples per callback).
        rate = library.espeak_Initialize(
            AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), ESPEAK_INITIALIZE_DONT_EXIT
        )
        if rate <= 0:
            log.warning("espeak_Initialize failed (%d) with data at %s", rate, data_path)
            raise CapabilityUnavailable("Offline speech is not available: espeak-ng did not start.")
        library.espeak_SetSynthCallback(self._callback)
        self._library = library
        self._sample_rate = rate
        log.debug("espeak-ng ready at %d Hz", rate)
        return library

    def _select_voice(self, library: ctypes.CDLL, language: str, variant: str | None) -> str:
        voice = self._voices.get(language)
        if voice is None:
            for candidate in espeak_voice_candidates(language):
                if library.espeak_SetVoiceByName(candidate.encode()) == EE_OK:
                    voice = candidate
                    break
            else:
                log.warning("espeak-ng has no voice for %r; speaking English instead", language)
                voice = FALLBACK_VOICE
            self._voices[language] = voice
        name = f"{voice}+{variant}" if variant else voice
        # A failed selection keeps the previous voice, so the fallback is selected explicitly.
        if library.espeak_SetVoiceByName(name.encode()) != EE_OK:
            library.espeak_SetVoiceByName(FALLBACK_VOICE.encode())
        return name

    def synthesize(
        self, text: str, *, language: str, variant: str | None, words_per_minute: int
    ) -> _Speech:
        """Speak ``text`` into memory. Runs in the engine's thread only."""
        library = self._load()
        voice = self._select_voice(library, language, variant)
        # Selecting a voice resets its rate, so the rate is set after it, on every call.
        library.espeak_SetParameter(ESPEAK_RATE, words_per_minute, 0)
        encoded = text.encode("utf-8") + b"\0"
        self._chunks = []
        try:
            status = library.espeak_Synth(
                encoded, len(encoded), 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8, None, None
            )
            if status == EE_OK:
                status = library.espeak_Synchronize()
            if status != EE_OK:
                log.warning("espeak_Synth failed with status %d", status)
                raise ServiceError("The offline voice could not speak that text.")
            log.debug("espeak-ng spoke %d characters with voice %s", len(text), voice)
            return _Speech(b"".join(self._chunks), self._sample_rate)
        finally:
            self._chunks = []


_engine: _EspeakEngine | None = None
_engine_lock = threading.Lock()


def _shared_engine() -> _EspeakEngine:
    """The process's engine, created on first use (the library is process-global state)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = _EspeakEngine()
        return _engine


def wav_bytes(samples: bytes, sample_rate: int) -> bytes:
    """Mono 16-bit ``samples`` in a WAV container."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(sample_rate)
        writer.writeframes(samples)
    return buffer.getvalue()


class EspeakTextToSpeech(TextToSpeech):
    """Speaks offline with espeak-ng; returns mono 16-bit WAV at espeak's rate (22050 Hz).

    Rules:
    - ``language`` is a tag such as ``en-US`` or ``ru-RU``: the voice is the tag itself if espeak
      has it (``en-us``, ``pt-br``), else its language part (``ru``); a language espeak does not
      speak falls back to American English, with a warning in the log.
    - ``variant`` picks one of espeak's voice variants (``"f2"``, ``"m3"``...) for every language;
      ``words_per_minute`` sets the speed (espeak's default is 175).
    - Empty text is ``InvalidInput``. Text with nothing to pronounce ("...") gives a WAV of a few
      milliseconds of silence; espeak reads symbols out by name ("!", emoji).
    - Synthesis runs in one worker thread shared by every instance, so the event loop never
      waits for it and the library is never entered twice at once. A 200-character reply takes
      under 15 ms, so a queue of replies drains quickly.
    - espeak-ng's output varies slightly from call to call (random breath noise, state carried
      between utterances): compare clips by length, not by bytes.
    """

    def __init__(self, *, variant: str | None = None, words_per_minute: int = 175) -> None:
        if not 80 <= words_per_minute <= 450:
            raise ValueError("words_per_minute must be between 80 and 450")
        if variant is not None and (not variant.isalnum() or len(variant) > 40):
            raise ValueError("variant must be a short name such as 'f2' or 'm3'")
        self.variant = variant
        self.words_per_minute = words_per_minute

    async def synthesize(self, text: str, *, language: str) -> AudioClip:
        # NUL would end the C string early: whatever followed it would go unspoken.
        text = text.replace("\0", " ")
        if not text.strip():
            raise InvalidInput("There is nothing to say.")
        engine = _shared_engine()
        speech = await asyncio.get_running_loop().run_in_executor(
            engine.executor,
            lambda: engine.synthesize(
                text,
                language=language,
                variant=self.variant,
                words_per_minute=self.words_per_minute,
            ),
        )
        return AudioClip(
            data=wav_bytes(speech.samples, speech.sample_rate),
            filename="speech.wav",
            content_type="audio/wav",
        )
