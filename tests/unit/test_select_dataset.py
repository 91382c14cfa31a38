"""SelectDataset: pick a workspace folder as the training dataset, label it, archive it."""

from __future__ import annotations

import json

import pytest

from trainerbot.adapters.memory import InMemoryDatasetStore, InMemoryWorkspace
from trainerbot.core.datasets import ValidationReport
from trainerbot.core.entities import NEGATIVE, POSITIVE, Actor, Task
from trainerbot.core.errors import (
    DatasetInvalid,
    EmptyDataset,
    InvalidArgument,
    InvalidPath,
    NotAFolder,
    PathOutsideWorkspace,
    PermissionDenied,
    WorkspaceFileNotFound,
)
from trainerbot.core.limits import Limits
from trainerbot.core.select_dataset import SelectDataset, SelectDatasetRequest


def chat_line(number: int) -> str:
    return json.dumps(
        {
            "messages": [
                {"role": "user", "content": f"q{number}"},
                {"role": "assistant", "content": f"a{number}"},
            ]
        }
    )


CHATS = "\n".join(chat_line(n) for n in range(1, 21)).encode()
FILES = {
    "data/reviews/good/r1.txt": b"great product",
    "data/reviews/good/r2.txt": b"works as promised",
    "data/reviews/r3.md": b"fast delivery",
    "data/reviews/labelled.csv": b"text,label\nbroke after a day,negative\narrived on time,positive\n",
    "chats/support.jsonl": CHATS,
    "hidden/.gitkeep": b"",
    "notes.txt": b"a file, not a folder",
}


@pytest.fixture
def workspace() -> InMemoryWorkspace:
    return InMemoryWorkspace(files=FILES)


@pytest.fixture
def sut(workspace: InMemoryWorkspace, datasets: InMemoryDatasetStore) -> SelectDataset:
    return SelectDataset(workspace=workspace, datasets=datasets)


@pytest.fixture
def nothing_changed(workspace: InMemoryWorkspace, datasets: InMemoryDatasetStore):
    def check() -> None:
        assert workspace.archives == []
        assert datasets.versions == []
        assert datasets.selected_name is None

    return check


async def test_the_folder_is_archived_saved_under_its_name_and_selected_for_training(
    sut: SelectDataset,
    workspace: InMemoryWorkspace,
    datasets: InMemoryDatasetStore,
    trainer: Actor,
) -> None:
    result = await sut.execute(SelectDatasetRequest(actor=trainer, folder="chats"))

    assert result.dataset.name == "chats"
    assert result.dataset.source == "chats"
    assert result.dataset.task is Task.CHAT
    assert len(result.dataset.examples) == 20
    assert datasets.versions == [result.dataset]
    assert datasets.selected_name == "chats"
    assert workspace.archives == [result.archive]
    assert result.archive.source == "chats"
    assert [entry.path for entry in result.archive.files] == ["support.jsonl"]


async def test_the_report_tells_the_counts_and_the_content_version(
    sut: SelectDataset, trainer: Actor
) -> None:
    result = await sut.execute(SelectDatasetRequest(actor=trainer, folder="chats"))

    assert isinstance(result.report, ValidationReport)
    assert result.report.is_valid
    assert result.report.dataset_version == result.dataset.version
    assert result.report.example_count == 20
    train, test = result.dataset.split()
    assert (result.report.train_count, result.report.test_count) == (
        len(train.examples),
        len(test.examples),
    )


async def test_a_nested_folder_is_named_after_its_last_part_and_read_recursively(
    sut: SelectDataset, datasets: InMemoryDatasetStore, trainer: Actor
) -> None:
    result = await sut.execute(
        SelectDatasetRequest(actor=trainer, folder="./data/reviews/", positive=True)
    )

    assert result.dataset.name == "reviews"
    assert result.dataset.source == "data/reviews"
    assert sorted(e.user_text for e in result.dataset.examples) == [
        "arrived on time",
        "broke after a day",
        "fast delivery",
        "great product",
        "works as promised",
    ]
    assert datasets.selected_name == "reviews"


@pytest.mark.parametrize(("positive", "label"), [(True, POSITIVE), (False, NEGATIVE)])
async def test_positive_labels_every_plain_document(
    sut: SelectDataset, trainer: Actor, positive: bool, label: str
) -> None:
    result = await sut.execute(
        SelectDatasetRequest(actor=trainer, folder="data/reviews", positive=positive)
    )

    assert result.dataset.task is Task.CLASSIFICATION
    labels = {e.user_text: e.completion for e in result.dataset.examples}
    plain = ("great product", "works as promised", "fast delivery")
    assert {labels[text] for text in plain} == {label}
    # Rows that carry their own label keep it.
    assert (labels["broke after a day"], labels["arrived on time"]) == (NEGATIVE, POSITIVE)


async def test_refuses_a_folder_training_would_refuse_and_changes_nothing(
    sut: SelectDataset,
    workspace: InMemoryWorkspace,
    trainer: Actor,
    refuses,
    nothing_changed,
) -> None:
    del workspace.files["data/reviews/labelled.csv"]  # left: plain documents, all one label

    with refuses(DatasetInvalid) as caught:
        await sut.execute(SelectDatasetRequest(actor=trainer, folder="data/reviews", positive=True))

    assert "one label" in str(caught.value)
    nothing_changed()


@pytest.mark.parametrize(("positive", "wanted"), [(None, True), (True, True), (False, False)])
async def test_positive_marks_chat_examples_wanted_or_unwanted(
    sut: SelectDataset, trainer: Actor, positive: bool | None, wanted: bool
) -> None:
    result = await sut.execute(
        SelectDatasetRequest(actor=trainer, folder="chats", positive=positive)
    )

    assert {e.wanted for e in result.dataset.examples} == {wanted}


async def test_selecting_another_folder_changes_the_selection(
    sut: SelectDataset, datasets: InMemoryDatasetStore, trainer: Actor
) -> None:
    await sut.execute(SelectDatasetRequest(actor=trainer, folder="chats"))
    await sut.execute(SelectDatasetRequest(actor=trainer, folder="data/reviews", positive=True))

    assert datasets.selected_name == "reviews"
    assert await datasets.names() == ["chats", "reviews"]


async def test_selecting_the_same_folder_again_saves_a_new_version_when_it_changed(
    sut: SelectDataset,
    workspace: InMemoryWorkspace,
    datasets: InMemoryDatasetStore,
    trainer: Actor,
) -> None:
    first = await sut.execute(SelectDatasetRequest(actor=trainer, folder="chats"))
    workspace.files["chats/more.jsonl"] = chat_line(21).encode()

    second = await sut.execute(SelectDatasetRequest(actor=trainer, folder="chats"))

    assert first.dataset.version != second.dataset.version
    assert await datasets.get("chats") == second.dataset
    assert len(workspace.archives) == 2


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", ["chats", "../outside"])
async def test_refuses_a_member_without_the_trainer_role_and_changes_nothing(
    sut: SelectDataset, member: Actor, refuses, nothing_changed, folder: str
) -> None:
    with refuses(PermissionDenied):
        await sut.execute(SelectDatasetRequest(actor=member, folder=folder))

    nothing_changed()


@pytest.mark.parametrize(
    ("folder", "error"),
    [
        pytest.param("", InvalidPath, id="workspace-itself"),
        pytest.param("../outside", PathOutsideWorkspace, id="parent"),
        pytest.param("chats/../../outside", PathOutsideWorkspace, id="dotdot-inside"),
        pytest.param("/srv/data", PathOutsideWorkspace, id="absolute"),
        pytest.param("missing", WorkspaceFileNotFound, id="missing"),
        pytest.param("notes.txt", NotAFolder, id="a-file"),
    ],
)
async def test_refuses_a_folder_that_is_not_one_inside_the_workspace_and_changes_nothing(
    sut: SelectDataset,
    trainer: Actor,
    refuses,
    nothing_changed,
    folder: str,
    error: type[Exception],
) -> None:
    with refuses(error):
        await sut.execute(SelectDatasetRequest(actor=trainer, folder=folder, positive=True))

    nothing_changed()


async def test_a_bad_line_refuses_the_selection_with_a_report_and_changes_nothing(
    datasets: InMemoryDatasetStore, trainer: Actor, refuses
) -> None:
    lines = [chat_line(n) for n in range(1, 21)]
    lines[6] = '{"messages": "not a list"}'  # line 7
    workspace = InMemoryWorkspace(files={"chats/support.jsonl": "\n".join(lines).encode()})
    sut = SelectDataset(workspace=workspace, datasets=datasets)

    with refuses(DatasetInvalid) as caught:
        await sut.execute(SelectDatasetRequest(actor=trainer, folder="chats"))

    report = caught.value.report
    assert isinstance(report, ValidationReport)
    assert [(p.source, p.line) for p in report.problems] == [("support.jsonl", 7)]
    assert str(caught.value) == report.summary()
    assert workspace.archives == []
    assert datasets.versions == []
    assert datasets.selected_name is None


async def test_unlabelled_plain_text_refuses_the_selection_and_changes_nothing(
    sut: SelectDataset, trainer: Actor, refuses, nothing_changed
) -> None:
    with refuses(DatasetInvalid) as caught:
        await sut.execute(SelectDatasetRequest(actor=trainer, folder="data/reviews"))

    assert isinstance(caught.value.report, ValidationReport)
    assert "positive=true or positive=false" in str(caught.value)
    nothing_changed()


async def test_an_unsupported_file_refuses_the_selection_and_changes_nothing(
    datasets: InMemoryDatasetStore, trainer: Actor, refuses
) -> None:
    workspace = InMemoryWorkspace(
        files={"chats/support.jsonl": CHATS, "chats/photo.png": b"\x89PNG\r\n"}
    )
    sut = SelectDataset(workspace=workspace, datasets=datasets)

    with refuses(DatasetInvalid) as caught:
        await sut.execute(SelectDatasetRequest(actor=trainer, folder="chats"))

    assert [p.source for p in caught.value.report.problems] == ["photo.png"]
    assert workspace.archives == []
    assert datasets.versions == []
    assert datasets.selected_name is None


async def test_a_folder_without_examples_is_refused_and_changes_nothing(
    sut: SelectDataset, trainer: Actor, refuses, nothing_changed
) -> None:
    with refuses(EmptyDataset) as caught:
        await sut.execute(SelectDatasetRequest(actor=trainer, folder="hidden", positive=True))

    assert "hidden" in str(caught.value)
    nothing_changed()


async def test_a_folder_over_the_file_limit_is_refused_and_changes_nothing(
    workspace: InMemoryWorkspace,
    datasets: InMemoryDatasetStore,
    trainer: Actor,
    refuses,
    nothing_changed,
) -> None:
    sut = SelectDataset(workspace=workspace, datasets=datasets, limits=Limits(max_dataset_files=2))

    with refuses(InvalidArgument):
        await sut.execute(SelectDatasetRequest(actor=trainer, folder="data/reviews", positive=True))

    nothing_changed()
