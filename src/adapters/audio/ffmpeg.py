"""FfmpegAudioConverter: any audio container → 16 kHz mono 16-bit PCM through one ffmpeg process.

Bytes go to ffmpeg's stdin and PCM comes back on its stdout: no temporary files, no ffprobe (the
imageio-ffmpeg wheel ships none, which is why pydub's ``from_file`` cannot be used), and the
process runs as an asyncio subprocess so the event loop never waits for it. Running the process
(and ``resolve_ffmpeg``, which binary) is ``ffmpeg_process``'s; cutting a long recording at its
pauses is ``silence``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import logging
from pathlib import Path

from trainerbot.core.entities import AudioClip, PcmAudio
from trainerbot.core.errors import (
    CapabilityUnavailable,
    EmptyAudio,
    ServiceError,
    TrainerbotError,
    UndecodableAudio,
)
from trainerbot.core.limits import MIB, audio_longer_than, refuse_oversized_audio
from trainerbot.ports import AudioConverter

from . import ogg
from .ffmpeg_process import Sink, exchange, reap, resolve_ffmpeg, spread_over_cores, usable_cores

__all__ = ["FfmpegAudioConverter", "resolve_ffmpeg"]

log = logging.getLogger(__name__)

SAMPLE_WIDTH = 2  # bytes per sample: signed 16-bit little-endian (s16le)

# ffmpeg is told to stop this far past the decoding cap: a recording a little over the cap is
# decoded whole (its length is then the use case's to judge), and one far over it is never held
# in memory whole. Output that reaches it was cut off.
LENGTH_MARGIN_SECONDS = 1.0
# ffmpeg's output stopped by ``-t`` can fall short of it by resampling's few samples.
CUT_SLACK_SECONDS = 0.05

# How much of ffmpeg's stderr reaches the debug log: enough to diagnose, never a flood.
STDERR_LOG_CHARS = 2_000
# A voice message is decoded in pieces side by side only if each piece gets at least this much:
# below it, starting another ffmpeg costs about what it saves.
PIECE_MIN_SECONDS = 15.0

# The first box of an MP4/M4A file. Such a file whose index ("moov") comes after the audio cannot
# be read from a pipe; the message then says what to send instead.
MP4_SIGNATURE = b"ftyp"


class FfmpegAudioConverter(AudioConverter):
    """Decodes any audio ffmpeg reads (ogg/opus voice messages, wav, mp3, m4a/aac, webm, flac...)
    into mono 16-bit PCM at ``sample_rate``.

    Rules:
    - Empty input is ``EmptyAudio``; input over ``max_bytes`` is ``AudioTooLarge`` (checked before
      ffmpeg starts, by ``core.limits``' rule).
    - ``max_seconds`` is a decoding cap, not a rule on length: ffmpeg stops
      ``LENGTH_MARGIN_SECONDS`` past it, so a hostile file cannot fill memory. A recording that
      ends before that point is returned whole, whatever its length (whether it is too long is
      the use case's rule, ``core.limits.refuse_overlong_audio``); one cut off there is
      ``AudioTooLong``, worded by ``core.limits.audio_longer_than`` ("longer than 301 s; the
      limit is 300 s"). Set it to the length limit the use case enforces.
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
        self.max_pieces = min(max_pieces or usable_cores(), max_processes)
        # asyncio primitives belong to one event loop; one semaphore per loop keeps the converter
        # usable from successive asyncio.run() calls (the CLI, tests) as well as from the bot.
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    async def to_pcm(self, clip: AudioClip) -> PcmAudio:
        if not clip.data:
            raise EmptyAudio()
        refuse_oversized_audio(clip.size, self.max_bytes)
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
        if pcm.duration_seconds >= self.max_seconds + LENGTH_MARGIN_SECONDS - CUT_SLACK_SECONDS:
            # ffmpeg stopped at the cap: the true length is unknown, only that it is past it.
            raise audio_longer_than(pcm.duration_seconds, self.max_seconds)
        return pcm

    async def _decode_whole(self, ffmpeg: str, data: bytes, clip: AudioClip) -> bytes:
        """``data`` decoded by one ffmpeg, in the process slot the caller holds."""
        out = io.BytesIO()
        sink = Sink(out)
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
                stack.push_async_callback(reap, process)
            spread_over_cores(processes)
            data, pieces = await asyncio.to_thread(_prepare_opus, data, parts)
            if pieces is None or len(pieces) != parts:
                return data, None
            out = io.BytesIO()
            failures: list[TrainerbotError] = []

            async def decode(
                process: asyncio.subprocess.Process, piece: ogg.Piece, start: int, end: int
            ) -> bool:
                skip = self._bytes_for(piece.lead_in)
                sink = Sink(out, offset=start - skip, keep_from=start, end=end)
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
        self, process: asyncio.subprocess.Process, data: bytes, sink: Sink
    ) -> tuple[int | None, bytes]:
        """Feed ``data`` to a started ffmpeg and hand its output to ``sink``: (exit code,
        stderr). Kills it on timeout or cancellation, so no ffmpeg outlives the call."""
        try:
            # stdin is written while stdout and stderr are read, so a large input never
            # deadlocks against a full output pipe.
            stderr = await asyncio.wait_for(exchange(process, data, sink), self.timeout)
        except TimeoutError:
            log.warning(
                "ffmpeg took longer than %.1f s on %d bytes; killed", self.timeout, len(data)
            )
            raise ServiceError(
                "Decoding that audio took too long; try a shorter recording."
            ) from None
        finally:
            await reap(process)
        return process.returncode, stderr


def _prepare_opus(data: bytes, parts: int) -> tuple[bytes, list[ogg.Piece] | None]:
    """(the stream repacketized, cut into ``parts`` pieces if that is 2 or more): CPU work for
    a worker thread."""
    data = ogg.repacketize_opus(data) or data
    return data, ogg.split_opus(data, parts) if parts >= 2 else None
