"""FilesystemDatasetStore: versioned datasets in the workspace's datasets folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainerbot.adapters.storage import FilesystemDatasetStore
from trainerbot.core.entities import Dataset, Example, Task
from trainerbot.core.errors import DatasetError, InvalidInput, UnknownDataset


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "workspace"


@pytest.fixture
def sut(root: Path) -> FilesystemDatasetStore:
    return FilesystemDatasetStore(root)


def dataset(name: str = "reviews", *completions: str) -> Dataset:
    examples = tuple(
        Example.single_turn(f"text {n}", label, origin=f"line {n}")
        for n, label in enumerate(completions or ("positive", "negative"), start=1)
    )
    return Dataset(name=name, task=Task.CLASSIFICATION, examples=examples, source="inline")


async def test_save_writes_a_header_line_then_one_example_per_line(
    sut: FilesystemDatasetStore, root: Path
) -> None:
    saved = dataset()

    await sut.save(saved)

    lines = (root / "datasets" / "reviews" / f"{saved.version}.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == {
        "type": "dataset",
        "v": 1,
        "name": "reviews",
        "task": "classification",
        "version": saved.version,
        "source": "inline",
        "example_count": 2,
    }
    assert [json.loads(line) for line in lines[1:]] == [e.to_dict() for e in saved.examples]


async def test_save_records_the_current_version(sut: FilesystemDatasetStore, root: Path) -> None:
    saved = dataset()

    await sut.save(saved)

    assert (root / "datasets" / "reviews" / "current").read_text().strip() == saved.version


async def test_a_new_version_becomes_current_and_the_old_one_stays_on_disk(
    sut: FilesystemDatasetStore, root: Path
) -> None:
    first = dataset("reviews", "positive")
    second = dataset("reviews", "positive", "negative")

    await sut.save(first)
    await sut.save(second)

    assert await sut.get("reviews") == second
    stored = sorted(p.name for p in (root / "datasets" / "reviews").glob("*.jsonl"))
    assert stored == sorted([f"{first.version}.jsonl", f"{second.version}.jsonl"])


async def test_saving_leaves_no_temporary_files(sut: FilesystemDatasetStore, root: Path) -> None:
    saved = dataset()

    await sut.save(saved)

    assert sorted(p.name for p in (root / "datasets" / "reviews").iterdir()) == [
        f"{saved.version}.jsonl",
        "current",
    ]


async def test_names_are_sorted_and_ignore_folders_that_are_not_datasets(
    sut: FilesystemDatasetStore, root: Path
) -> None:
    await sut.save(dataset("zebra"))
    await sut.save(dataset("alpha"))
    (root / "datasets" / "user-upload").mkdir()
    (root / "datasets" / "notes.csv").write_text("x")

    assert await sut.names() == ["alpha", "zebra"]


async def test_select_remembers_the_dataset(sut: FilesystemDatasetStore, root: Path) -> None:
    await sut.save(dataset("alpha"))

    await sut.select("alpha")

    assert await sut.selected() == "alpha"
    assert (root / "datasets" / ".selected").read_text().strip() == "alpha"
    assert await FilesystemDatasetStore(root).selected() == "alpha"


async def test_select_of_an_unknown_dataset_is_refused(sut: FilesystemDatasetStore) -> None:
    with pytest.raises(UnknownDataset, match="nope"):
        await sut.select("nope")
    assert await sut.selected() is None


@pytest.mark.parametrize(
    "name",
    ["", ".hidden", "..", "../escape", "a/b", "a\\b", "with space", "x" * 65, "reviews:train", "é"],
)
async def test_invalid_names_are_refused_everywhere(sut: FilesystemDatasetStore, name: str) -> None:
    with pytest.raises(InvalidInput):
        await sut.save(dataset(name))
    with pytest.raises(InvalidInput):
        await sut.get(name)
    with pytest.raises(InvalidInput):
        await sut.select(name)


@pytest.mark.parametrize("name", ["a", "Reviews_2025.v2", "x" * 64, "0-start"])
async def test_valid_names_are_accepted(sut: FilesystemDatasetStore, name: str) -> None:
    await sut.save(dataset(name))

    assert await sut.names() == [name]


async def test_a_damaged_dataset_file_is_a_dataset_error_without_host_paths(
    sut: FilesystemDatasetStore, root: Path
) -> None:
    saved = dataset()
    await sut.save(saved)
    (root / "datasets" / "reviews" / f"{saved.version}.jsonl").write_text('{"type":"dataset"')

    with pytest.raises(DatasetError) as caught:
        await sut.get("reviews")

    assert str(root) not in str(caught.value)


async def test_a_tampered_current_file_cannot_point_outside(
    sut: FilesystemDatasetStore, root: Path
) -> None:
    await sut.save(dataset())
    (root / "datasets" / "reviews" / "current").write_text("../../../etc/passwd")

    with pytest.raises(DatasetError):
        await sut.get("reviews")
