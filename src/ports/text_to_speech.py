"""TextToSpeech: speaks text."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from trainerbot.core.entities import AudioClip


@runtime_checkable
class TextToSpeech(Protocol):
    """Synthesise ``text`` in ``language`` into an encoded clip the voice output can play."""

    async def synthesize(self, text: str, *, language: str) -> AudioClip: ...
