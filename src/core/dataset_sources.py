"""Where datasets come from: uploads and workspace folders, read within the limits."""

from __future__ import annotations

import re
from dataclasses import dataclass

from trainerbot.ports import Workspace

from .errors import EmptyFolder, FileTooLarge, InvalidArgument, InvalidInput, NotAFolder
from .limits import Limits, human_bytes
from .paths import parse_user_path

_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
# A dataset's name: a folder's name where datasets are stored on disk, so nothing that could
# name another place (no separator, no leading dot), 1 to 64 characters.
DATASET_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")


def check_dataset_name(name: str) -> str:
    """``name`` if it is a valid dataset name, else ``InvalidInput`` — the rule every dataset
    store applies."""
    if not DATASET_NAME.fullmatch(name):
        raise InvalidInput(
            "A dataset name is 1 to 64 letters, digits, '.', '_' or '-', not starting with '.'."
        )
    return name


@dataclass(frozen=True)
class Upload:
    """A file a user attached to a message."""

    filename: str
    data: bytes


def dataset_name(hint: str) -> str:
    """A safe dataset name from a folder or file name: ``"My reviews.csv"`` → ``"My-reviews"``."""
    stem = hint.rsplit("/", 1)[-1]
    if "." in stem.strip("."):
        stem = stem.rsplit(".", 1)[0]
    name = _NAME_CHARS.sub("-", stem).strip(".-_")[:64]
    return name or "dataset"


def check_upload(upload: Upload, limits: Limits) -> None:
    refuse_oversized_upload(upload.filename, len(upload.data), limits.max_upload_bytes)


def refuse_oversized_upload(filename: str, size: int, limit: int) -> None:
    """``FileTooLarge`` for an attached file of more than ``limit`` bytes (checked before it is
    read, where its size is known, and again once it is)."""
    if size > limit:
        raise FileTooLarge(
            f"{filename[:80]} is {human_bytes(size)}; the limit is {human_bytes(limit)}."
        )


async def read_folder(workspace: Workspace, folder: str, limits: Limits) -> list[tuple[str, bytes]]:
    """Every file below a workspace folder as ``(path relative to the folder, bytes)``.

    The folder is checked against the workspace rules; no more than ``max_dataset_files`` files
    and ``max_upload_bytes`` in all are read.
    """
    path = parse_user_path(folder)
    files = await workspace.list_files(path)
    if not files:
        raise EmptyFolder(f"The folder {path} has no files.")
    if len(files) > limits.max_dataset_files:
        raise InvalidArgument(
            f"The folder {path} has {len(files)} files; the limit is {limits.max_dataset_files}."
        )
    total = sum(f.size for f in files)
    if total > limits.max_upload_bytes:
        raise FileTooLarge(
            f"The folder {path} holds {human_bytes(total)}; the limit is "
            f"{human_bytes(limits.max_upload_bytes)}."
        )
    contents: list[tuple[str, bytes]] = []
    for file in files:
        content = await workspace.read_file(file.path, max_bytes=limits.max_upload_bytes)
        contents.append((file.path.removeprefix(f"{path}/"), content.data))
    return contents


async def read_data(workspace: Workspace, path: str, limits: Limits) -> list[tuple[str, bytes]]:
    """A workspace folder's files as ``read_folder`` reads them, or one workspace file as
    ``[(its name, bytes)]`` (``max_upload_bytes`` at most): what ``data_dir=`` names.

    Either way the path is checked against the workspace rules first, so a path leading
    outside it is refused before anything is read.
    """
    try:
        return await read_folder(workspace, path, limits)
    except NotAFolder:
        pass
    file = parse_user_path(path)
    content = await workspace.read_file(file, max_bytes=limits.max_upload_bytes)
    return [(content.filename, content.data)]
