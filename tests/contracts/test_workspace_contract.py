"""The Workspace contract, run against the in-memory workspace and the filesystem workspace."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from trainerbot.adapters.memory import InMemoryWorkspace
from trainerbot.adapters.storage import FilesystemWorkspace
from trainerbot.core.entities import ManifestEntry, WorkspaceFile
from trainerbot.core.errors import (
    FileTooLarge,
    InvalidPath,
    NotAFile,
    NotAFolder,
    PathOutsideWorkspace,
    WorkspaceFileNotFound,
)
from trainerbot.ports import Workspace

MakeWorkspace = Callable[[Mapping[str, bytes]], Workspace]

FILES = {
    "notes.txt": b"top-level notes",
    "data/reviews/a.csv": b"text,label\ngreat,positive\n",
    "data/reviews/b.csv": b"text,label\nawful,negative\n",
    "data/reviews/deeper/c.txt": b"one more",
    "data/other.txt": b"x" * 100,
}


def _filesystem(tmp_path: Path) -> MakeWorkspace:
    def make(files: Mapping[str, bytes]) -> Workspace:
        root = tmp_path / "workspace"
        for name, data in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        return FilesystemWorkspace(root)

    return make


IMPLEMENTATIONS: dict[str, Callable[[Path], MakeWorkspace]] = {
    "memory": lambda tmp: lambda files: InMemoryWorkspace(dict(files)),
    "filesystem": _filesystem,
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def make_workspace(request: pytest.FixtureRequest, tmp_path: Path) -> MakeWorkspace:
    """Builds the workspace holding the given files (workspace-relative path → bytes)."""
    return IMPLEMENTATIONS[request.param](tmp_path)


@pytest.fixture
def workspace(make_workspace: MakeWorkspace) -> Workspace:
    return make_workspace(FILES)


def test_it_implements_the_port(workspace: Workspace) -> None:
    assert isinstance(workspace, Workspace)


# --- read_file -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling", ["data/reviews/a.csv", "./data//reviews/a.csv", "data\\reviews\\a.csv"]
)
async def test_read_file_gives_the_bytes_under_the_normalised_path(
    workspace: Workspace, spelling: str
) -> None:
    content = await workspace.read_file(spelling, max_bytes=1000)

    assert content.path == "data/reviews/a.csv"
    assert content.data == FILES["data/reviews/a.csv"]


async def test_read_file_accepts_a_file_exactly_at_the_limit(workspace: Workspace) -> None:
    content = await workspace.read_file("data/other.txt", max_bytes=100)

    assert content.data == b"x" * 100


async def test_read_file_refuses_a_file_over_the_limit(workspace: Workspace) -> None:
    with pytest.raises(FileTooLarge):
        await workspace.read_file("data/other.txt", max_bytes=99)


@pytest.mark.parametrize("path", ["missing.txt", "data/missing.txt", "notes.txt/below"])
async def test_read_file_of_nothing_there_is_not_found(workspace: Workspace, path: str) -> None:
    with pytest.raises(WorkspaceFileNotFound):
        await workspace.read_file(path, max_bytes=1000)


async def test_read_file_of_a_folder_is_not_a_file(workspace: Workspace) -> None:
    with pytest.raises(NotAFile):
        await workspace.read_file("data/reviews", max_bytes=1000)


@pytest.mark.parametrize("path", ["../secret.txt", "data/../../secret.txt", "/etc/passwd"])
async def test_every_operation_refuses_a_path_that_leaves_the_workspace(
    workspace: Workspace, path: str
) -> None:
    with pytest.raises(PathOutsideWorkspace):
        await workspace.read_file(path, max_bytes=1000)
    with pytest.raises(PathOutsideWorkspace):
        await workspace.list_files(path)
    with pytest.raises(PathOutsideWorkspace):
        await workspace.exists(path)
    with pytest.raises(PathOutsideWorkspace):
        await workspace.archive(path)


# --- list_files and exists -------------------------------------------------------------------


async def test_list_files_gives_every_file_below_the_folder_recursively_sorted(
    workspace: Workspace,
) -> None:
    assert await workspace.list_files("data/reviews") == [
        WorkspaceFile("data/reviews/a.csv", len(FILES["data/reviews/a.csv"])),
        WorkspaceFile("data/reviews/b.csv", len(FILES["data/reviews/b.csv"])),
        WorkspaceFile("data/reviews/deeper/c.txt", len(FILES["data/reviews/deeper/c.txt"])),
    ]


async def test_list_files_of_the_workspace_lists_every_file(workspace: Workspace) -> None:
    listed = await workspace.list_files("")

    assert listed == [WorkspaceFile(name, len(data)) for name, data in sorted(FILES.items())]


async def test_list_files_of_a_missing_folder_is_not_found(workspace: Workspace) -> None:
    with pytest.raises(WorkspaceFileNotFound):
        await workspace.list_files("data/missing")


async def test_list_files_of_a_file_is_not_a_folder(workspace: Workspace) -> None:
    with pytest.raises(NotAFolder):
        await workspace.list_files("notes.txt")


@pytest.mark.parametrize(
    ("path", "expected"),
    [("notes.txt", True), ("data/reviews", True), ("", True), ("missing.txt", False)],
)
async def test_exists_is_true_for_files_and_folders_only(
    workspace: Workspace, path: str, expected: bool
) -> None:
    assert await workspace.exists(path) is expected


# --- export ----------------------------------------------------------------------------------


async def test_an_export_is_a_new_file_in_exports_named_after_the_name(
    workspace: Workspace,
) -> None:
    exported = await workspace.export("corrections.jsonl", b'{"a": 1}\n')

    folder, _, filename = exported.path.partition("/")
    assert folder == "exports"
    assert filename.startswith("corrections")
    assert filename.endswith(".jsonl")
    assert exported.data == b'{"a": 1}\n'
    assert (await workspace.read_file(exported.path, max_bytes=1000)).data == b'{"a": 1}\n'


async def test_exporting_the_same_name_twice_overwrites_nothing(workspace: Workspace) -> None:
    first = await workspace.export("report.csv", b"first")
    second = await workspace.export("report.csv", b"second")

    assert first.path != second.path
    assert (await workspace.read_file(first.path, max_bytes=100)).data == b"first"
    assert (await workspace.read_file(second.path, max_bytes=100)).data == b"second"


@pytest.mark.parametrize("name", ["", "a/b.txt", "..\\b.txt", ".hidden"])
async def test_an_export_name_that_is_not_a_plain_file_name_is_refused(
    workspace: Workspace, name: str
) -> None:
    with pytest.raises(InvalidPath):
        await workspace.export(name, b"data")

    assert not await workspace.exists("exports") or await workspace.list_files("exports") == []


# --- archive ---------------------------------------------------------------------------------


async def test_an_archive_is_a_zip_in_archives_with_a_manifest_of_the_folder(
    workspace: Workspace,
) -> None:
    archive = await workspace.archive("data/reviews")

    folder, _, filename = archive.path.partition("/")
    assert folder == "archives"
    assert filename.endswith(".zip")
    assert "/" not in filename
    assert archive.source == "data/reviews"
    assert archive.files == tuple(
        ManifestEntry(relative, len(data), hashlib.sha256(data).hexdigest())
        for relative, data in [
            ("a.csv", FILES["data/reviews/a.csv"]),
            ("b.csv", FILES["data/reviews/b.csv"]),
            ("deeper/c.txt", FILES["data/reviews/deeper/c.txt"]),
        ]
    )


async def test_the_archive_is_in_the_workspace_once_made(workspace: Workspace) -> None:
    archive = await workspace.archive("data/reviews")

    assert await workspace.exists(archive.path)
    assert [f.path for f in await workspace.list_files("archives")] == [archive.path]


async def test_archiving_twice_makes_two_archives(workspace: Workspace) -> None:
    first = await workspace.archive("data/reviews")
    second = await workspace.archive("data/reviews")

    assert first.path != second.path
    assert first.files == second.files


async def test_archive_of_a_missing_folder_is_not_found(workspace: Workspace) -> None:
    with pytest.raises(WorkspaceFileNotFound):
        await workspace.archive("data/missing")


async def test_archive_of_a_file_is_not_a_folder(workspace: Workspace) -> None:
    with pytest.raises(NotAFolder):
        await workspace.archive("notes.txt")


async def test_archive_of_the_workspace_itself_is_refused(workspace: Workspace) -> None:
    with pytest.raises(InvalidPath):
        await workspace.archive("")


async def test_archive_of_the_archives_folder_is_refused(workspace: Workspace) -> None:
    await workspace.archive("data/reviews")

    with pytest.raises(InvalidPath):
        await workspace.archive("archives")
