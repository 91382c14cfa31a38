"""Workspace: the one folder of files users may name."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from trainerbot.core.entities import Archive, FileContent, WorkspaceFile


@runtime_checkable
class Workspace(Protocol):
    """Files inside the workspace, addressed by workspace-relative POSIX paths.

    Paths have passed ``trainerbot.core.paths.parse_user_path``; the adapter still resolves them
    (symlinks included) and refuses anything whose real location is outside the workspace with
    ``PathOutsideWorkspace``. Missing paths raise ``WorkspaceFileNotFound``; a folder where a file is
    wanted ``NotAFile``, and the reverse ``NotAFolder``.
    """

    async def read_file(self, path: str, *, max_bytes: int) -> FileContent:
        """A file's bytes; ``FileTooLarge`` past ``max_bytes``."""
        ...

    async def list_files(self, folder: str) -> list[WorkspaceFile]:
        """Every regular file below ``folder``, recursively, sorted by path."""
        ...

    async def exists(self, path: str) -> bool: ...

    async def archive(self, folder: str) -> Archive:
        """Zip ``folder`` into ``archives/`` with a manifest (files, sizes, sha256)."""
        ...

    async def export(self, name: str, data: bytes) -> FileContent:
        """Write ``data`` as a new file in ``exports/``, named ``name`` (a plain file name the
        program chose) plus a time stamp, so nothing is overwritten; written whole or not at all."""
        ...
