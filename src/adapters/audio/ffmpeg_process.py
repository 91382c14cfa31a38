"""Running ffmpeg: which binary (``resolve_ffmpeg``), and the plumbing of one ffmpeg process fed
through its stdin while its output is taken from its stdout (``exchange``, ``Sink``), killed and
reaped when done (``reap``), pinned to a core of its own (``spread_over_cores``).

Used by ``ffmpeg.FfmpegAudioConverter``; ``resolve_ffmpeg`` also by the container (for voice
playback), which imports it from ``ffmpeg``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shutil
from pathlib import Path

from trainerbot.core.errors import CapabilityUnavailable

# How much of ffmpeg's output is taken from the pipe at a time.
READ_CHUNK = 1 << 16


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


def spread_over_cores(processes: list[asyncio.subprocess.Process]) -> None:
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


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity, where the OS tells), at least one."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


class Sink:
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


async def exchange(process: asyncio.subprocess.Process, data: bytes, sink: Sink) -> bytes:
    """``communicate()``, but handing the output to ``sink`` as it comes: into a BytesIO, whose
    ``getvalue()`` hands over its buffer without a copy, so the decoded audio is held about
    once, not twice (a list of blocks plus their join), which is most of this pipeline's
    memory. Returns stderr."""
    # All three are pipes: the caller asked for them.
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


async def reap(process: asyncio.subprocess.Process) -> None:
    """Kill ``process`` if it still runs and wait for it, so it leaves no zombie behind."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    # Shielded: if the caller is cancelled again meanwhile, the wait still completes.
    await asyncio.shield(process.wait())
