"""TranscribeVoice: audio of any supported container → text in the configured language."""

from __future__ import annotations

from dataclasses import dataclass

from trainerbot.ports import AudioConverter, SpeechToText, Workspace

from .access import require_trainer
from .entities import Actor, AudioClip, Transcript
from .errors import AudioTooLarge, EmptyAudio, FileTooLarge, InvalidArgument
from .limits import DEFAULT_LIMITS, Limits, refuse_overlong_audio, refuse_oversized_audio
from .paths import parse_user_path
from .rate_limit import RateLimit


@dataclass(frozen=True)
class TranscribeRequest:
    """Either ``audio`` (a voice message, an attachment) or ``path`` (a file in the workspace)."""

    audio: AudioClip | None = None
    path: str | None = None
    actor: Actor | None = None
    language: str | None = None


@dataclass(frozen=True)
class TranscribeResult:
    transcript: Transcript
    duration_seconds: float

    @property
    def heard_anything(self) -> bool:
        return self.transcript.heard_anything

    def heard_nothing(self) -> str:
        """What to say when nothing was recognised."""
        return f"I heard nothing I could recognise in {self.duration_seconds:.1f} s of audio."


class TranscribeVoice:
    """Turn speech into text.

    Rules:
    - Someone transcribing (``actor``) takes one from their rate limit first (``RateLimited``).
    - Give exactly one of ``audio`` or ``path``. A workspace path is for trainers only (it reads the
      workspace) and must stay inside it.
    - Empty audio (``EmptyAudio``), audio over ``max_audio_bytes`` (``AudioTooLarge``) and recordings
      over ``max_audio_seconds`` (``AudioTooLong``) are refused, by the rules of ``core.limits``:
      a recording exactly at the limit passes (with the few hundredths of a second decoding
      adds), and a refusal states a length greater than the limit. Undecodable input is
      refused by the converter (``UndecodableAudio``), and so is a recording too long for it to
      decode whole (``AudioTooLong``, worded by ``core.limits`` too).
    - Recognition runs on 16 kHz mono PCM in the request's language, else the configured one.
    - Hearing nothing recognisable is a normal result (an empty transcript), not an error.
    """

    def __init__(
        self,
        *,
        converter: AudioConverter,
        speech_to_text: SpeechToText,
        workspace: Workspace,
        language: str,
        limits: Limits = DEFAULT_LIMITS,
        rate_limit: RateLimit | None = None,
    ) -> None:
        self._rate_limit = rate_limit
        self._converter = converter
        self._stt = speech_to_text
        self._workspace = workspace
        self._language = language
        self._limits = limits

    async def execute(self, request: TranscribeRequest) -> TranscribeResult:
        if self._rate_limit is not None and request.actor is not None:
            self._rate_limit.take(request.actor)
        clip = await self._clip(request)
        if clip.size == 0:
            raise EmptyAudio()
        refuse_oversized_audio(clip.size, self._limits.max_audio_bytes)
        pcm = await self._converter.to_pcm(clip)
        refuse_overlong_audio(pcm.duration_seconds, self._limits.max_audio_seconds)
        transcript = await self._stt.transcribe(pcm, language=request.language or self._language)
        return TranscribeResult(transcript=transcript, duration_seconds=pcm.duration_seconds)

    async def _clip(self, request: TranscribeRequest) -> AudioClip:
        if (request.audio is None) == (request.path is None):
            raise InvalidArgument("Give either an audio attachment or a workspace path, not both.")
        if request.audio is not None:
            return request.audio
        if request.actor is None:
            raise InvalidArgument("Reading audio from the workspace needs to know who asks.")
        require_trainer(request.actor)
        path = parse_user_path(request.path or "")
        try:
            content = await self._workspace.read_file(path, max_bytes=self._limits.max_audio_bytes)
        except FileTooLarge as error:
            raise AudioTooLarge(str(error)) from None
        if not content.data:
            raise EmptyAudio()
        return AudioClip(data=content.data, filename=content.filename)
