"""FilesystemWorkspace.export: new files in exports/, written whole, never overwriting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trainerbot.adapters.storage import FilesystemWorkspace
from trainerbot.core.errors import InvalidPath, WorkspaceError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "workspace"


@pytest.fixture
def sut(root: Path) -> FilesystemWorkspace:
    return FilesystemWorkspace(root)


async def test_an_export_is_a_new_stamped_file_in_exports(
    sut: FilesystemWorkspace, root: Path
) -> None:
    first = await sut.export("corrections.jsonl", b'{"a": 1}\n')
    second = await sut.export("corrections.jsonl", b'{"a": 2}\n')

    assert re.fullmatch(r"exports/corrections-\d{8}-\d{6}-[0-9a-f]{6}\.jsonl", first.path)
    assert first.path != second.path
    assert (root / first.path).read_bytes() == b'{"a": 1}\n'
    assert (root / second.path).read_bytes() == b'{"a": 2}\n'
    assert sorted(p.name for p in (root / "exports").iterdir()) == sorted(
        [first.filename, second.filename]
    )  # no temporary file left behind


@pytest.mark.parametrize("name", ["", "../x.jsonl", "a/b.jsonl", "a\\b.jsonl", ".hidden", "x\0y"])
async def test_a_name_that_is_not_a_plain_file_name_is_refused(
    sut: FilesystemWorkspace, root: Path, name: str
) -> None:
    with pytest.raises(InvalidPath):
        await sut.export(name, b"data")

    assert list((root / "exports").iterdir()) == []


async def test_an_exports_folder_that_leads_outside_is_refused(
    sut: FilesystemWorkspace, root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "exports").rmdir()
    (root / "exports").symlink_to(outside)

    with pytest.raises(WorkspaceError, match="outside"):
        await sut.export("corrections.jsonl", b"data")

    assert list(outside.iterdir()) == []
