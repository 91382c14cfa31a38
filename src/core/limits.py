"""Limits the use cases enforce. Configuration sets them; these defaults suit a Discord server."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import AudioTooLarge, AudioTooLong

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_message_chars: int = 4_000
    history_turns: int = 6
    max_history_chars: int = 12_000
    max_upload_bytes: int = 8 * MIB
    max_file_bytes: int = 8 * MIB
    max_dataset_files: int = 1_000
    max_audio_bytes: int = 25 * MIB
    max_audio_seconds: float = 300.0
    max_spoken_chars: int = 1_500
    max_correction_chars: int = 4_000
    max_feedback_chars: int = 2_000
    max_test_examples: int = 500
    test_concurrency: int = 4


def human_bytes(size: float) -> str:
    """``1536`` → ``"1.5 KB"``: sizes in messages people read."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


DEFAULT_LIMITS = Limits()


# --- the audio limits ------------------------------------------------------------------------
#
# One rule for every recording, wherever it is checked: the use case (TranscribeVoice) applies it
# to every clip and every decoded recording; a decoder that caps what it will decode (ffmpeg)
# words the refusal of what it cut off through ``audio_longer_than`` below.

#: How much longer than the limit a decoded recording may come out and still pass: what decoding
#: adds to a recording exactly at the limit (an MP3's encoder padding, about 0.02 s).
AUDIO_PADDING_SECONDS = 0.04
# Float noise: 312 s computed as 312.000000001 is still 312 s.
_EPSILON = 1e-6


def refuse_oversized_audio(size: int, limit: int) -> None:
    """Raise ``AudioTooLarge`` for audio of more than ``limit`` bytes; exactly ``limit`` passes.

    Sizes are stated in rounded units ("25.3 MB"), or in bytes where rounding would make the
    size look no larger than the limit ("26,214,401 bytes; the limit is 26,214,400 bytes").
    """
    if size > limit:
        shown, limit_shown = human_bytes(size), human_bytes(limit)
        if shown == limit_shown:
            shown, limit_shown = f"{size:,} bytes", f"{limit:,} bytes"
        raise AudioTooLarge(f"That audio file is {shown}; the limit is {limit_shown}.")


def refuse_overlong_audio(seconds: float, limit: float) -> None:
    """Raise ``AudioTooLong`` for a recording longer than ``limit`` seconds.

    Decoding adds a little to a recording exactly at the limit (an MP3 about 0.02 s of encoder
    padding): up to ``AUDIO_PADDING_SECONDS`` more passes. The length a refusal states is
    rounded up to the tenth and the limit stated as configured, so the one is always greater
    than the other: 300.05 s is refused as "300.1 s long; the limit is 300 s".
    """
    if seconds > limit + AUDIO_PADDING_SECONDS:
        raise AudioTooLong(
            f"That recording is {_tenths_shown(math.ceil(seconds * 10 - _EPSILON))} long; "
            f"the limit is {_limit_shown(limit)}."
        )


def audio_longer_than(seconds: float, limit: float) -> AudioTooLong:
    """The refusal of a recording whose decoding was stopped after ``seconds`` (more than
    ``limit``): its true length is unknown, only that it is longer than that (to the tenth)."""
    return AudioTooLong(
        f"That recording is longer than {_tenths_shown(math.floor(seconds * 10 + 0.5))}; "
        f"the limit is {_limit_shown(limit)}."
    )


def _tenths_shown(tenths: int) -> str:
    """``3001`` → ``"300.1 s"``, ``3000`` → ``"300 s"``."""
    whole, tenth = divmod(tenths, 10)
    return f"{whole}.{tenth} s" if tenth else f"{whole} s"


def _limit_shown(limit: float) -> str:
    """A limit as configured, to the millisecond at most (``300`` → ``"300 s"``, ``1.55`` →
    ``"1.55 s"``), rounded down: never shown as a length it refuses."""
    whole, thousandths = divmod(math.floor(limit * 1000 + _EPSILON), 1000)
    return f"{whole}.{thousandths:03d}".rstrip("0").rstrip(".") + " s"
