"""Limits the use cases enforce. Configuration sets them; these defaults suit a Discord server."""

from __future__ import annotations

from dataclasses import dataclass

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
