"""A workspace held in a dict of path → bytes."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict
from zipfile import ZipFile

from trainerbot.core.entities import Archive, FileContent, ManifestEntry, WorkspaceFile
from trainerbot.core.errors import (
    EmptyFolder,
    FileTooLarge,
    InvalidPath,
    NotAFile,
    NotAFolder,
    WorkspaceFileNotFound,
)
from trainerbot.core.limits import human_bytes
from trainerbot.core.paths import parse_user_path
from trainerbot.ports import Workspace


class InMemoryWorkspace(Workspace):
    """Files live in ``files`` (workspace-relative POSIX path → bytes); archives in ``archives``.

    Paths pass the same lexical rules as the filesystem workspace; folders exist implicitly when a
    file lies below them. Exports and archives are files too (an archive a real zip with its
    manifest), numbered rather than time-stamped.
    """

    def __init__(self, files: dict[str, bytes] | None = None) -> None:
        self.files: dict[str, bytes] = dict(files or {})
        self.archives: list[Archive] = []
        self.exported: list[FileContent] = []

    def _is_folder(self, path: str) -> bool:
        return path == "" or any(name.startswith(f"{path}/") for name in self.files)

    async def read_file(self, path: str, *, max_bytes: int) -> FileContent:
        path = parse_user_path(path)
        if path not in self.files:
            if self._is_folder(path):
                raise NotAFile(f"{path} is a folder, not a file.")
            raise WorkspaceFileNotFound(f"There is no file {path} in the workspace.")
        data = self.files[path]
        if len(data) > max_bytes:
            raise FileTooLarge(
                f"That file is {human_bytes(len(data))}; the limit is {human_bytes(max_bytes)}."
            )
        return FileContent(path=path, data=data)

    async def list_files(self, folder: str) -> list[WorkspaceFile]:
        folder = parse_user_path(folder, allow_root=True)
        if folder in self.files:
            raise NotAFolder(f"{folder} is a file, not a folder.")
        if not self._is_folder(folder):
            raise WorkspaceFileNotFound(f"There is no folder {folder} in the workspace.")
        prefix = f"{folder}/" if folder else ""
        return [
            WorkspaceFile(path=name, size=len(data))
            for name, data in sorted(self.files.items())
            if name.startswith(prefix)
        ]

    async def exists(self, path: str) -> bool:
        path = parse_user_path(path, allow_root=True)
        return path in self.files or self._is_folder(path)

    async def export(self, name: str, data: bytes) -> FileContent:
        if not name or "/" in name or "\\" in name or name.startswith(".") or "\x00" in name:
            raise InvalidPath(f"Not a plain file name: {name!r}")
        stem, dot, suffix = name.rpartition(".")
        path = f"exports/{stem or name}-{len(self.exported) + 1}{dot}{suffix if stem else ''}"
        self.exported.append(FileContent(path=path, data=data))
        self.files[path] = data
        return self.exported[-1]

    async def archive(self, folder: str) -> Archive:
        folder = parse_user_path(folder)
        if folder == "archives" or folder.startswith("archives/"):
            raise InvalidPath("You cannot archive the archives folder.")
        files = await self.list_files(folder)
        if not files:
            raise EmptyFolder()
        entries = tuple(
            ManifestEntry(
                path=f.path.removeprefix(f"{folder}/"),
                size=f.size,
                sha256=hashlib.sha256(self.files[f.path]).hexdigest(),
            )
            for f in files
        )
        archive = Archive(
            path=f"archives/{folder.rsplit('/', 1)[-1]}-{len(self.archives) + 1}.zip",
            source=folder,
            files=entries,
        )
        self.files[archive.path] = _zip(
            {entry.path: self.files[f.path] for entry, f in zip(entries, files, strict=True)},
            manifest={"source": folder, "files": [asdict(entry) for entry in entries]},
        )
        self.archives.append(archive)
        return archive


def _zip(members: dict[str, bytes], *, manifest: dict[str, object]) -> bytes:
    """A zip of ``members`` (name in the zip → bytes) with ``manifest.json``."""
    buffer = io.BytesIO()
    with ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        archive.writestr("manifest.json", json.dumps(manifest, indent=2) + "\n")
    return buffer.getvalue()
