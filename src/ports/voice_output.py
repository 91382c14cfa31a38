"""VoiceOutput: plays audio in a voice channel."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from trainerbot.core.entities import AudioClip


@runtime_checkable
class VoiceOutput(Protocol):
    """Queue ``clip`` for playback at ``target`` (a voice channel, a speaker...).

    Returns once the clip is queued, not when it has played, so the caller can synthesise the next
    sentence while this one plays. Clips at one target play in order, never over each other.
    Raises ``VoiceNotConnected`` when there is nowhere to play.
    """

    async def enqueue(self, target: str, clip: AudioClip) -> None: ...
