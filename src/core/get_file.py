"""GetFile: send a file from the workspace — and only from the workspace."""

from __future__ import annotations

from dataclasses import dataclass

from trainerbot.ports import Workspace

from .access import require_trainer
from .entities import Actor, FileContent
from .limits import DEFAULT_LIMITS, Limits
from .paths import parse_user_path


@dataclass(frozen=True)
class GetFileRequest:
    actor: Actor
    path: str


@dataclass(frozen=True)
class GetFileResult:
    file: FileContent


class GetFile:
    """Fetch a workspace file for a trainer.

    Rules: trainers only; the path must stay inside the workspace (no ``..``, absolute paths, drive
    letters or symlinks that lead out); it must be a file no bigger than ``max_file_bytes`` (what
    a chat can carry). The original bot sent any file on the host; this one never does.
    """

    def __init__(self, *, workspace: Workspace, limits: Limits = DEFAULT_LIMITS) -> None:
        self._workspace = workspace
        self._limits = limits

    async def execute(self, request: GetFileRequest) -> GetFileResult:
        require_trainer(request.actor)
        path = parse_user_path(request.path)
        content = await self._workspace.read_file(path, max_bytes=self._limits.max_file_bytes)
        return GetFileResult(content)
