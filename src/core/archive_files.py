"""ArchiveFiles: zip a workspace folder, with a manifest, into archives/."""

from __future__ import annotations

from dataclasses import dataclass

from trainerbot.ports import Workspace

from .access import require_trainer
from .entities import Actor, Archive
from .paths import parse_user_path


@dataclass(frozen=True)
class ArchiveRequest:
    actor: Actor
    folder: str


@dataclass(frozen=True)
class ArchiveResult:
    archive: Archive


class ArchiveFiles:
    """Archive a folder of the workspace.

    Rules: trainers only; the folder must be inside the workspace (never the workspace itself), exist
    and hold files. The archive is a zip in ``archives/`` with a manifest listing each file's path,
    size and sha256, so it can be verified later.
    """

    def __init__(self, *, workspace: Workspace) -> None:
        self._workspace = workspace

    async def execute(self, request: ArchiveRequest) -> ArchiveResult:
        require_trainer(request.actor)
        folder = parse_user_path(request.folder)
        return ArchiveResult(await self._workspace.archive(folder))
