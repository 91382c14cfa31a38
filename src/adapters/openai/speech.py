"""OpenAISpeechToText and OpenAITextToSpeech: the audio transcription and speech endpoints."""

from __future__ import annotations

import io
import wave

from openai import AsyncOpenAI, omit

from trainerbot.core.entities import AudioClip, PcmAudio, Transcript
from trainerbot.core.errors import InvalidInput, ServiceError
from trainerbot.core.language import is_auto
from trainerbot.ports import SpeechToText, TextToSpeech

from .client import as_subject
from .errors import OPENAI_ERRORS, translate

# response_format → (file extension, content type). Opus comes in an Ogg container, which the
# voice player takes as it is.
SPEECH_FORMATS = {
    "opus": ("ogg", "audio/ogg"),
    "mp3": ("mp3", "audio/mpeg"),
    "wav": ("wav", "audio/wav"),
    "flac": ("flac", "audio/flac"),
    "aac": ("aac", "audio/aac"),
}


def iso_language(language: str) -> str:
    """``"ru-RU"`` → ``"ru"``: the transcription endpoint takes ISO-639-1 codes."""
    return language.split("-", 1)[0].split("_", 1)[0].lower()


def pcm_to_wav(audio: PcmAudio) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(audio.sample_rate)
        writer.writeframes(audio.samples)
    return buffer.getvalue()


class OpenAISpeechToText(SpeechToText):
    """Transcribes 16-bit mono PCM (sent as WAV) with ``audio.transcriptions``."""

    def __init__(self, client: AsyncOpenAI, *, model: str, service: str) -> None:
        self._client = client
        self._model = model
        self._service = service

    async def transcribe(self, audio: PcmAudio, *, language: str) -> Transcript:
        try:
            result = await self._client.audio.transcriptions.create(
                model=self._model,
                file=("speech.wav", pcm_to_wav(audio), "audio/wav"),
                # With auto the model detects the language itself.
                language=omit if is_auto(language) else iso_language(language),
            )
        except OPENAI_ERRORS as error:
            raise translate(
                error, secret=self._client.api_key, service=self._service, model=self._model
            ) from None
        return Transcript(text=result.text.strip(), language=language, engine="openai")


class OpenAITextToSpeech(TextToSpeech):
    """Speaks with ``audio.speech``; Ogg/Opus by default, which Discord's player takes directly.

    The endpoint chooses the language from the text, so ``language`` is not sent.
    """

    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        model: str,
        voice: str,
        service: str,
        response_format: str = "opus",
    ) -> None:
        if response_format not in SPEECH_FORMATS:
            raise ValueError(f"unsupported speech format {response_format!r}")
        self._client = client
        self._model = model
        self._voice = voice
        self._service = service
        self._format = response_format

    async def synthesize(self, text: str, *, language: str) -> AudioClip:
        if not text.strip():
            raise InvalidInput("There is nothing to say.")
        try:
            response = await self._client.audio.speech.create(
                model=self._model,
                voice=self._voice,
                input=text,
                response_format=self._format,  # type: ignore[arg-type]
            )
        except OPENAI_ERRORS as error:
            raise translate(
                error, secret=self._client.api_key, service=self._service, model=self._model
            ) from None
        extension, content_type = SPEECH_FORMATS[self._format]
        # An error page or a JSON body with status 200 is not speech: say so now, not at playback.
        received = response.response.headers.get("content-type", "").split(";")[0].strip()
        if not response.content or received.startswith(("application/json", "text/")):
            raise ServiceError(
                f"{as_subject(self._service)} sent an answer I could not read: it is not audio."
            )
        return AudioClip(
            data=response.content, filename=f"speech.{extension}", content_type=content_type
        )
