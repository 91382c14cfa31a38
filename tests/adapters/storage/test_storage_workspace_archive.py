"""FilesystemWorkspace.archive: a zip of a folder with a verifiable manifest."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path

import pytest

from trainerbot.adapters.storage import FilesystemWorkspace
from trainerbot.core.entities import ManifestEntry
from trainerbot.core.errors import (
    EmptyFolder,
    InvalidPath,
    NotAFolder,
    PathOutsideWorkspace,
    WorkspaceFileNotFound,
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "workspace"


@pytest.fixture
def sut(root: Path) -> FilesystemWorkspace:
    return FilesystemWorkspace(root)


def write(root: Path, rel: str, data: bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def reviews(root: Path) -> dict[str, bytes]:
    files = {"a.csv": b"text,label\ngood,positive\n", "sub/b.txt": "héllo ✓".encode()}
    for rel, data in files.items():
        write(root, f"datasets/reviews/{rel}", data)
    return files


async def test_archive_returns_the_zip_path_source_and_manifest_entries(
    sut: FilesystemWorkspace, reviews: dict[str, bytes]
) -> None:
    archive = await sut.archive("datasets/reviews")

    assert re.fullmatch(r"archives/reviews-\d{8}-\d{6}-[0-9a-f]{6}\.zip", archive.path)
    assert archive.source == "datasets/reviews"
    assert archive.files == tuple(
        ManifestEntry(path=rel, size=len(data), sha256=sha256(data))
        for rel, data in sorted(reviews.items())
    )


async def test_archive_zip_holds_the_files_under_folder_relative_paths(
    sut: FilesystemWorkspace, root: Path, reviews: dict[str, bytes]
) -> None:
    archive = await sut.archive("datasets/reviews")

    with zipfile.ZipFile(root / archive.path) as zipped:
        assert zipped.testzip() is None
        assert sorted(zipped.namelist()) == ["a.csv", "manifest.json", "sub/b.txt"]
        assert {rel: zipped.read(rel) for rel in reviews} == reviews
        assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in zipped.infolist())


async def test_archive_manifest_hashes_match_the_zipped_bytes(
    sut: FilesystemWorkspace, root: Path, reviews: dict[str, bytes]
) -> None:
    archive = await sut.archive("datasets/reviews")

    with zipfile.ZipFile(root / archive.path) as zipped:
        manifest = json.loads(zipped.read("manifest.json"))
        assert manifest["source"] == "datasets/reviews"
        assert manifest["created_at"].endswith("+00:00")
        for entry in manifest["files"]:
            data = zipped.read(entry["path"])
            assert entry["size"] == len(data)
            assert entry["sha256"] == sha256(data)
        assert [entry["path"] for entry in manifest["files"]] == sorted(reviews)


async def test_archive_leaves_no_temporary_file_behind(
    sut: FilesystemWorkspace, root: Path, reviews: dict[str, bytes]
) -> None:
    archive = await sut.archive("datasets/reviews")

    assert [p.name for p in (root / "archives").iterdir()] == [archive.path.split("/")[-1]]


async def test_archive_twice_makes_two_archives(
    sut: FilesystemWorkspace, reviews: dict[str, bytes]
) -> None:
    first = await sut.archive("datasets/reviews")
    second = await sut.archive("datasets/reviews")

    assert first.path != second.path


async def test_archive_keeps_a_users_own_manifest_json(
    sut: FilesystemWorkspace, root: Path
) -> None:
    write(root, "exports/run/manifest.json", b'{"mine": true}')

    archive = await sut.archive("exports/run")

    with zipfile.ZipFile(root / archive.path) as zipped:
        assert zipped.read("manifest.json") == b'{"mine": true}'
        assert json.loads(zipped.read("_manifest.json"))["files"][0]["path"] == "manifest.json"


async def test_archive_of_an_empty_folder_is_refused(sut: FilesystemWorkspace, root: Path) -> None:
    (root / "exports" / "empty" / "nested").mkdir(parents=True)

    with pytest.raises(EmptyFolder):
        await sut.archive("exports/empty")
    assert list((root / "archives").iterdir()) == []


async def test_archive_of_a_missing_folder_is_not_found(sut: FilesystemWorkspace) -> None:
    with pytest.raises(WorkspaceFileNotFound):
        await sut.archive("datasets/nope")


async def test_archive_of_a_file_is_not_a_folder(sut: FilesystemWorkspace, root: Path) -> None:
    write(root, "datasets/a.csv", b"x")

    with pytest.raises(NotAFolder):
        await sut.archive("datasets/a.csv")


async def test_archive_of_the_workspace_root_is_refused(sut: FilesystemWorkspace) -> None:
    with pytest.raises(InvalidPath):
        await sut.archive("")


async def test_archive_of_a_link_to_the_workspace_root_is_refused(
    sut: FilesystemWorkspace, root: Path
) -> None:
    write(root, "datasets/a.csv", b"x")
    (root / "exports" / "everything").symlink_to(root, target_is_directory=True)

    with pytest.raises(InvalidPath):
        await sut.archive("exports/everything")


@pytest.mark.parametrize("folder", ["archives", "archives/old"])
async def test_archive_of_the_archives_folder_is_refused(
    sut: FilesystemWorkspace, root: Path, folder: str
) -> None:
    write(root, "archives/old/x.zip", b"zip")

    with pytest.raises(InvalidPath, match="cannot archive the archives folder"):
        await sut.archive(folder)


async def test_archive_of_a_symlinked_folder_outside_is_refused(
    sut: FilesystemWorkspace, root: Path, tmp_path: Path
) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("secret")
    (root / "datasets" / "elsewhere").symlink_to(tmp_path / "outside", target_is_directory=True)

    with pytest.raises(PathOutsideWorkspace):
        await sut.archive("datasets/elsewhere")


async def test_archive_skips_symlinks_leading_outside_the_workspace(
    sut: FilesystemWorkspace, root: Path, tmp_path: Path
) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("secret")
    write(root, "datasets/mixed/mine.txt", b"mine")
    (root / "datasets" / "mixed" / "dir").symlink_to(tmp_path / "outside")
    (root / "datasets" / "mixed" / "file.txt").symlink_to(tmp_path / "outside" / "secret.txt")

    archive = await sut.archive("datasets/mixed")

    assert [entry.path for entry in archive.files] == ["mine.txt"]
    with zipfile.ZipFile(root / archive.path) as zipped:
        assert sorted(zipped.namelist()) == ["manifest.json", "mine.txt"]
