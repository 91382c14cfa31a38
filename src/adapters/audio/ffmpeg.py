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
    TrainerbotError,
    UndecodableAudio,
)
from trainerbot.core.limits import MIB, human_bytes
from trainerbot.ports import AudioConverter

from . import ogg

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
# A voice message is decoded in pieces side by side only if each piece gets at least this much:
# below it, starting another ffmpeg costs about what it saves.
PIECE_MIN_SECONDS = 15.0

# The first box of an MP4/M4A file. Such a file whose index ("moov") comes after the audio cannot
# be read from a pipe; the message then says what to send instead.
MP4_SIGNATURE = b"ftyp"


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
    - A conversion that takes longer than ``timeout`` seconds is killed: ``ServiceError``; so is
      an ffmpeg that crashes (dies of a signal): the decoder failed, not necessarily the input.
    - At most ``max_processes`` ffmpeg processes run at once; further conversions wait their turn,
      so a burst of voice messages does not fork a process each.
    - If the awaiting task is cancelled, its ffmpeg process is killed and reaped.
    - ffmpeg is ``ffmpeg`` if given, else the imageio-ffmpeg binary, resolved on first use;
      a missing binary is ``CapabilityUnavailable``.

    Voice messages (Ogg Opus) take a faster road to the same samples: their 20 ms packets are
    joined into 120 ms ones (``ogg.repacketize_opus``: the same frames, decoded identically),
    and a long one is cut into up to ``max_pieces`` stretches (one per usable core by default)
    of at least ``PIECE_MIN_SECONDS``, which separate ffmpeg processes decode side by side,
    each pinned to a core of its own, each into its place in one output buffer. A piece takes
    a process slot only if one is free at once, so under load messages go in fewer pieces. If
    a piece decodes to anything but the length its pages promise, the pieces are discarded and
    the message is decoded whole. The trade-off of pinning: a piece cannot move off a core that
    something else keeps busy; it is taken because on an idle machine it makes a long message
    decode about a fifth faster and far more evenly.
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
        max_pieces: int | None = None,
    ) -> None:
        if timeout <= 0 or max_bytes <= 0 or max_seconds <= 0 or sample_rate <= 0:
            raise ValueError("timeout, max_bytes, max_seconds and sample_rate must be positive")
        if max_processes < 1:
            raise ValueError("max_processes must be at least 1")
        if max_pieces is not None and max_pieces < 1:
            raise ValueError("max_pieces must be at least 1")
        self._configured = ffmpeg
        self._ffmpeg: str | None = None
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self.sample_rate = sample_rate
        self.max_processes = max_processes
        # One piece per core this process may use: more would only queue for the CPU.
        self.max_pieces = min(max_pieces or _usable_cores(), max_processes)
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
        if ogg.cut_short(clip.data):
            raise UndecodableAudio("That recording is cut off before its end; send it again.")
        ffmpeg = await self._executable()
        data, samples = clip.data, None
        async with self._semaphore():
            if data.startswith(ogg.CAPTURE):  # a voice message: see the class's last paragraph
                data, samples = await self._decode_opus(ffmpeg, data)
            if samples is None:
                samples = await self._decode_whole(ffmpeg, data, clip)
        # An odd byte would be half a sample: drop it rather than shift every later sample.
        samples = samples[: len(samples) - len(samples) % SAMPLE_WIDTH]
        pcm = PcmAudio(samples=samples, sample_rate=self.sample_rate)
        if pcm.duration_seconds > self.max_seconds + LENGTH_TOLERANCE_SECONDS:
            raise AudioTooLong(self._too_long_message(pcm.duration_seconds))
        return pcm

    async def _decode_whole(self, ffmpeg: str, data: bytes, clip: AudioClip) -> bytes:
        """``data`` decoded by one ffmpeg, in the process slot the caller holds."""
        out = io.BytesIO()
        sink = _Sink(out)
        returncode, stderr = await self._run(await self._spawn(ffmpeg), data, sink)
        if returncode is not None and returncode < 0:
            # Killed by a signal it was not sent by us (a timeout raised before): ffmpeg crashed,
            # which says nothing about whether the recording is audio.
            log.warning("ffmpeg died of signal %d on %r", -returncode, clip.filename)
            raise ServiceError(
                "The audio decoder (ffmpeg) crashed on that recording; please try again or "
                "send it in another format."
            )
        if returncode != 0 or not sink.produced:
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
        return out.getvalue()

    async def _decode_opus(self, ffmpeg: str, data: bytes) -> tuple[bytes, bytes | None]:
        """(the stream repacketized, its audio decoded in pieces side by side), or without the
        audio when it is to be decoded whole. The caller holds one process slot; each further
        piece needs a slot that is free now, so a busy converter decodes in fewer pieces
        rather than waiting for slots (or deadlocking over them)."""
        estimate = ogg.declared_duration(data)
        wanted = 1
        if estimate is not None and estimate <= self.max_seconds:  # the whole road caps length
            wanted = min(self.max_pieces, int(estimate // PIECE_MIN_SECONDS))
        semaphore = self._semaphore()
        async with contextlib.AsyncExitStack() as stack:
            parts = 1
            while parts < wanted and not semaphore.locked():
                await semaphore.acquire()
                stack.callback(semaphore.release)
                parts += 1
            if parts < 2:
                return await asyncio.to_thread(ogg.repacketize_opus, data) or data, None
            # Started first, so their start-up overlaps the repacketizing and cutting.
            processes = [await self._spawn(ffmpeg) for _ in range(parts)]
            for process in processes:
                stack.push_async_callback(_reap, process)
            _spread_over_cores(processes)
            data, pieces = await asyncio.to_thread(_prepare_opus, data, parts)
            if pieces is None or len(pieces) != parts:
                return data, None
            out = io.BytesIO()
            failures: list[TrainerbotError] = []

            async def decode(
                process: asyncio.subprocess.Process, piece: ogg.Piece, start: int, end: int
            ) -> bool:
                skip = self._bytes_for(piece.lead_in)
                sink = _Sink(out, offset=start - skip, keep_from=start, end=end)
                try:
                    returncode, _ = await self._run(process, piece.data, sink)
                except TrainerbotError as error:  # a timeout: the message's, not the piece's
                    failures.append(error)
                    return False
                # Resampling may round a piece's length by a sample either way.
                produced = sink.produced - skip
                return returncode == 0 and abs(produced - (end - start)) <= 2 * SAMPLE_WIDTH

            decoded = await asyncio.gather(
                *(
                    decode(process, *laid_out)
                    for process, laid_out in zip(processes, self._layout(pieces, out), strict=True)
                )
            )
        if failures:
            raise failures[0]
        if not all(decoded):
            log.debug("a voice message's pieces did not decode as promised; decoding it whole")
            return data, None
        return data, out.getvalue()

    def _layout(self, pieces: list[ogg.Piece], out: io.BytesIO) -> list[tuple[ogg.Piece, int, int]]:
        """Each piece with the window ``[start, end)`` its audio fills in ``out``, which is sized
        for all of them once rather than regrown as pieces land. (A piece a sample short
        leaves a silent sample where it ends, rather than shifting what follows.)"""
        offsets = [0]
        for piece in pieces:
            offsets.append(offsets[-1] + self._bytes_for(piece.samples))
        out.seek(offsets[-1] - 1)
        out.write(b"\0")
        return [
            (piece, start, end)
            for piece, (start, end) in zip(pieces, itertools.pairwise(offsets), strict=True)
        ]

    def _bytes_for(self, opus_samples: int) -> int:
        """Output bytes for a number of 48 kHz Opus samples."""
        return opus_samples * self.sample_rate // ogg.OPUS_RATE * SAMPLE_WIDTH

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

    async def _spawn(self, ffmpeg: str) -> asyncio.subprocess.Process:
        """Start one ffmpeg, reading from stdin and writing PCM to stdout."""
        try:
            return await asyncio.create_subprocess_exec(
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

    async def _run(
        self, process: asyncio.subprocess.Process, data: bytes, sink: _Sink
    ) -> tuple[int | None, bytes]:
        """Feed ``data`` to a started ffmpeg and hand its output to ``sink``: (exit code,
        stderr). Kills it on timeout or cancellation, so no ffmpeg outlives the call."""
        try:
            # stdin is written while stdout and stderr are read, so a large input never
            # deadlocks against a full output pipe.
            stderr = await asyncio.wait_for(_exchange(process, data, sink), self.timeout)
        except TimeoutError:
            log.warning(
                "ffmpeg took longer than %.1f s on %d bytes; killed", self.timeout, len(data)
            )
            raise ServiceError(
                "Decoding that audio took too long; try a shorter recording."
            ) from None
        finally:
            await _reap(process)
        return process.returncode, stderr


def _prepare_opus(data: bytes, parts: int) -> tuple[bytes, list[ogg.Piece] | None]:
    """(the stream repacketized, cut into ``parts`` pieces if that is 2 or more): CPU work for
    a worker thread."""
    data = ogg.repacketize_opus(data) or data
    return data, ogg.split_opus(data, parts) if parts >= 2 else None


def _spread_over_cores(processes: list[asyncio.subprocess.Process]) -> None:
    """Give each piece's ffmpeg a core of its own (where the OS allows), before it has read a
    byte and started its threads, which inherit the choice. ffmpeg hands every frame from
    thread to thread; kept on one core those hand-offs are cheap, and two pieces never
    contend for the same core."""
    if not hasattr(os, "sched_setaffinity"):
        return
    cores = sorted(os.sched_getaffinity(0))
    for index, process in enumerate(processes):
        with contextlib.suppress(OSError):  # it may already have exited
            os.sched_setaffinity(process.pid, {cores[index % len(cores)]})


def _usable_cores() -> int:
    """The CPUs this process may run on (its affinity, where the OS tells), at least one."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


class _Sink:
    """Where ffmpeg's output goes: a window ``[keep_from, end)`` of a shared ``BytesIO``, into
    which this process's output is laid as if it began at ``offset``. A whole decode keeps
    everything (offset 0, no end); a piece drops its pre-roll and anything past its share."""

    def __init__(
        self, out: io.BytesIO, *, offset: int = 0, keep_from: int = 0, end: int | None = None
    ) -> None:
        self.out = out
        self.position = offset
        self.keep_from = keep_from
        self.end = end
        self.produced = 0

    def write(self, chunk: bytes) -> None:
        start, stop = self.position, self.position + len(chunk)
        self.position = stop
        self.produced += len(chunk)
        low = max(start, self.keep_from)
        high = stop if self.end is None else min(stop, self.end)
        if low < high:
            self.out.seek(low)
            self.out.write(memoryview(chunk)[low - start : high - start])


async def _exchange(process: asyncio.subprocess.Process, data: bytes, sink: _Sink) -> bytes:
    """``communicate()``, but handing the output to ``sink`` as it comes: into a BytesIO, whose
    ``getvalue()`` hands over its buffer without a copy, so the decoded audio is held about
    once, not twice (a list of blocks plus their join), which is most of this pipeline's
    memory. Returns stderr."""
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

    async def drain_output(stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(READ_CHUNK):
            sink.write(chunk)

    async def collect(stream: asyncio.StreamReader) -> bytes:
        out = io.BytesIO()
        while chunk := await stream.read(READ_CHUNK):
            out.write(chunk)
        return out.getvalue()

    _, _, stderr = await asyncio.gather(
        feed(process.stdin), drain_output(process.stdout), collect(process.stderr)
    )
    await process.wait()
    return stderr


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
