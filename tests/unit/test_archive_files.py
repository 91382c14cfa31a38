"""ArchiveFiles: zip a workspace folder, with a manifest, for trainers."""

from __future__ import annotations

import hashlib

import pytest

from trainerbot.adapters.memory import InMemoryWorkspace
from trainerbot.core.archive_files import ArchiveFiles, ArchiveRequest
from trainerbot.core.entities import Actor, ManifestEntry
from trainerbot.core.errors import (
    InvalidPath,
    NotAFolder,
    PathOutsideWorkspace,
    PermissionDenied,
    WorkspaceFileNotFound,
)

FILES = {
    "reviews/a.txt": b"great product",
    "reviews/nested/b.txt": b"awful service",
    "reviews-old/c.txt": b"not part of reviews",
    "notes.txt": b"a file, not a folder",
}


@pytest.fixture
def workspace() -> InMemoryWorkspace:
    return InMemoryWorkspace(files=FILES)


@pytest.fixture
def sut(workspace: InMemoryWorkspace) -> ArchiveFiles:
    return ArchiveFiles(workspace=workspace)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_a_trainer_archives_a_folder_with_a_manifest_of_paths_sizes_and_hashes(
    sut: ArchiveFiles, workspace: InMemoryWorkspace, trainer: Actor
) -> None:
    result = await sut.execute(ArchiveRequest(actor=trainer, folder="reviews"))

    assert workspace.archives == [result.archive]
    assert result.archive.source == "reviews"
    assert result.archive.path.startswith("archives/")
    assert result.archive.path.endswith(".zip")
    assert result.archive.files == (
        ManifestEntry(path="a.txt", size=13, sha256=sha256(b"great product")),
        ManifestEntry(path="nested/b.txt", size=13, sha256=sha256(b"awful service")),
    )
    assert result.archive.total_bytes == 26


async def test_the_folder_path_is_normalised_before_archiving(
    sut: ArchiveFiles, workspace: InMemoryWorkspace, trainer: Actor
) -> None:
    result = await sut.execute(ArchiveRequest(actor=trainer, folder=" ./reviews/nested/ "))

    assert result.archive.source == "reviews/nested"
    assert [entry.path for entry in result.archive.files] == ["b.txt"]
    assert [a.source for a in workspace.archives] == ["reviews/nested"]


async def test_archiving_a_folder_twice_makes_two_archives(
    sut: ArchiveFiles, workspace: InMemoryWorkspace, trainer: Actor
) -> None:
    first = await sut.execute(ArchiveRequest(actor=trainer, folder="reviews"))
    second = await sut.execute(ArchiveRequest(actor=trainer, folder="reviews"))

    assert first.archive.path != second.archive.path
    assert len(workspace.archives) == 2


@pytest.mark.parametrize("folder", ["reviews", "../outside", ""])
async def test_refuses_a_member_without_the_trainer_role_and_archives_nothing(
    sut: ArchiveFiles, workspace: InMemoryWorkspace, member: Actor, refuses, folder: str
) -> None:
    with refuses(PermissionDenied):
        await sut.execute(ArchiveRequest(actor=member, folder=folder))

    assert workspace.archives == []


@pytest.mark.parametrize(
    ("folder", "error"),
    [
        pytest.param("", InvalidPath, id="workspace-itself-empty"),
        pytest.param(".", InvalidPath, id="workspace-itself-dot"),
        pytest.param(" ./ ", InvalidPath, id="workspace-itself-slash"),
        pytest.param("..", PathOutsideWorkspace, id="parent"),
        pytest.param("reviews/../../etc", PathOutsideWorkspace, id="dotdot-inside"),
        pytest.param("..\\outside", PathOutsideWorkspace, id="windows-dotdot"),
        pytest.param("/etc", PathOutsideWorkspace, id="absolute"),
        pytest.param("~/secrets", PathOutsideWorkspace, id="home"),
        pytest.param("D:/data", PathOutsideWorkspace, id="drive"),
        pytest.param("revi\x00ews", InvalidPath, id="nul"),
        pytest.param("missing", WorkspaceFileNotFound, id="missing"),
        pytest.param("notes.txt", NotAFolder, id="a-file"),
    ],
)
async def test_refuses_a_folder_that_is_not_one_inside_the_workspace_and_archives_nothing(
    sut: ArchiveFiles,
    workspace: InMemoryWorkspace,
    trainer: Actor,
    refuses,
    folder: str,
    error: type[Exception],
) -> None:
    with refuses(error):
        await sut.execute(ArchiveRequest(actor=trainer, folder=folder))

    assert workspace.archives == []
