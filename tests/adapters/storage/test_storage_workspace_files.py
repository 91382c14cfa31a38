"""FilesystemWorkspace: reading, listing and checking files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from trainerbot.adapters.storage import FilesystemWorkspace
from trainerbot.core.entities import FileContent, WorkspaceFile
from trainerbot.core.errors import (
    FileTooLarge,
    InvalidPath,
    NotAFile,
    NotAFolder,
    PathOutsideWorkspace,
    WorkspaceFileNotFound,
)

MB = 1024 * 1024


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "workspace"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("top secret")
    return folder


@pytest.fixture
def sut(root: Path) -> FilesystemWorkspace:
    return FilesystemWorkspace(root)


def write(root: Path, rel: str, data: bytes = b"x") -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --- read_file -------------------------------------------------------------------------------


async def test_read_file_returns_the_bytes_under_the_normalised_path(
    sut: FilesystemWorkspace, root: Path
) -> None:
    write(root, "datasets/reviews.csv", b"text,label\nnice,positive\n")

    content = await sut.read_file("./datasets\\reviews.csv", max_bytes=1024)

    assert content == FileContent(path="datasets/reviews.csv", data=b"text,label\nnice,positive\n")


async def test_read_file_accepts_a_file_exactly_at_the_limit(
    sut: FilesystemWorkspace, root: Path
) -> None:
    write(root, "datasets/a.txt", b"12345")

    content = await sut.read_file("datasets/a.txt", max_bytes=5)

    assert content.data == b"12345"


async def test_read_file_refuses_a_file_over_the_limit_giving_both_sizes(
    sut: FilesystemWorkspace, root: Path
) -> None:
    path = write(root, "datasets/big.bin")
    os.truncate(path, int(12.3 * MB))

    with pytest.raises(FileTooLarge) as caught:
        await sut.read_file("datasets/big.bin", max_bytes=8 * MB)

    assert str(caught.value) == "That file is 12.3 MB; the limit is 8.0 MB."


async def test_read_file_gives_exact_sizes_when_rounding_would_hide_the_difference(
    sut: FilesystemWorkspace, root: Path
) -> None:
    path = write(root, "datasets/big.bin")
    os.truncate(path, 8 * MB + 1)

    with pytest.raises(FileTooLarge) as caught:
        await sut.read_file("datasets/big.bin", max_bytes=8 * MB)

    assert str(caught.value) == "That file is 8,388,609 bytes; the limit is 8,388,608 bytes."


async def test_read_file_of_a_missing_file_names_the_relative_path_only(
    sut: FilesystemWorkspace, root: Path
) -> None:
    with pytest.raises(WorkspaceFileNotFound) as caught:
        await sut.read_file("datasets/nope.csv", max_bytes=1024)

    assert "datasets/nope.csv" in str(caught.value)
    assert str(root) not in str(caught.value)


async def test_read_file_below_a_file_is_not_found(sut: FilesystemWorkspace, root: Path) -> None:
    write(root, "datasets/a.txt")

    with pytest.raises(WorkspaceFileNotFound):
        await sut.read_file("datasets/a.txt/b.txt", max_bytes=1024)


async def test_read_file_of_a_folder_is_not_a_file(sut: FilesystemWorkspace) -> None:
    with pytest.raises(NotAFile):
        await sut.read_file("datasets", max_bytes=1024)


async def test_read_file_refuses_a_fifo_without_hanging(
    sut: FilesystemWorkspace, root: Path
) -> None:
    os.mkfifo(root / "datasets" / "pipe")

    with pytest.raises(InvalidPath):
        await sut.read_file("datasets/pipe", max_bytes=1024)


async def test_read_file_refuses_a_symlink_to_a_file_outside(
    sut: FilesystemWorkspace, root: Path, outside: Path
) -> None:
    (root / "datasets" / "link.txt").symlink_to(outside / "secret.txt")

    with pytest.raises(PathOutsideWorkspace):
        await sut.read_file("datasets/link.txt", max_bytes=1024)


async def test_read_file_follows_a_symlink_pointing_inside(
    sut: FilesystemWorkspace, root: Path
) -> None:
    write(root, "datasets/real.txt", b"inside")
    (root / "exports" / "alias.txt").symlink_to(root / "datasets" / "real.txt")

    content = await sut.read_file("exports/alias.txt", max_bytes=1024)

    assert content == FileContent(path="exports/alias.txt", data=b"inside")


@pytest.mark.parametrize("path", ["../outside/secret.txt", "/etc/passwd", "..\\..\\x"])
async def test_read_file_refuses_paths_that_leave_the_workspace(
    sut: FilesystemWorkspace, path: str
) -> None:
    with pytest.raises(PathOutsideWorkspace):
        await sut.read_file(path, max_bytes=1024)


async def test_read_file_refuses_a_path_longer_than_the_filesystem_allows(tmp_path: Path) -> None:
    sut = FilesystemWorkspace(tmp_path / ("w" * 100))

    with pytest.raises(InvalidPath):
        await sut.read_file("/".join(["\U0001f600" * 63] * 16), max_bytes=1024)


# --- list_files ------------------------------------------------------------------------------


async def test_list_files_finds_every_file_below_the_folder_sorted(
    sut: FilesystemWorkspace, root: Path
) -> None:
    write(root, "datasets/reviews/b.txt", b"bb")
    write(root, "datasets/reviews/a.txt", b"a")
    write(root, "datasets/reviews/deep/er/c.txt", b"ccc")
    write(root, "datasets/other/d.txt")

    files = await sut.list_files("datasets/reviews")

    assert files == [
        WorkspaceFile("datasets/reviews/a.txt", 1),
        WorkspaceFile("datasets/reviews/b.txt", 2),
        WorkspaceFile("datasets/reviews/deep/er/c.txt", 3),
    ]


async def test_list_files_of_an_empty_folder_is_empty(sut: FilesystemWorkspace) -> None:
    assert await sut.list_files("exports") == []


async def test_list_files_of_the_workspace_lists_everything(
    sut: FilesystemWorkspace, root: Path
) -> None:
    write(root, "datasets/a.txt")
    write(root, "top.txt")

    files = await sut.list_files("")

    assert [f.path for f in files] == ["datasets/a.txt", "top.txt"]


async def test_list_files_of_a_missing_folder_is_not_found(sut: FilesystemWorkspace) -> None:
    with pytest.raises(WorkspaceFileNotFound):
        await sut.list_files("datasets/nope")


async def test_list_files_of_a_file_is_not_a_folder(sut: FilesystemWorkspace, root: Path) -> None:
    write(root, "datasets/a.txt")

    with pytest.raises(NotAFolder):
        await sut.list_files("datasets/a.txt")


async def test_list_files_skips_symlinks_leading_outside(
    sut: FilesystemWorkspace, root: Path, outside: Path
) -> None:
    write(root, "datasets/mine.txt")
    (root / "datasets" / "secret.txt").symlink_to(outside / "secret.txt")
    (root / "datasets" / "elsewhere").symlink_to(outside, target_is_directory=True)

    files = await sut.list_files("datasets")

    assert [f.path for f in files] == ["datasets/mine.txt"]


async def test_list_files_refuses_a_symlinked_folder_leading_outside(
    sut: FilesystemWorkspace, root: Path, outside: Path
) -> None:
    (root / "datasets" / "elsewhere").symlink_to(outside, target_is_directory=True)

    with pytest.raises(PathOutsideWorkspace):
        await sut.list_files("datasets/elsewhere")


async def test_list_files_lists_symlinks_pointing_inside_under_their_own_path(
    sut: FilesystemWorkspace, root: Path
) -> None:
    write(root, "datasets/real.txt", b"12")
    (root / "exports" / "alias.txt").symlink_to(root / "datasets" / "real.txt")

    assert await sut.list_files("exports") == [WorkspaceFile("exports/alias.txt", 2)]


async def test_list_files_survives_a_symlink_back_to_an_ancestor(
    sut: FilesystemWorkspace, root: Path
) -> None:
    write(root, "datasets/a.txt")
    (root / "datasets" / "loop").symlink_to(root / "datasets", target_is_directory=True)

    files = await sut.list_files("datasets")

    assert [f.path for f in files] == ["datasets/a.txt"]


async def test_list_files_skips_dangling_symlinks(sut: FilesystemWorkspace, root: Path) -> None:
    write(root, "datasets/a.txt")
    (root / "datasets" / "gone.txt").symlink_to(root / "datasets" / "missing.txt")

    assert [f.path for f in await sut.list_files("datasets")] == ["datasets/a.txt"]


# --- exists ----------------------------------------------------------------------------------


async def test_exists_is_true_for_a_file_and_a_folder(sut: FilesystemWorkspace, root: Path) -> None:
    write(root, "datasets/a.txt")

    assert await sut.exists("datasets/a.txt")
    assert await sut.exists("datasets")


async def test_exists_is_false_for_a_missing_path(sut: FilesystemWorkspace) -> None:
    assert not await sut.exists("datasets/nope.txt")


async def test_exists_refuses_a_path_outside(
    sut: FilesystemWorkspace, root: Path, outside: Path
) -> None:
    (root / "datasets" / "link.txt").symlink_to(outside / "secret.txt")

    with pytest.raises(PathOutsideWorkspace):
        await sut.exists("datasets/link.txt")
