"""The common shape of the JSON Lines stores: a file read once, folded into an in-memory state.

The file is loaded lazily, once, in a worker thread; after that every write is appended durably
and then applied to the same state by the same code that folded the file, so what a store answers
is always what a fresh instance would rebuild from disk. Queries never touch the file again.

Writes by another process to the same file are not seen until this process reloads (restarts):
one process serves a workspace; the file locks only keep a second one from corrupting it.
"""

from __future__ import annotations

import abc
import asyncio
import errno
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

from trainerbot.core.errors import ServiceError

from .._records import RecordError
from .jsonl import JsonlFile, ReadResult

log = logging.getLogger(__name__)

StateT = TypeVar("StateT")

# What a damaged record raises while being folded in: skipped on load, never fatal.
_RECORD_ERRORS = (RecordError, ValueError, KeyError, TypeError)


class JsonlStore(abc.ABC, Generic[StateT]):
    """Base of the stores over one ``JsonlFile``; subclasses say how a record changes the state."""

    def __init__(self, path: Path) -> None:
        self._file = JsonlFile(path)
        self._state: StateT | None = None
        self._load_lock = asyncio.Lock()
        # Appends are serialised so the state applies records in the order they are in the file.
        self._write_lock = asyncio.Lock()

    @property
    def path(self) -> Path:
        return self._file.path

    @abc.abstractmethod
    def _new_state(self) -> StateT:
        """The state of an empty file."""

    @abc.abstractmethod
    def _apply(self, state: StateT, record: Mapping[str, Any]) -> None:
        """Fold one record into ``state``; raise ``RecordError`` for a record that cannot be used."""

    async def _loaded(self) -> StateT:
        state = self._state
        if state is not None:
            return state
        async with self._load_lock:
            if self._state is None:
                result = await self._read()
                fresh = self._new_state()
                for record in result.records:
                    try:
                        self._apply(fresh, record)
                    except _RECORD_ERRORS as error:
                        log.warning("%s: skipped a record: %s", self._file.path.name, error)
                self._state = fresh
            return self._state

    async def _append(self, record: Mapping[str, Any]) -> StateT:
        """Append ``record`` durably, then apply it to the state; returns the state."""
        async with self._write_lock:
            state = await self._loaded()
            await self._write(record)
            self._apply(state, record)
            return state

    async def _write(self, record: Mapping[str, Any]) -> None:
        """Append durably; the OS's complaint becomes a ``ServiceError`` a user may read."""
        try:
            await self._file.append_async(record)
        except OSError as error:
            raise _storage_error(error, "saved") from error

    async def _read(self) -> ReadResult:
        try:
            return await self._file.read_async()
        except OSError as error:
            raise _storage_error(error, "read") from error


def _storage_error(error: OSError, done: str) -> ServiceError:
    # str(error) names the host path: it is logged, never shown.
    log.error("storage failure: %s", error)
    if error.errno == errno.ENOSPC:
        return ServiceError(f"The workspace disk is full: nothing could be {done}.")
    return ServiceError(f"The records could not be {done}; please try again in a moment.")
