"""SpeechToText: recognises speech in decoded audio."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from trainerbot.core.entities import PcmAudio, Transcript


@runtime_checkable
class SpeechToText(Protocol):
    """Recognise speech in 16-bit mono PCM. Nothing recognisable is an empty transcript, not an error."""

    async def transcribe(self, audio: PcmAudio, *, language: str) -> Transcript: ...
