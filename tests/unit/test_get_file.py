"""GetFile: a trainer fetches a workspace file — and only a workspace file."""

from __future__ import annotations

import pytest

from trainerbot.adapters.memory import InMemoryWorkspace
from trainerbot.core.entities import Actor, FileContent
from trainerbot.core.errors import (
    FileTooLarge,
    InvalidPath,
    NotAFile,
    PathOutsideWorkspace,
    PermissionDenied,
    WorkspaceFileNotFound,
)
from trainerbot.core.get_file import GetFile, GetFileRequest
from trainerbot.core.limits import Limits

FILES = {
    "exports/report.csv": b"text,label\nnice,positive\n",
    "exports/ten.bin": b"0123456789",
    "exports/eleven.bin": b"0123456789A",
}


@pytest.fixture
def workspace() -> InMemoryWorkspace:
    return InMemoryWorkspace(files=FILES)


@pytest.fixture
def sut(workspace: InMemoryWorkspace) -> GetFile:
    return GetFile(workspace=workspace, limits=Limits(max_file_bytes=10))


async def test_a_trainer_gets_a_workspace_file(sut: GetFile, trainer: Actor) -> None:
    result = await sut.execute(GetFileRequest(actor=trainer, path="exports/ten.bin"))

    assert result.file == FileContent(path="exports/ten.bin", data=b"0123456789")
    assert result.file.filename == "ten.bin"


@pytest.mark.parametrize(
    "path", ["./exports/ten.bin", "exports//ten.bin", "exports\\ten.bin", " exports/ten.bin "]
)
async def test_the_path_is_normalised_inside_the_workspace(
    sut: GetFile, trainer: Actor, path: str
) -> None:
    result = await sut.execute(GetFileRequest(actor=trainer, path=path))

    assert result.file.path == "exports/ten.bin"


async def test_a_file_of_exactly_the_size_limit_is_sent(sut: GetFile, trainer: Actor) -> None:
    result = await sut.execute(GetFileRequest(actor=trainer, path="exports/ten.bin"))

    assert len(result.file.data) == 10


async def test_the_default_limit_lets_an_ordinary_file_through(
    workspace: InMemoryWorkspace, trainer: Actor
) -> None:
    sut = GetFile(workspace=workspace)

    result = await sut.execute(GetFileRequest(actor=trainer, path="exports/report.csv"))

    assert result.file.data == FILES["exports/report.csv"]


@pytest.mark.parametrize("path", ["exports/ten.bin", "../../etc/passwd"])
async def test_refuses_a_member_without_the_trainer_role(
    sut: GetFile, workspace: InMemoryWorkspace, member: Actor, refuses, path: str
) -> None:
    with refuses(PermissionDenied):
        await sut.execute(GetFileRequest(actor=member, path=path))

    assert workspace.files == FILES


@pytest.mark.parametrize(
    ("path", "error"),
    [
        pytest.param("../secret.txt", PathOutsideWorkspace, id="parent"),
        pytest.param("exports/../../secret.txt", PathOutsideWorkspace, id="dotdot-inside"),
        pytest.param("..\\..\\secret.txt", PathOutsideWorkspace, id="windows-dotdot"),
        pytest.param("/etc/passwd", PathOutsideWorkspace, id="absolute"),
        pytest.param("~/.ssh/id_rsa", PathOutsideWorkspace, id="home"),
        pytest.param("C:\\Windows\\win.ini", PathOutsideWorkspace, id="drive"),
        pytest.param("exports/\x00ten.bin", InvalidPath, id="nul"),
        pytest.param("exports/\x1bten.bin", InvalidPath, id="control-char"),
        pytest.param("", InvalidPath, id="empty"),
        pytest.param("x" * 1025, InvalidPath, id="too-long"),
        pytest.param("exports", NotAFile, id="a-folder"),
        pytest.param("exports/missing.bin", WorkspaceFileNotFound, id="missing"),
        pytest.param("exports/eleven.bin", FileTooLarge, id="over-the-limit"),
    ],
)
async def test_refuses_a_path_that_is_not_a_small_enough_file_inside_the_workspace(
    sut: GetFile, trainer: Actor, refuses, path: str, error: type[Exception]
) -> None:
    with refuses(error):
        await sut.execute(GetFileRequest(actor=trainer, path=path))
