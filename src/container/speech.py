"""Speech: decoding audio, recognising it, speaking, and the voice channels spoken in.

Rules:
- Which engine serves is the settings' decision (``Settings.stt_adapter``, ``Settings.tts_adapter``,
  ``Settings.tts_chain``, ``Settings.voice_adapter``); the ``providers.Selector`` here only map each
  answer to its adapter.
- Whisper (``faster_whisper``) falls back to sphinx, said once in the log, should it prove
  unusable (not installed, files not the pinned ones); online voices fall back to espeak unless
  ``tts_fallback`` is "none".
- Every provider here is loaded once per process and shared by every tenant (``SHARED``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dependency_injector import providers

from trainerbot.adapters.audio.espeak import EspeakTextToSpeech
from trainerbot.adapters.audio.fallback import FallbackSpeechToText, FallbackTextToSpeech
from trainerbot.adapters.audio.ffmpeg import FfmpegAudioConverter, resolve_ffmpeg
from trainerbot.adapters.audio.google import GoogleEngine
from trainerbot.adapters.audio.gtts import GttsTextToSpeech
from trainerbot.adapters.audio.recognition import SpeechRecognitionSpeechToText
from trainerbot.adapters.audio.sphinx import SphinxEngine
from trainerbot.adapters.audio.whisper import FasterWhisperEngine
from trainerbot.adapters.discord.voice import DiscordVoice
from trainerbot.adapters.openai import OpenAISpeechToText, OpenAITextToSpeech
from trainerbot.adapters.unavailable import (
    UnavailableSpeechToText,
    UnavailableTextToSpeech,
    UnavailableVoiceOutput,
)

from .configured import Configured, settings
from .models import NO_OPENAI_SETTINGS, LanguageModels

NO_VOICE = "Voice channels exist only in Discord: run the bot with a Discord token to speak."


def _recognizer(
    engine: providers.Provider[Any], name: str
) -> providers.Singleton[SpeechRecognitionSpeechToText]:
    """A SpeechRecognition adapter over ``engine``, with the configured pool and piece length."""
    return providers.Singleton(
        SpeechRecognitionSpeechToText,
        engine,
        max_workers=settings.provided.stt_workers,
        max_chunk_seconds=settings.provided.stt_chunk_seconds,
        name=name,
    )


def _every_core() -> int:
    """CTranslate2 threads per recognition: every core, so that a lone voice message (the usual
    case) is heard as fast as the machine can; the pool bounds how many run at once."""
    return max(1, os.cpu_count() or 1)


def _optional_path(path: Path | None) -> str | None:
    return str(path) if path is not None else None


class Speech(Configured):
    """Audio conversion, speech recognition, text-to-speech and voice output."""

    audio_converter = providers.Singleton(
        FfmpegAudioConverter,
        ffmpeg=providers.Callable(_optional_path, settings.provided.ffmpeg_path),
        max_bytes=settings.provided.max_audio_bytes,
        # Decoding stops a little past the limit, so TranscribeVoice can say how long it was.
        max_seconds=settings.provided.max_audio_seconds,
    )

    _sphinx = _recognizer(providers.Singleton(SphinxEngine), "sphinx")
    speech_to_text = providers.Selector(
        settings.provided.stt_adapter,
        sphinx=_sphinx,
        google=_recognizer(providers.Singleton(GoogleEngine), "google"),
        # The bundled multilingual base model, or TRAINERBOT_WHISPER_MODEL; else sphinx.
        faster_whisper=providers.Singleton(
            FallbackSpeechToText,
            _recognizer(
                providers.Singleton(
                    FasterWhisperEngine,
                    settings.provided.whisper_model,
                    cpu_threads=providers.Callable(_every_core),
                ),
                "faster_whisper",
            ),
            _sphinx,
            name="faster_whisper",
        ),
        openai=providers.Singleton(
            OpenAISpeechToText,
            LanguageModels.openai_client,
            model=settings.provided.openai_stt_model,
            service=LanguageModels.openai_service,
        ),
        missing=providers.Singleton(UnavailableSpeechToText, NO_OPENAI_SETTINGS),
    )

    espeak = providers.Singleton(EspeakTextToSpeech)
    online_text_to_speech = providers.Selector(
        settings.provided.tts_adapter,
        gtts=providers.Singleton(GttsTextToSpeech),
        espeak=espeak,
        openai=providers.Singleton(
            OpenAITextToSpeech,
            LanguageModels.openai_client,
            model=settings.provided.openai_tts_model,
            voice=settings.provided.openai_tts_voice,
            service=LanguageModels.openai_service,
        ),
        missing=providers.Singleton(UnavailableTextToSpeech, NO_OPENAI_SETTINGS),
    )
    text_to_speech = providers.Selector(
        settings.provided.tts_chain,
        alone=online_text_to_speech,
        with_fallback=providers.Singleton(
            FallbackTextToSpeech,
            online_text_to_speech,
            espeak,
            name=providers.Callable("{}+espeak".format, settings.provided.resolved_tts_engine),
        ),
    )

    # Spoken replies go to Discord voice channels when the bot runs in Discord.
    voice_output = providers.Selector(
        settings.provided.voice_adapter,
        discord=providers.Singleton(
            DiscordVoice,
            ffmpeg=providers.Callable(resolve_ffmpeg, settings.provided.ffmpeg_path),
            idle_seconds=settings.provided.voice_idle_seconds,
        ),
        none=providers.Singleton(UnavailableVoiceOutput, NO_VOICE),
    )
