"""AudioConverter: decodes any supported container into PCM."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from trainerbot.core.entities import AudioClip, PcmAudio


@runtime_checkable
class AudioConverter(Protocol):
    """Decode ogg/opus, wav, mp3, m4a, webm, flac... into 16 kHz mono 16-bit PCM.

    Raises ``UndecodableAudio`` for input that is not audio, ``AudioTooLong`` past its
    decoding cap (a safety cap: the length limit is core's rule, ``core.limits``).
    """

    async def to_pcm(self, clip: AudioClip) -> PcmAudio: ...
