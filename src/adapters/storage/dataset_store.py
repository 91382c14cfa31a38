"""Saved datasets on disk, in the workspace's ``datasets/`` folder.

Layout::

    datasets/<name>/<version>.jsonl   header line, then one example per line
    datasets/<name>/current           the version ``get`` loads
    datasets/.selected                the dataset ``!train`` uses when given no data

Every file is replaced atomically (temporary file, fsync, rename), so a reader sees the old or the
new content, never a mix. Old versions stay on disk. Dataset names may come from users, so they are
checked against a strict pattern before they are ever joined to a path.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

from trainerbot.adapters._fsutil import atomic_write_bytes, atomic_writer
from trainerbot.core.dataset_sources import DATASET_NAME, check_dataset_name
from trainerbot.core.entities import Dataset
from trainerbot.core.errors import DatasetError, ServiceError, UnknownDataset
from trainerbot.ports import DatasetStore

from .._records import RecordError, dataset_from_records, dataset_header
from .jsonl import decode_lines, encode_line

log = logging.getLogger(__name__)

# Letters, digits, "._-"; no leading dot, so a name is never ".", "..", a hidden file or ".selected".
# What may stand in a ``current`` file: it is joined to a path, so it is checked like a name.
_VERSION_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")

CURRENT = "current"
SELECTED = ".selected"

_T = TypeVar("_T")
_P = ParamSpec("_P")


async def _in_thread(function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Run blocking ``function`` in a worker thread; OS errors become a user-safe ``ServiceError``."""
    try:
        return await asyncio.to_thread(function, *args, **kwargs)
    except OSError as error:
        # str(error) names the host path: it is logged, never shown.
        log.error("dataset storage failure: %s", error)
        if error.errno == errno.ENOSPC:
            raise ServiceError("The workspace disk is full: the dataset was not saved.") from error
        raise ServiceError("The datasets could not be read or saved; please try again.") from error


class FilesystemDatasetStore(DatasetStore):
    """Versioned datasets under ``<root>/datasets`` (``root`` is the workspace folder)."""

    def __init__(self, root: Path) -> None:
        self._folder = root / "datasets"
        self._folder.mkdir(parents=True, exist_ok=True)

    async def save(self, dataset: Dataset) -> None:
        check_dataset_name(dataset.name)
        await _in_thread(self._save, dataset)

    async def get(self, name: str) -> Dataset | None:
        check_dataset_name(name)
        return await _in_thread(self._get, name)

    async def names(self) -> list[str]:
        return await _in_thread(self._names)

    async def select(self, name: str) -> None:
        check_dataset_name(name)
        await _in_thread(self._select, name)

    async def selected(self) -> str | None:
        return await _in_thread(self._selected)

    # --- blocking implementations ----------------------------------------------------------

    def _save(self, dataset: Dataset) -> None:
        folder = self._folder / dataset.name
        folder.mkdir(parents=True, exist_ok=True)
        version = dataset.version
        with atomic_writer(folder / f"{version}.jsonl") as handle:
            handle.write(encode_line(dataset_header(dataset)))
            for example in dataset.examples:
                handle.write(encode_line(example.to_dict()))
        # Only once the version file is complete does it become current.
        atomic_write_bytes(folder / CURRENT, f"{version}\n".encode())

    def _current_version(self, name: str) -> str | None:
        try:
            version = (self._folder / name / CURRENT).read_text(encoding="utf-8").strip()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not _VERSION_PATTERN.fullmatch(version):
            log.warning("dataset %s: its current-version file is damaged", name)
            raise DatasetError(f"The stored dataset '{name}' is damaged.")
        return version

    def _get(self, name: str) -> Dataset | None:
        version = self._current_version(name)
        if version is None:
            return None
        try:
            data = (self._folder / name / f"{version}.jsonl").read_bytes()
        except FileNotFoundError as error:
            log.warning("dataset %s: version %s is missing", name, version)
            raise DatasetError(f"The stored dataset '{name}' is damaged.") from error
        result = decode_lines(data, name=f"{name}/{version}.jsonl")
        try:
            if result.skipped:
                raise RecordError(f"unreadable lines {result.skipped}")
            dataset = dataset_from_records(result.records)
        except RecordError as error:
            log.warning("dataset %s version %s: %s", name, version, error)
            raise DatasetError(f"The stored dataset '{name}' is damaged.") from error
        if dataset.version != version:
            # The content no longer hashes to its file name: edited by hand, probably. Still usable.
            log.warning(
                "dataset %s: version %s holds content of %s", name, version, dataset.version
            )
        return dataset

    def _names(self) -> list[str]:
        try:
            children = list(self._folder.iterdir())
        except FileNotFoundError:
            return []
        return sorted(
            child.name
            for child in children
            if DATASET_NAME.fullmatch(child.name) and (child / CURRENT).is_file()
        )

    def _select(self, name: str) -> None:
        if self._current_version(name) is None:
            raise UnknownDataset(f"There is no dataset named '{name}'.")
        atomic_write_bytes(self._folder / SELECTED, f"{name}\n".encode())

    def _selected(self) -> str | None:
        try:
            name = (self._folder / SELECTED).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        if not DATASET_NAME.fullmatch(name):
            log.warning("the selected-dataset file is damaged; ignoring it")
            return None
        return name
