"""FilesystemWorkspace: every user path stays inside the workspace, symlinks included."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainerbot.adapters.storage import FilesystemWorkspace
from trainerbot.core.errors import InvalidPath, PathOutsideWorkspace
from trainerbot.ports import Workspace


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


def test_construction_creates_the_root_and_its_standard_folders(root: Path) -> None:
    FilesystemWorkspace(root)

    assert sorted(p.name for p in root.iterdir()) == ["archives", "datasets", "exports", "records"]


def test_construction_accepts_an_existing_workspace(root: Path) -> None:
    FilesystemWorkspace(root)
    (root / "datasets" / "keep.txt").write_text("kept")

    FilesystemWorkspace(root)

    assert (root / "datasets" / "keep.txt").read_text() == "kept"


def test_it_implements_the_workspace_port(sut: FilesystemWorkspace) -> None:
    assert isinstance(sut, Workspace)


def test_resolve_returns_the_real_location_inside_the_root(
    sut: FilesystemWorkspace, root: Path
) -> None:
    assert sut.resolve("datasets/a.csv") == root.resolve() / "datasets" / "a.csv"


def test_resolve_normalises_windows_separators_and_dots(
    sut: FilesystemWorkspace, root: Path
) -> None:
    assert sut.resolve(".\\datasets\\.\\a.csv") == root.resolve() / "datasets" / "a.csv"


@pytest.mark.parametrize(
    "path",
    ["..", "../x", "a/../../x", "datasets/../../x", "..\\..\\x", "/etc/passwd", "C:\\Windows"],
)
def test_resolve_refuses_paths_that_leave_the_workspace(
    sut: FilesystemWorkspace, path: str
) -> None:
    with pytest.raises(PathOutsideWorkspace):
        sut.resolve(path)


def test_resolve_refuses_a_nul_byte(sut: FilesystemWorkspace) -> None:
    with pytest.raises(InvalidPath):
        sut.resolve("datasets/a\x00.csv")


def test_resolve_refuses_a_300_byte_name(sut: FilesystemWorkspace) -> None:
    with pytest.raises(InvalidPath):
        sut.resolve("datasets/" + "a" * 300)


def test_resolve_refuses_a_path_longer_than_the_filesystem_allows(tmp_path: Path) -> None:
    # Each name fits (252 bytes) and the text fits (1023 characters), but the bytes do not.
    sut = FilesystemWorkspace(tmp_path / ("w" * 100))
    path = "/".join(["\U0001f600" * 63] * 16)

    with pytest.raises(InvalidPath):
        sut.resolve(path)


def test_resolve_refuses_the_workspace_root_unless_allowed(
    sut: FilesystemWorkspace, root: Path
) -> None:
    with pytest.raises(InvalidPath):
        sut.resolve("")

    assert sut.resolve("", allow_root=True) == root.resolve()


def test_resolve_refuses_a_symlink_to_a_file_outside(
    sut: FilesystemWorkspace, root: Path, outside: Path
) -> None:
    (root / "datasets" / "link.txt").symlink_to(outside / "secret.txt")

    with pytest.raises(PathOutsideWorkspace):
        sut.resolve("datasets/link.txt")


def test_resolve_refuses_a_path_through_a_symlinked_folder_outside(
    sut: FilesystemWorkspace, root: Path, outside: Path
) -> None:
    (root / "datasets" / "elsewhere").symlink_to(outside, target_is_directory=True)

    with pytest.raises(PathOutsideWorkspace):
        sut.resolve("datasets/elsewhere/secret.txt")


def test_resolve_accepts_a_symlink_pointing_inside(sut: FilesystemWorkspace, root: Path) -> None:
    (root / "datasets" / "real.txt").write_text("inside")
    (root / "exports" / "alias.txt").symlink_to(root / "datasets" / "real.txt")

    assert sut.resolve("exports/alias.txt") == root.resolve() / "datasets" / "real.txt"


def test_resolve_refuses_a_symlink_loop(sut: FilesystemWorkspace, root: Path) -> None:
    (root / "a").symlink_to(root / "b")
    (root / "b").symlink_to(root / "a")

    with pytest.raises(InvalidPath):
        sut.resolve("a")


def test_a_workspace_reached_through_a_symlink_still_accepts_its_own_paths(
    tmp_path: Path,
) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real", target_is_directory=True)
    sut = FilesystemWorkspace(tmp_path / "alias")

    assert sut.resolve("datasets") == (tmp_path / "real" / "datasets").resolve()


def test_refusals_never_show_the_host_path(
    sut: FilesystemWorkspace, root: Path, outside: Path
) -> None:
    (root / "datasets" / "link.txt").symlink_to(outside / "secret.txt")

    with pytest.raises(PathOutsideWorkspace) as caught:
        sut.resolve("datasets/link.txt")

    assert str(root) not in str(caught.value)
    assert str(outside) not in str(caught.value)


async def test_an_excluded_file_is_never_listed_or_read_and_a_namesake_below_is(
    root: Path,
) -> None:
    """The records' database at the top of the workspace holds every tenant's rows: excluded like
    the tenants' folder. Only that file: one of the same name in a folder is the user's."""
    sut = FilesystemWorkspace(root, excluded=("servers", "records.sqlite3", "records.sqlite3-wal"))
    (root / "records.sqlite3").write_bytes(b"SQLite format 3\x00every tenant's rows")
    (root / "records.sqlite3-wal").write_bytes(b"the write-ahead log")
    (root / "datasets" / "records.sqlite3").write_bytes(b"a user's own file")
    (root / "datasets" / "link.sqlite3").symlink_to(root / "records.sqlite3")

    listed = [item.path for item in await sut.list_files("")]

    assert listed == ["datasets/records.sqlite3"]
    assert [item.path for item in await sut.list_files("datasets")] == listed
    for path in (
        "records.sqlite3",
        "records.sqlite3-wal",
        "./records.sqlite3",
        "datasets/link.sqlite3",
    ):
        with pytest.raises(PathOutsideWorkspace):
            await sut.read_file(path, max_bytes=1024)
    assert (await sut.read_file("datasets/records.sqlite3", max_bytes=1024)).data == (
        b"a user's own file"
    )
