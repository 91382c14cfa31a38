"""Append-only JSON Lines files: one record per line, written whole or not at all.

Every append is a single ``os.write`` of one complete line on a file opened with ``O_APPEND``,
followed by ``fsync``, while holding a per-path ``threading.Lock`` (threads of this process) and an
exclusive ``flock`` (other processes sharing the workspace). So when ``append`` returns the record
is on disk, and concurrent writers never interleave.

A crash in the middle of a write can still leave a torn last line. Readers skip it (and report its
line number); the next writer first terminates it with a newline so the new record starts on a
line of its own and the fragment stays isolated.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainerbot.adapters._fsutil import fsync_dir

log = logging.getLogger(__name__)

JsonRecord = dict[str, Any]


@dataclass
class _PathState:
    """What every ``JsonlFile`` on one path shares inside this process."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    # File size right after our last successful append. While the size is still this, the file
    # ends with our own newline and the torn-tail check needs no read.
    known_end: int | None = None


_REGISTRY_LOCK = threading.Lock()
# Held by the JsonlFiles on each path: forgotten when the last of them goes (a tenant unloaded).
_REGISTRY: weakref.WeakValueDictionary[Path, _PathState] = weakref.WeakValueDictionary()


def _state_for(path: Path) -> _PathState:
    with _REGISTRY_LOCK:
        state = _REGISTRY.get(path)
        if state is None:
            state = _REGISTRY[path] = _PathState()
        return state


@dataclass(frozen=True)
class ReadResult:
    """The records of a JSON Lines file, and the 1-based numbers of the lines that were skipped."""

    records: list[JsonRecord]
    skipped: list[int]


def encode_line(record: Mapping[str, Any]) -> bytes:
    """One record as one compact UTF-8 line, newline included."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    return (text + "\n").encode("utf-8")


def decode_lines(data: bytes, *, name: str = "") -> ReadResult:
    """Parse JSON Lines ``data``; lines that are not a JSON object are skipped and reported.

    Blank lines carry nothing and are ignored silently. ``name`` only labels the log warning.
    """
    records: list[JsonRecord] = []
    skipped: list[int] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            skipped.append(number)
            continue
        if isinstance(value, dict):
            records.append(value)
        else:
            skipped.append(number)
    if skipped:
        # The file name only: log lines may be shared, and the host layout is nobody's business.
        log.warning(
            "%s: skipped %d unreadable line(s): %s",
            name or "JSON Lines file",
            len(skipped),
            ", ".join(map(str, skipped)),
        )
    return ReadResult(records=records, skipped=skipped)


class JsonlFile:
    """One append-only JSON Lines file. Blocking methods, with ``*_async`` wrappers for asyncio.

    Instances are cheap; all instances for the same resolved path share one lock.
    """

    def __init__(self, path: Path) -> None:
        self._path = path.resolve()
        self._state = _state_for(self._path)

    @property
    def path(self) -> Path:
        return self._path

    # --- writing ---------------------------------------------------------------------------

    def append(self, record: Mapping[str, Any]) -> None:
        """Append ``record`` as one line; durable (fsynced) when this returns."""
        line = encode_line(record)
        with self._state.lock:
            fd = self._open_for_append()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._append_locked(fd, line)
            finally:
                # Closing the descriptor also releases the flock.
                os.close(fd)

    def _open_for_append(self) -> int:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        try:
            return os.open(self._path, flags, 0o644)
        except FileNotFoundError:
            # Only the first append into a new folder pays for creating it.
            self._path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self._path, flags, 0o644)

    def _append_locked(self, fd: int, line: bytes) -> None:
        start = os.fstat(fd).st_size
        if start and start != self._state.known_end and not self._ends_with_newline(start):
            # A torn line from a crash: terminate it so our record is a line of its own.
            line = b"\n" + line
        try:
            _write_all(fd, line)
            os.fsync(fd)
        except BaseException:
            # Whole or not at all: take back the part of the line that did get written, so the
            # file ends where it ended before (best effort; readers skip a torn line anyway).
            self._state.known_end = None
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            raise
        if start == 0:
            # A new (or emptied) file: its directory entry must survive a crash too.
            fsync_dir(self._path.parent)
        self._state.known_end = start + len(line)

    def _ends_with_newline(self, size: int) -> bool:
        # The append descriptor is write-only, so peek at the last byte through a second one.
        with open(self._path, "rb") as handle:
            handle.seek(size - 1)
            return handle.read(1) == b"\n"

    async def append_async(self, record: Mapping[str, Any]) -> None:
        """``append`` in a worker thread, so the event loop never waits on the disk."""
        await asyncio.to_thread(self.append, record)

    # --- reading ---------------------------------------------------------------------------

    def read(self) -> ReadResult:
        """Every record in the file (none if it does not exist); unreadable lines are skipped."""
        try:
            fd = os.open(self._path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return ReadResult(records=[], skipped=[])
        try:
            # Shared lock: wait for a writer in the middle of a line instead of reporting it torn.
            fcntl.flock(fd, fcntl.LOCK_SH)
            with os.fdopen(os.dup(fd), "rb") as handle:
                data = handle.read()
        finally:
            os.close(fd)
        return decode_lines(data, name=self._path.name)

    async def read_async(self) -> ReadResult:
        """``read`` in a worker thread."""
        return await asyncio.to_thread(self.read)


def _write_all(fd: int, data: bytes) -> None:
    """``os.write`` may write less than asked (signals, full disks); loop until all is written."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
