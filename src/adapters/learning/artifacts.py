"""Trained models' artifacts: their ids, the stores that keep them, and the file format.

Layout on disk (rooted where the container says, ``<workspace>/models/`` by default)::

    <root>/fewshot/<name>.zip     a fewshot index        (model id ``fewshot:<name>``)
    <root>/local/<name>.zip       a local classifier     (model id ``local:<name>``)
    <root>/lora/<name>.zip        a LoRA model's manifest and recall index (model id ``lora:<name>``)
    <root>/lora/<name>.gguf       its adapter, beside it (llama.cpp reads it from a file)

An artifact is one zip file: ``manifest.json`` (what it is, for which job, made from which data)
and the model's files (``examples.jsonl``, ``vectors.npy``, ``classifier.skops``). Nothing in it is
a pickle: JSON, NumPy arrays read with ``allow_pickle=False``, and scikit-learn estimators in skops'
secure format, loaded with skops' default trusted types only. A file that a runtime must open by
path (a GGUF LoRA adapter) is a *sidecar*: ``<name>.<suffix>`` beside the zip, saved before it, so
a zip that exists always has its sidecar; the manifest records the sidecar's sha256.

Rules:
- A model id is ``fewshot:``, ``local:`` or ``lora:`` then a name of lowercase letters and digits in groups
  joined by single hyphens, 80 characters at most. Anything else is refused (``UnknownModel``)
  before it comes near a path, so no id, whoever typed it, can name a file outside the root.
- A save writes a temporary sibling file, fsyncs it and renames it over the final name, so a reader
  sees a whole artifact or none; the folder is fsynced after the rename.
- Symlinks are not followed: a kind folder that resolves outside the root, or an artifact file
  that is a symlink, is refused.
- The stores are blocking (they are called from the adapters' worker threads, never on the loop).
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from trainerbot.adapters._fsutil import atomic_write_bytes, fsync_dir
from trainerbot.core.entities import TrainingJob
from trainerbot.core.errors import ServiceError, UnknownModel
from trainerbot.core.text import command

log = logging.getLogger(__name__)

FEWSHOT = "fewshot"
LOCAL = "local"
LORA = "lora"
KINDS = (FEWSHOT, LOCAL, LORA)

MODEL_ID_PATTERN = re.compile(r"(fewshot|local|lora):([a-z0-9]+(?:-[a-z0-9]+)*)")
SIDECAR_SUFFIX = re.compile(r"[a-z0-9]{1,8}")
MAX_ID_CHARS = 80
_SLUG_CHARS = 24
_UNSAFE = re.compile(r"[^a-z0-9]+")
_JOB_HEX = re.compile(r"job-([0-9a-f]{6,32})")

FORMAT = "trainerbot-model"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# Our own files only, but a cap costs nothing: a damaged or planted zip cannot exhaust memory.
MAX_MEMBER_BYTES = 512 * 1024 * 1024


def is_trained_id(model: str) -> bool:
    """Whether ``model`` is in this package's namespace (``fewshot:…``, ``local:…``, ``lora:…``)."""
    return model.startswith(tuple(f"{kind}:" for kind in KINDS))


def parse_model_id(model_id: str) -> tuple[str, str]:
    """``(kind, name)`` of a valid model id; ``UnknownModel`` for anything else."""
    match = MODEL_ID_PATTERN.fullmatch(model_id)
    if match is None or len(model_id) > MAX_ID_CHARS:
        shown = model_id[:80]
        raise UnknownModel(f"There is no model {shown!r}; see {command('models')}.")
    return match.group(1), match.group(2)


def model_id_for(kind: str, job: TrainingJob) -> str:
    """The model a job of ``kind`` produces: ``fewshot:<dataset>-<job hex>``.

    Derived from the job alone (its dataset name and id), so a job whose start was interrupted can
    find its artifact again; unique because job ids are.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown artifact kind {kind!r}")
    slug = _UNSAFE.sub("-", job.dataset_name.casefold())[:_SLUG_CHARS].strip("-") or "model"
    match = _JOB_HEX.fullmatch(job.id)
    unique = match.group(1) if match else hashlib.sha256(job.id.encode()).hexdigest()[:12]
    model_id = f"{kind}:{slug}-{unique}"
    parse_model_id(model_id)  # by construction valid; checked all the same
    return model_id


# --- the file format -------------------------------------------------------------------------


@dataclass(frozen=True)
class Artifact:
    """A manifest (JSON-safe values) and named files."""

    manifest: Mapping[str, Any]
    files: Mapping[str, bytes] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return str(self.manifest.get("kind", ""))

    def with_kind(self, kind: str) -> Artifact:
        """The same files under another kind (a model that reuses another's parts)."""
        return Artifact(manifest={**self.manifest, "kind": kind}, files=self.files)


def pack(artifact: Artifact) -> bytes:
    """The artifact as zip bytes: ``manifest.json`` first, then its files."""
    manifest = {"format": FORMAT, "version": FORMAT_VERSION, **artifact.manifest}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, sort_keys=True))
        for name, data in artifact.files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def unpack(data: bytes, model_id: str) -> Artifact:
    """Read zip bytes written by ``pack``; anything else is a ``ServiceError`` naming the model."""
    unreadable = ServiceError(f"The model {model_id} cannot be read; train it again.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            files: dict[str, bytes] = {}
            for info in archive.infolist():
                if info.is_dir() or "/" in info.filename or info.file_size > MAX_MEMBER_BYTES:
                    raise unreadable
                files[info.filename] = archive.read(info)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as error:
        log.warning("artifact of %s is not a readable zip: %s", model_id, error)
        raise unreadable from None
    try:
        manifest = json.loads(files.pop(MANIFEST))
    except (KeyError, ValueError, UnicodeDecodeError):
        raise unreadable from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise unreadable
    if manifest.get("version") != FORMAT_VERSION:
        raise ServiceError(
            f"The model {model_id} was saved in another format version; train it again."
        )
    return Artifact(manifest=manifest, files=files)


# --- stores ----------------------------------------------------------------------------------


@runtime_checkable
class ArtifactStore(Protocol):
    """Where artifacts live, by model id. Blocking: call from a worker thread.

    ``save`` replaces any artifact of that id; ``load`` is ``None`` when there is none. Both refuse
    an invalid id with ``UnknownModel``.
    """

    def save(self, model_id: str, data: bytes) -> None: ...

    def load(self, model_id: str) -> bytes | None: ...

    def exists(self, model_id: str) -> bool: ...

    def save_sidecar(self, model_id: str, suffix: str, source: Path) -> Path:
        """Move the file ``source`` in as the sidecar ``suffix`` of ``model_id``; its path."""
        ...

    def sidecar(self, model_id: str, suffix: str) -> Path | None:
        """The path of a sidecar file of ``model_id`` (``None`` when there is none)."""
        ...


def _check_suffix(suffix: str) -> None:
    if SIDECAR_SUFFIX.fullmatch(suffix) is None:
        raise ValueError(f"invalid sidecar suffix {suffix!r}")


class InMemoryArtifactStore(ArtifactStore):
    """Artifacts in a dict (``storage=memory``, tests). Thread-safe. Sidecars, which a runtime
    opens by path, live in a temporary folder removed when the store is garbage-collected."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._sidecars: tempfile.TemporaryDirectory[str] | None = None

    def save(self, model_id: str, data: bytes) -> None:
        parse_model_id(model_id)
        with self._lock:
            self._data[model_id] = bytes(data)

    def load(self, model_id: str) -> bytes | None:
        parse_model_id(model_id)
        with self._lock:
            return self._data.get(model_id)

    def exists(self, model_id: str) -> bool:
        return self.load(model_id) is not None

    @property
    def model_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._data)

    def _sidecar_path(self, model_id: str, suffix: str) -> Path:
        kind, name = parse_model_id(model_id)
        _check_suffix(suffix)
        with self._lock:
            if self._sidecars is None:
                self._sidecars = tempfile.TemporaryDirectory(prefix="trainerbot-models-")
            return Path(self._sidecars.name) / f"{kind}-{name}.{suffix}"

    def save_sidecar(self, model_id: str, suffix: str, source: Path) -> Path:
        path = self._sidecar_path(model_id, suffix)
        shutil.move(source, path)
        return path

    def sidecar(self, model_id: str, suffix: str) -> Path | None:
        path = self._sidecar_path(model_id, suffix)
        return path if path.is_file() else None


class FilesystemArtifactStore(ArtifactStore):
    """Artifacts as files below ``root`` (created on first save), written atomically.

    OS failures are logged with their path and raised as a ``ServiceError`` that names no path.
    """

    def __init__(self, root: Path) -> None:
        self._root = Path(root)

    @property
    def root(self) -> Path:
        return self._root

    def path_for(self, model_id: str) -> Path:
        """The file of ``model_id`` (checked: inside the root, whatever the id)."""
        kind, name = parse_model_id(model_id)
        return self._root / kind / f"{name}.zip"

    def _checked_folder(self, path: Path) -> None:
        root = self._root.resolve()
        if not path.parent.resolve().is_relative_to(root):
            log.error("artifact folder %s leads outside %s; refused", path.parent, root)
            raise ServiceError("The model store is misconfigured; see the bot's log.")

    def save(self, model_id: str, data: bytes) -> None:
        path = self.path_for(model_id)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._checked_folder(path)
            atomic_write_bytes(path, data)
        except OSError as error:
            log.error("could not save artifact %s: %s", path, error)
            raise ServiceError(f"The model {model_id} could not be saved.") from None

    def load(self, model_id: str) -> bytes | None:
        path = self.path_for(model_id)
        try:
            if not path.parent.exists():
                return None
            self._checked_folder(path)
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return None
        except OSError as error:
            log.error("could not open artifact %s: %s", path, error)
            if error.errno == errno.ELOOP:
                raise ServiceError(
                    f"The model {model_id} cannot be read; train it again."
                ) from None
            raise ServiceError(f"The model {model_id} could not be read.") from None
        try:
            with os.fdopen(fd, "rb") as handle:
                return handle.read()
        except OSError as error:
            log.error("could not read artifact %s: %s", path, error)
            raise ServiceError(f"The model {model_id} could not be read.") from None

    def exists(self, model_id: str) -> bool:
        path = self.path_for(model_id)
        if not path.parent.exists():
            return False
        self._checked_folder(path)
        return path.is_file() and not path.is_symlink()

    def _sidecar_path(self, model_id: str, suffix: str) -> Path:
        _check_suffix(suffix)
        return self.path_for(model_id).with_suffix(f".{suffix}")

    def save_sidecar(self, model_id: str, suffix: str, source: Path) -> Path:
        path = self._sidecar_path(model_id, suffix)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._checked_folder(path)
            with open(source, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(source, path)  # same file system: the work folder is inside the root
            fsync_dir(path.parent)
        except OSError as error:
            log.error("could not save %s: %s", path, error)
            raise ServiceError(f"The model {model_id} could not be saved.") from None
        return path

    def sidecar(self, model_id: str, suffix: str) -> Path | None:
        path = self._sidecar_path(model_id, suffix)
        if not path.parent.exists():
            return None
        self._checked_folder(path)
        return path if path.is_file() and not path.is_symlink() else None
