"""Clips the speech contract suites feed the adapters, made with the standard library."""

from __future__ import annotations

import io
import math
import wave

from trainerbot.core.entities import AudioClip, PcmAudio


def tone_samples(seconds: float, *, sample_rate: int = 16_000, hertz: float = 440.0) -> bytes:
    """A sine tone at a quarter of full scale, as 16-bit little-endian mono samples."""
    count = round(seconds * sample_rate)
    return b"".join(
        int(8000 * math.sin(2 * math.pi * hertz * n / sample_rate)).to_bytes(
            2, "little", signed=True
        )
        for n in range(count)
    )


def wav_clip(samples: bytes, *, sample_rate: int = 16_000) -> AudioClip:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(samples)
    return AudioClip(data=buffer.getvalue(), filename="clip.wav", content_type="audio/wav")


def silence(seconds: float, *, sample_rate: int = 16_000) -> PcmAudio:
    return PcmAudio(samples=bytes(2 * round(seconds * sample_rate)), sample_rate=sample_rate)
