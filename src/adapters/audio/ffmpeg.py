"""FfmpegAudioConverter: any audio container → 16 kHz mono 16-bit PCM through one ffmpeg process.

Bytes go to ffmpeg's stdin and PCM comes back on its stdout: no temporary files, no ffprobe (the
imageio-ffmpeg wheel ships none, which is why pydub's ``from_file`` cannot be used), and the
process runs as an asyncio subprocess so the event loop never waits for it.

Also here: ``resolve_ffmpeg`` (which binary to run) and ``split_on_silence`` (cut a long recording
into pieces a recogniser can take, with pydub's silence detection on raw PCM).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import logging
import os
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trainerbot.core.entities import AudioClip, PcmAudio
from trainerbot.core.errors import (
    AudioTooLarge,
    AudioTooLong,
    CapabilityUnavailable,
    EmptyAudio,
    ServiceError,
    UndecodableAudio,
)
from trainerbot.core.limits import MIB, human_bytes
from trainerbot.ports import AudioConverter

log = logging.getLogger(__name__)

SAMPLE_WIDTH = 2  # bytes per sample: signed 16-bit little-endian (s16le)

# ffmpeg is told to stop a little after the limit, so "longer than the limit" is visible in the
# output without decoding (and holding in memory) an arbitrarily long recording.
LENGTH_MARGIN_SECONDS = 1.0
# Resampling and codec padding can add a few milliseconds to a recording exactly at the limit.
LENGTH_TOLERANCE_SECONDS = 0.1

# How much of ffmpeg's stderr reaches the debug log: enough to diagnose, never a flood.
STDERR_LOG_CHARS = 2_000
# How much of ffmpeg's output is taken from the pipe at a time.
READ_CHUNK = 1 << 16

# The first box of an MP4/M4A file. Such a file whose index ("moov") comes after the audio cannot
# be read from a pipe; the message then says what to send instead.
MP4_SIGNATURE = b"ftyp"

OGG_CAPTURE = b"OggS"  # every Ogg page starts with it
OGG_HEADER_BYTES = 27  # a page header before its segment table


def ogg_cut_short(data: bytes) -> bool:
    """Whether ``data`` is an Ogg stream whose last page is incomplete: a download or upload
    cut off mid-file. ffmpeg decodes such a file's complete pages without a word (not even a
    warning), so a cut voice message would otherwise be heard as a shorter, complete one.

    Only a page cut in the middle counts; anything that is not a clean chain of Ogg pages is
    left to ffmpeg to judge.
    """
    position = 0
    while position < len(data):
        if data[position : position + 4] != OGG_CAPTURE:
            return False
        segments_at = position + OGG_HEADER_BYTES
        if segments_at > len(data):
            return True
        count = data[segments_at - 1]
        if segments_at + count > len(data):
            return True
        body = sum(data[segments_at : segments_at + count])
        position = segments_at + count + body
    return position > len(data)


def resolve_ffmpeg(configured: str | os.PathLike[str] | None = None) -> str:
    """The ffmpeg binary to run: ``configured`` (``TRAINERBOT_FFMPEG_PATH``) if given, else the
    one bundled with the imageio-ffmpeg wheel.

    A configured path must be an executable file; a bare name (``ffmpeg``) is looked up on
    ``PATH``. Raises ``CapabilityUnavailable`` naming only the file name, never the host path.
    The first call may run ``ffmpeg -version`` (imageio-ffmpeg checks its binary): call it from
    a worker thread or at start-up, not on the event loop.
    """
    if configured is not None and str(configured).strip():
        text = os.fspath(configured).strip()
        path = Path(text).expanduser()
        if os.sep not in text and (os.altsep is None or os.altsep not in text):
            found = shutil.which(text)
            if found:
                return found
        elif path.is_file() and os.access(path, os.X_OK):
            return str(path)
        raise CapabilityUnavailable(
            f"ffmpeg was not found at {path.name or text}; fix TRAINERBOT_FFMPEG_PATH"
        )
    import imageio_ffmpeg  # deferred: only needed when no path is configured

    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError:
        raise CapabilityUnavailable(
            "ffmpeg is not available: reinstall imageio-ffmpeg or set TRAINERBOT_FFMPEG_PATH"
        ) from None


def human_seconds(seconds: float) -> str:
    """``7.25`` → ``"7.2 s"``, ``300`` → ``"5 min"``, ``312`` → ``"5 min 12 s"``."""
    if seconds < 60:
        return f"{seconds:.1f} s".replace(".0 s", " s")
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


class FfmpegAudioConverter(AudioConverter):
    """Decodes any audio ffmpeg reads (ogg/opus voice messages, wav, mp3, m4a/aac, webm, flac...)
    into mono 16-bit PCM at ``sample_rate``.

    Rules:
    - Empty input is ``EmptyAudio``; input over ``max_bytes`` is ``AudioTooLarge`` (checked before
      ffmpeg starts); a recording over ``max_seconds`` is ``AudioTooLong``.
    - Input ffmpeg cannot decode, or that decodes to nothing, is ``UndecodableAudio``; ffmpeg's
      own words go to the debug log only. So is an Ogg file cut off mid-page (a truncated voice
      message), which ffmpeg would otherwise decode silently up to the cut.
    - An M4A/MP4 whose index ("moov") is at the end of the file (not saved with "fast start")
      cannot be read from a pipe: ffmpeg would have to seek back to the audio. It is refused as
      ``UndecodableAudio`` with advice; no temporary file is written to work around it. (Very
      small ones still decode: the whole file fits in ffmpeg's read buffer.)
    - A conversion that takes longer than ``timeout`` seconds is killed: ``ServiceError``.
    - At most ``max_processes`` ffmpeg processes run at once; further conversions wait their turn,
      so a burst of voice messages does not fork a process each.
    - If the awaiting task is cancelled, its ffmpeg process is killed and reaped.
    - ffmpeg is ``ffmpeg`` if given, else the imageio-ffmpeg binary, resolved on first use;
      a missing binary is ``CapabilityUnavailable``.
    """

    def __init__(
        self,
        *,
        ffmpeg: str | None = None,
        timeout: float = 30.0,
        max_bytes: int = 25 * MIB,
        max_seconds: float = 300.0,
        sample_rate: int = 16_000,
        max_processes: int = 4,
    ) -> None:
        if timeout <= 0 or max_bytes <= 0 or max_seconds <= 0 or sample_rate <= 0:
            raise ValueError("timeout, max_bytes, max_seconds and sample_rate must be positive")
        if max_processes < 1:
            raise ValueError("max_processes must be at least 1")
        self._configured = ffmpeg
        self._ffmpeg: str | None = None
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self.sample_rate = sample_rate
        self.max_processes = max_processes
        # asyncio primitives belong to one event loop; one semaphore per loop keeps the converter
        # usable from successive asyncio.run() calls (the CLI, tests) as well as from the bot.
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    async def to_pcm(self, clip: AudioClip) -> PcmAudio:
        if not clip.data:
            raise EmptyAudio()
        if clip.size > self.max_bytes:
            raise AudioTooLarge(
                f"That audio file is {human_bytes(clip.size)}; the limit is "
                f"{human_bytes(self.max_bytes)}."
            )
        if ogg_cut_short(clip.data):
            raise UndecodableAudio("That recording is cut off before its end; send it again.")
        ffmpeg = await self._executable()
        async with self._semaphore():
            returncode, samples, stderr = await self._run(ffmpeg, clip.data)
        if returncode != 0 or not samples:
            log.debug(
                "ffmpeg could not decode %r (%d bytes, exit %s): %s",
                clip.filename,
                clip.size,
                returncode,
                stderr.decode("utf-8", "replace")[-STDERR_LOG_CHARS:].strip(),
            )
            if clip.data[4:8] == MP4_SIGNATURE:
                raise UndecodableAudio(
                    "I cannot read that m4a/mp4 recording (its index is at the end of the "
                    "file); send it as ogg, mp3 or wav instead."
                )
            raise UndecodableAudio()
        # An odd byte would be half a sample: drop it rather than shift every later sample.
        samples = samples[: len(samples) - len(samples) % SAMPLE_WIDTH]
        pcm = PcmAudio(samples=samples, sample_rate=self.sample_rate)
        if pcm.duration_seconds > self.max_seconds + LENGTH_TOLERANCE_SECONDS:
            raise AudioTooLong(self._too_long_message(pcm.duration_seconds))
        return pcm

    def _too_long_message(self, decoded: float) -> str:
        limit = human_seconds(self.max_seconds)
        # ffmpeg stopped at the cap: the true length is unknown, only that it is past the cap.
        if decoded >= self.max_seconds + LENGTH_MARGIN_SECONDS - 0.05:
            return f"That recording is longer than {human_seconds(decoded)}; the limit is {limit}."
        return f"That recording is {human_seconds(decoded)} long; the limit is {limit}."

    def _arguments(self) -> list[str]:
        return [
            "-hide_banner",
            "-loglevel",
            "error",
            "-i",
            "pipe:0",
            "-t",
            f"{self.max_seconds + LENGTH_MARGIN_SECONDS:.3f}",
            "-vn",  # cover art in mp3/m4a is a video stream: ignore it
            "-ac",
            "1",
            "-ar",
            str(self.sample_rate),
            "-f",
            "s16le",
            "pipe:1",
        ]

    async def _executable(self) -> str:
        if self._ffmpeg is None:
            # imageio-ffmpeg validates its binary by running it once: not on the event loop.
            self._ffmpeg = await asyncio.to_thread(resolve_ffmpeg, self._configured)
        return self._ffmpeg

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(self.max_processes))
        return self._slots[1]

    async def _run(self, ffmpeg: str, data: bytes) -> tuple[int | None, bytes, bytes]:
        """Run one ffmpeg over ``data``: (exit code, stdout, stderr). Kills it on timeout or
        cancellation, so no ffmpeg outlives the call."""
        try:
            process = await asyncio.create_subprocess_exec(
                ffmpeg,
                *self._arguments(),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as error:  # missing, not executable, or not a program at all
            log.warning("ffmpeg could not be started: %s", error)
            raise CapabilityUnavailable(
                f"ffmpeg could not be started ({Path(ffmpeg).name}); "
                "fix TRAINERBOT_FFMPEG_PATH or reinstall imageio-ffmpeg"
            ) from None
        try:
            # stdin is written while stdout and stderr are read, so a large input never
            # deadlocks against a full output pipe.
            stdout, stderr = await asyncio.wait_for(_exchange(process, data), self.timeout)
        except TimeoutError:
            log.warning(
                "ffmpeg took longer than %.1f s on %d bytes; killed", self.timeout, len(data)
            )
            raise ServiceError(
                "Decoding that audio took too long; try a shorter recording."
            ) from None
        finally:
            await _reap(process)
        return process.returncode, stdout, stderr


async def _exchange(process: asyncio.subprocess.Process, data: bytes) -> tuple[bytes, bytes]:
    """``communicate()``, but collecting the output in a BytesIO, whose ``getvalue()`` hands over
    its buffer without a copy: the decoded audio is held about once, not twice (a list of blocks
    plus their join), which is most of this pipeline's memory."""
    # All three are pipes: _run asked for them.
    assert process.stdin is not None
    assert process.stdout is not None
    assert process.stderr is not None

    async def feed(stdin: asyncio.StreamWriter) -> None:
        try:
            stdin.write(data)
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # ffmpeg stopped reading (the length cap, or input it cannot decode)
        finally:
            stdin.close()

    async def collect(stream: asyncio.StreamReader) -> bytes:
        out = io.BytesIO()
        while chunk := await stream.read(READ_CHUNK):
            out.write(chunk)
        return out.getvalue()

    _, stdout, stderr = await asyncio.gather(
        feed(process.stdin), collect(process.stdout), collect(process.stderr)
    )
    await process.wait()
    return stdout, stderr


async def _reap(process: asyncio.subprocess.Process) -> None:
    """Kill ``process`` if it still runs and wait for it, so it leaves no zombie behind."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    # Shielded: if the caller is cancelled again meanwhile, the wait still completes.
    await asyncio.shield(process.wait())


# --- splitting long recordings ----------------------------------------------------------------

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
