"""Cutting a long recording into pieces a recogniser can take: ``split_on_silence``, with pydub's
silence detection on the raw samples (no ffmpeg, no ffprobe).

The speech-to-text adapter (``recognition``) uses it before a recording longer than one piece is
recognised piece by piece, in parallel.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from typing import Any

from trainerbot.core.entities import PcmAudio

SAMPLE_WIDTH = 2  # bytes per sample of PcmAudio: signed 16-bit little-endian

# Silence shorter than this is a pause inside a phrase, not a place to cut.
MIN_SILENCE_MS = 300
# pydub looks for silence every SEEK_STEP_MS: 10 ms keeps five minutes of audio well under a second.
SEEK_STEP_MS = 10
# Quieter than the recording's average loudness by this much counts as silence...
SILENCE_BELOW_AVERAGE_DB = 16.0
# ...but never louder than this: a recording of pure noise has no silence to cut at.
SILENCE_CEILING_DBFS = -30.0


def split_on_silence(pcm: PcmAudio, *, max_chunk_seconds: float = 30.0) -> list[PcmAudio]:
    """Cut ``pcm`` into consecutive pieces of at most ``max_chunk_seconds``, cutting in the middle
    of silences where it can and hard-cutting where a stretch of sound is longer than that.

    The pieces, in order, add up to ``pcm`` exactly (nothing is dropped or repeated). A recording
    that already fits is returned as one piece, unanalysed; an empty one gives no pieces.

    Silence detection is pydub's, on an ``AudioSegment`` built from the raw samples (no ffmpeg,
    no ffprobe). It is CPU-bound and synchronous: callers on the event loop run it in a worker
    thread (``await asyncio.to_thread(split_on_silence, pcm)``).
    """
    if max_chunk_seconds <= 0:
        raise ValueError("max_chunk_seconds must be positive")
    frames = len(pcm.samples) // SAMPLE_WIDTH
    if frames == 0:
        return []
    max_frames = max(1, int(max_chunk_seconds * pcm.sample_rate))
    if frames <= max_frames:
        return [pcm]
    cuts = _cut_points(_silence_middles(pcm), frames=frames, max_frames=max_frames)
    bounds = [0, *cuts, frames]
    return [
        PcmAudio(
            samples=pcm.samples[start * SAMPLE_WIDTH : end * SAMPLE_WIDTH],
            sample_rate=pcm.sample_rate,
        )
        for start, end in itertools.pairwise(bounds)
    ]


def _silence_middles(pcm: PcmAudio) -> list[int]:
    """Frame indexes in the middle of each silence between two stretches of sound."""
    audio_segment, detect_nonsilent = _pydub()
    segment = audio_segment(
        data=pcm.samples[: len(pcm.samples) - len(pcm.samples) % SAMPLE_WIDTH],
        sample_width=SAMPLE_WIDTH,
        frame_rate=pcm.sample_rate,
        channels=1,
    )
    average = segment.dBFS
    if average == float("-inf"):  # digital silence throughout: nowhere better to cut
        return []
    threshold = min(average - SILENCE_BELOW_AVERAGE_DB, SILENCE_CEILING_DBFS)
    sounds: list[list[int]] = detect_nonsilent(
        segment,
        min_silence_len=MIN_SILENCE_MS,
        silence_thresh=threshold,
        seek_step=SEEK_STEP_MS,
    )
    return [
        (previous_end + start) * pcm.sample_rate // 2000
        for (_, previous_end), (start, _) in itertools.pairwise(sounds)
    ]


def _cut_points(candidates: Sequence[int], *, frames: int, max_frames: int) -> list[int]:
    """Greedy cuts: from each start, the furthest silence within ``max_frames``, else a hard cut."""
    cuts: list[int] = []
    start = 0
    index = 0
    while frames - start > max_frames:
        limit = start + max_frames
        best: int | None = None
        while index < len(candidates) and candidates[index] <= limit:
            if candidates[index] > start:
                best = candidates[index]
            index += 1
        start = best if best is not None else limit
        cuts.append(start)
    return cuts


def _pydub() -> tuple[Any, Any]:
    """pydub, imported on first use: it loads audioop, and looks for ffmpeg on PATH at import,
    warning when there is none; neither matters for silence detection on raw samples."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        from pydub import AudioSegment
        from pydub.silence import detect_nonsilent
    return AudioSegment, detect_nonsilent
