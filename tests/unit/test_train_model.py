"""TrainModel: a dataset → a validation report → a job with the chosen trainer → the job recorded."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from records_support import correction

from trainerbot.adapters.memory import (
    InMemoryCorrectionStore,
    InMemoryDatasetStore,
    InMemoryJobStore,
    InMemoryModelRegistry,
    InMemoryModelTrainer,
    InMemoryWorkspace,
)
from trainerbot.adapters.tokens import TiktokenTokenCounter
from trainerbot.core import reports
from trainerbot.core.dataset_sources import Upload
from trainerbot.core.datasets import ValidationReport
from trainerbot.core.entities import (
    NEGATIVE,
    POSITIVE,
    Actor,
    ChatMessage,
    Correction,
    Dataset,
    Example,
    JobStatus,
    Role,
    Task,
    TrainingJob,
    TrainingSpec,
)
from trainerbot.core.errors import (
    DatasetError,
    DatasetInvalid,
    FileTooLarge,
    InvalidArgument,
    PathOutsideWorkspace,
    PermissionDenied,
    ServiceError,
    UnknownDataset,
    UnknownTrainer,
    WorkspaceFileNotFound,
)
from trainerbot.core.limits import Limits
from trainerbot.core.tokens import BillingEstimate, TrainingTokens
from trainerbot.core.train_model import TrainModel, TrainRequest


def chat_line(number: int) -> str:
    return json.dumps(
        {
            "messages": [
                {"role": "user", "content": f"q{number}"},
                {"role": "assistant", "content": f"a{number}"},
            ]
        }
    )


def chat_jsonl(count: int = 20, start: int = 1) -> str:
    return "\n".join(chat_line(number) for number in range(start, start + count))


def documents(count: int = 20) -> str:
    return "\n".join(f"review number {number}" for number in range(1, count + 1))


def labelled_jsonl(count: int = 20) -> str:
    return "\n".join(
        json.dumps({"text": f"text {n}", "label": POSITIVE if n % 2 else NEGATIVE})
        for n in range(1, count + 1)
    )


WORKSPACE_FILES = {
    "chats/data.jsonl": chat_jsonl().encode(),
    **{f"reviews/r{n:02}.txt": f"review number {n}".encode() for n in range(1, 21)},
    "notes.txt": b"a file, not a folder",
}


@pytest.fixture
def workspace() -> InMemoryWorkspace:
    return InMemoryWorkspace(files=WORKSPACE_FILES)


@pytest.fixture
def fewshot() -> InMemoryModelTrainer:
    """A trainer that finishes at once, as the few-shot trainer does."""
    return InMemoryModelTrainer("fewshot", immediate=True)


def make_sut(
    model_trainer: InMemoryModelTrainer,
    fewshot: InMemoryModelTrainer,
    datasets: InMemoryDatasetStore,
    corrections: InMemoryCorrectionStore,
    jobs: InMemoryJobStore,
    models: InMemoryModelRegistry,
    workspace: InMemoryWorkspace,
    limits: Limits | None = None,
) -> TrainModel:
    return TrainModel(
        trainers={"memory": model_trainer, "fewshot": fewshot},
        default_trainer="memory",
        datasets=datasets,
        corrections=corrections,
        jobs=jobs,
        models=models,
        workspace=workspace,
        limits=limits or Limits(),
    )


@pytest.fixture
def sut(
    model_trainer: InMemoryModelTrainer,
    fewshot: InMemoryModelTrainer,
    datasets: InMemoryDatasetStore,
    corrections: InMemoryCorrectionStore,
    jobs: InMemoryJobStore,
    models: InMemoryModelRegistry,
    workspace: InMemoryWorkspace,
) -> TrainModel:
    return make_sut(model_trainer, fewshot, datasets, corrections, jobs, models, workspace)


@pytest.fixture
def nothing_recorded(
    model_trainer: InMemoryModelTrainer,
    fewshot: InMemoryModelTrainer,
    datasets: InMemoryDatasetStore,
    jobs: InMemoryJobStore,
    models: InMemoryModelRegistry,
):
    """A check that nothing was uploaded, saved, recorded or registered."""

    def check() -> None:
        assert model_trainer.started == []
        assert fewshot.started == []
        assert datasets.versions == []
        assert jobs.history == []
        assert models.registered == []

    return check


# --- a job is started and recorded -----------------------------------------------------------


async def test_inline_chat_data_starts_a_job_with_the_default_trainer_and_records_it(
    sut: TrainModel,
    model_trainer: InMemoryModelTrainer,
    datasets: InMemoryDatasetStore,
    jobs: InMemoryJobStore,
    models: InMemoryModelRegistry,
    trainer: Actor,
) -> None:
    result = await sut.execute(TrainRequest(actor=trainer, data=chat_jsonl()))

    assert result.dataset.name == "inline"
    assert result.dataset.task is Task.CHAT
    assert len(result.dataset.examples) == 20
    assert datasets.versions == [result.dataset]
    assert await jobs.all() == [result.job]
    assert len(model_trainer.started) == 1
    job = result.job
    assert job.id.startswith("job-")
    assert job.trainer == "memory"
    assert job.status is JobStatus.QUEUED
    assert job.provider_job_id == f"prov-{job.id}"
    assert job.dataset_name == "inline"
    assert job.dataset_version == result.dataset.version
    assert job.requested_by == trainer.id
    assert models.registered == []


async def test_the_test_split_is_held_out_of_training_and_handed_over_as_validation(
    sut: TrainModel, model_trainer: InMemoryModelTrainer, trainer: Actor
) -> None:
    result = await sut.execute(TrainRequest(actor=trainer, data=chat_jsonl()))

    spec = model_trainer.started[0]
    train, test = result.dataset.split()
    assert spec.dataset == train
    assert spec.validation == test
    assert test.examples, "20 examples give a non-empty test side"
    trained = {e.user_text for e in spec.dataset.examples}
    held_out = {e.user_text for e in spec.validation.examples}
    assert trained.isdisjoint(held_out)
    assert trained | held_out == {f"q{n}" for n in range(1, 21)}
    assert result.job.example_count == len(train.examples)
    assert (result.report.train_count, result.report.test_count) == (
        len(train.examples),
        len(test.examples),
    )


async def test_the_split_is_the_same_every_time_for_the_same_data(
    sut: TrainModel, model_trainer: InMemoryModelTrainer, trainer: Actor
) -> None:
    first = await sut.execute(TrainRequest(actor=trainer, data=chat_jsonl()))
    second = await sut.execute(TrainRequest(actor=trainer, data=chat_jsonl()))

    assert first.dataset.version == second.dataset.version
    assert model_trainer.started[0].validation == model_trainer.started[1].validation


async def test_adding_data_never_moves_a_test_example_into_training(
    sut: TrainModel, model_trainer: InMemoryModelTrainer, trainer: Actor
) -> None:
    await sut.execute(TrainRequest(actor=trainer, data=chat_jsonl(20)))
    await sut.execute(TrainRequest(actor=trainer, data=chat_jsonl(40)))

    small, large = model_trainer.started
    assert small.validation is not None
    assert large.validation is not None
    assert set(small.validation.examples) <= set(large.validation.examples)


async def test_the_trainer_is_told_the_dataset_version_and_the_job(
    sut: TrainModel, model_trainer: InMemoryModelTrainer, trainer: Actor
) -> None:
    result = await sut.execute(
        TrainRequest(actor=trainer, data=chat_jsonl(), name="a-rather-long-dataset-name")
    )

    spec = model_trainer.started[0]
    assert dict(spec.metadata) == {
        "dataset": "a-rather-long-dataset-name",
        "dataset_version": result.dataset.version,
        "job": result.job.id,
    }
    assert spec.suffix == "a-rather-long-data"


async def test_the_report_of_valid_data_says_so(sut: TrainModel, trainer: Actor) -> None:
    result = await sut.execute(TrainRequest(actor=trainer, data=chat_jsonl()))

    assert isinstance(result.report, ValidationReport)
    assert result.report.is_valid
    assert result.report.problems == ()
    assert result.report.example_count == 20
    assert result.report.dataset_version == result.dataset.version


async def test_exact_duplicates_are_removed_and_counted(
    sut: TrainModel, model_trainer: InMemoryModelTrainer, trainer: Actor
) -> None:
    data = chat_jsonl() + "\n" + chat_line(1) + "\n" + chat_line(2)

    result = await sut.execute(TrainRequest(actor=trainer, data=data))

    assert len(result.dataset.examples) == 20
    assert result.report.duplicates == 2
    spec = model_trainer.started[0]
    assert len(spec.dataset.examples) + len(spec.validation.examples) == 20


# --- choosing the trainer --------------------------------------------------------------------


@pytest.mark.parametrize("method", ["fewshot", " FewShot "])
async def test_method_chooses_the_trainer(
    sut: TrainModel,
    model_trainer: InMemoryModelTrainer,
    fewshot: InMemoryModelTrainer,
    trainer: Actor,
    method: str,
) -> None:
    result = await sut.execute(TrainRequest(actor=trainer, data=chat_jsonl(), method=method))

    assert result.job.trainer == "fewshot"
    assert len(fewshot.started) == 1
    assert model_trainer.started == []


async def test_a_job_that_finishes_at_once_registers_its_model(
    sut: TrainModel, jobs: InMemoryJobStore, models: InMemoryModelRegistry, trainer: Actor
) -> None:
    result = await sut.execute(TrainRequest(actor=trainer, data=chat_jsonl(), method="fewshot"))

    assert result.job.status is JobStatus.SUCCEEDED
    assert await jobs.all() == [result.job]
    assert [(m.id, m.trainer, m.job_id, m.dataset_version) for m in models.registered] == [
        (f"fewshot:{result.job.id}", "fewshot", result.job.id, result.dataset.version)
    ]
    assert models.activations == [], "training does not switch the active model"


async def test_refuses_an_unknown_trainer_naming_the_known_ones_and_records_nothing(
    sut: TrainModel, trainer: Actor, refuses, nothing_recorded
) -> None:
    with refuses(UnknownTrainer) as caught:
        await sut.execute(TrainRequest(actor=trainer, data=chat_jsonl(), method="openai"))

    assert "openai" in str(caught.value)
    assert "fewshot, memory" in str(caught.value)
    nothing_recorded()


async def test_a_trainer_that_refuses_to_start_is_recorded_as_failed_with_its_reason(
    sut: TrainModel,
    model_trainer: InMemoryModelTrainer,
    jobs: InMemoryJobStore,
    trainer: Actor,
    refuses,
) -> None:
    model_trainer.fail_with = ServiceError("Fine-tuning is not available to this organisation.")

    with refuses(ServiceError):
        await sut.execute(TrainRequest(actor=trainer, data=chat_jsonl()))

    first, last = jobs.history
    assert first.id == last.id
    assert first.status is JobStatus.VALIDATING
    assert last.status is JobStatus.FAILED
    assert last.error == "Fine-tuning is not available to this organisation."


async def test_the_job_is_recorded_before_the_trainer_starts(
    datasets: InMemoryDatasetStore,
    corrections: InMemoryCorrectionStore,
    jobs: InMemoryJobStore,
    models: InMemoryModelRegistry,
    workspace: InMemoryWorkspace,
    trainer: Actor,
) -> None:
    seen_by_trainer: list[list[TrainingJob]] = []

    class Watching(InMemoryModelTrainer):
        async def start(self, spec: TrainingSpec, *, job: TrainingJob) -> TrainingJob:
            seen_by_trainer.append(await jobs.all())  # what a crash right now would leave
            return await super().start(spec, job=job)

    sut = make_sut(
        Watching("memory"),
        InMemoryModelTrainer("fewshot"),
        datasets,
        corrections,
        jobs,
        models,
        workspace,
    )
    result = await sut.execute(TrainRequest(actor=trainer, data=chat_jsonl()))

    [[recorded]] = seen_by_trainer
    assert recorded.id == result.job.id
    assert recorded.status is JobStatus.VALIDATING
    assert await datasets.get(result.dataset.name) == result.dataset


# --- who may train ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"data": chat_jsonl()}, id="inline"),
        pytest.param({"data_dir": "chats"}, id="folder"),
        pytest.param({"attachment": Upload("data.jsonl", chat_jsonl().encode())}, id="attachment"),
        pytest.param({"include_corrections": True}, id="corrections"),
        pytest.param({}, id="selected"),
        pytest.param({"data": "x", "data_dir": "../etc", "method": "nope"}, id="invalid-too"),
    ],
)
async def test_refuses_a_member_without_the_trainer_role_and_records_nothing(
    sut: TrainModel, member: Actor, refuses, nothing_recorded, changes: dict[str, object]
) -> None:
    with refuses(PermissionDenied):
        await sut.execute(TrainRequest(actor=member, **changes))  # type: ignore[arg-type]

    nothing_recorded()


# --- where the data comes from ---------------------------------------------------------------


async def test_trains_on_a_workspace_folder_named_after_it(
    sut: TrainModel, datasets: InMemoryDatasetStore, trainer: Actor
) -> None:
    result = await sut.execute(TrainRequest(actor=trainer, data_dir="./chats"))

    assert result.dataset.name == "chats"
    assert result.dataset.task is Task.CHAT
    assert len(result.dataset.examples) == 20
    assert [d.name for d in datasets.versions] == ["chats"]


async def test_a_folder_typed_with_a_trailing_slash_is_still_named_after_the_folder(
    sut: TrainModel, trainer: Actor
) -> None:
    result = await sut.execute(TrainRequest(actor=trainer, data_dir="chats/"))

    assert result.dataset.name == "chats"


async def test_trains_on_an_attachment_named_after_its_file(
    sut: TrainModel, datasets: InMemoryDatasetStore, trainer: Actor
) -> None:
    upload = Upload("My reviews.jsonl", chat_jsonl().encode())

    result = await sut.execute(TrainRequest(actor=trainer, attachment=upload))

    assert result.dataset.name == "My-reviews"
    assert len(result.dataset.examples) == 20
    assert [d.name for d in datasets.versions] == ["My-reviews"]


async def test_a_single_workspace_file_is_read_as_data_dir(
    sut: TrainModel, model_trainer: InMemoryModelTrainer, trainer: Actor
) -> None:
    result = await sut.execute(TrainRequest(actor=trainer, data_dir="chats/data.jsonl"))

    assert result.dataset.name == "data"
    assert len(result.dataset.examples) == 20
    assert len(model_trainer.started) == 1


async def test_a_given_name_names_the_dataset(sut: TrainModel, trainer: Actor) -> None:
    result = await sut.execute(TrainRequest(actor=trainer, data_dir="chats", name="support bot"))

    assert result.dataset.name == "support-bot"
    assert result.job.dataset_name == "support-bot"


async def test_corrections_alone_become_the_dataset_with_their_preference_pairs(
    sut: TrainModel,
    model_trainer: InMemoryModelTrainer,
    corrections: InMemoryCorrectionStore,
    trainer: Actor,
) -> None:
    for number in range(1, 21):
        await corrections.add(correction(number))

    result = await sut.execute(TrainRequest(actor=trainer, include_corrections=True))

    assert result.dataset.name == "corrections"
    assert result.dataset.task is Task.CHAT
    assert set(result.dataset.examples) == {correction(n).example() for n in range(1, 21)}
    example = next(e for e in result.dataset.examples if e.origin == "correction cor-1")
    # "question 1" stands on its own: the greeting before it is left out.
    assert example.prompt == (ChatMessage(Role.USER, "question 1"),)
    assert (example.completion, example.rejected) == ("right 1", "wrong 1")
    spec = model_trainer.started[0]
    assert len(spec.dataset.examples) == 20
    assert spec.validation is None


async def test_a_single_correction_the_split_would_hold_out_still_trains(
    sut: TrainModel,
    model_trainer: InMemoryModelTrainer,
    corrections: InMemoryCorrectionStore,
    trainer: Actor,
) -> None:
    # With holdout=true, this question's hash puts it in the held-out share (next to one that
    # trains, it is tested), which alone would leave nothing to train on.
    held_out = replace(correction(1), prompt="Who painted the Mona Lisa?")
    trains = replace(correction(2), prompt="What is the capital of Australia?")
    pair = Dataset(
        "c", Task.CHAT, (held_out.example(), trains.example()), hold_out_corrections=True
    )
    assert pair.split()[1].examples == (held_out.example(),)
    await corrections.add(held_out)

    result = await sut.execute(TrainRequest(actor=trainer, include_corrections=True, holdout=True))

    [spec] = model_trainer.started
    assert spec.dataset.examples == (held_out.example(),)
    assert spec.validation is None
    assert result.job.example_count == 1


def twelve_corrections() -> list[Correction]:
    """Twelve corrections of one-line facts, each asked after a long conversation."""
    history = tuple(
        ChatMessage(role, f"{role.value} turn {n}: " + "small talk " * 40)
        for n in range(6)
        for role in (Role.USER, Role.ASSISTANT)
    )
    return [
        replace(correction(n), prompt=f"What is fact number {n} of our club?", history=history)
        for n in range(1, 13)
    ]


async def test_every_correction_trains_and_the_report_says_none_is_held_out(
    sut: TrainModel,
    model_trainer: InMemoryModelTrainer,
    corrections: InMemoryCorrectionStore,
    trainer: Actor,
) -> None:
    taught = twelve_corrections()
    for item in taught:
        await corrections.add(item)
    examples = tuple(item.example() for item in taught)
    # Split like any other data, some of them would be held out.
    assert Dataset("c", Task.CHAT, examples, hold_out_corrections=True).split()[1].examples

    result = await sut.execute(TrainRequest(actor=trainer, include_corrections=True))

    [spec] = model_trainer.started
    assert set(spec.dataset.examples) == set(examples)
    assert spec.validation is None
    assert result.job.example_count == 12
    assert (result.report.train_count, result.report.test_count) == (12, 0)
    note = "All 12 corrections train; none held out (holdout=true holds some out for testing)"
    assert note in result.report.details()
    assert f"  {note}" in reports.train_result(result).splitlines()
    assert not any("no test examples" in line for line in result.report.details())


async def test_holdout_holds_some_corrections_out_for_testing_and_the_report_says_so(
    sut: TrainModel,
    model_trainer: InMemoryModelTrainer,
    corrections: InMemoryCorrectionStore,
    trainer: Actor,
) -> None:
    for item in twelve_corrections():
        await corrections.add(item)

    result = await sut.execute(TrainRequest(actor=trainer, include_corrections=True, holdout=True))

    [spec] = model_trainer.started
    assert spec.validation is not None
    held_out = len(spec.validation.examples)
    assert 0 < held_out < 12
    assert len(spec.dataset.examples) == 12 - held_out
    assert all(e.from_correction for e in spec.validation.examples)
    assert result.report.corrections_held_out == held_out
    assert (
        f"{held_out} of 12 corrections held out for testing (holdout=true); the rest train"
        in result.report.details()
    )


async def test_corrections_added_to_file_data_all_train_while_the_file_is_split(
    sut: TrainModel,
    model_trainer: InMemoryModelTrainer,
    corrections: InMemoryCorrectionStore,
    trainer: Actor,
) -> None:
    taught = twelve_corrections()
    for item in taught:
        await corrections.add(item)
    file_only = await sut.execute(TrainRequest(actor=trainer, data_dir="chats"))

    result = await sut.execute(
        TrainRequest(actor=trainer, data_dir="chats", include_corrections=True)
    )

    spec = model_trainer.started[-1]
    assert {item.example() for item in taught} <= set(spec.dataset.examples)
    assert spec.validation is not None
    # The file's examples are split as they are without corrections.
    assert spec.validation.examples == model_trainer.started[0].validation.examples
    assert (result.report.train_count, result.report.test_count) == (
        file_only.report.train_count + 12,
        file_only.report.test_count,
    )
    assert "All 12 corrections train; none held out (holdout=true holds some out for testing)" in (
        result.report.details()
    )


async def test_a_file_example_asking_what_a_correction_asks_trains_with_it(
    sut: TrainModel,
    model_trainer: InMemoryModelTrainer,
    corrections: InMemoryCorrectionStore,
    trainer: Actor,
) -> None:
    await sut.execute(TrainRequest(actor=trainer, data=chat_jsonl()))
    tested = model_trainer.started[0].validation.examples[0].user_text
    await corrections.add(replace(correction(1), prompt=tested.upper()))

    await sut.execute(TrainRequest(actor=trainer, data=chat_jsonl(), include_corrections=True))

    spec = model_trainer.started[-1]
    assert tested in {e.user_text for e in spec.dataset.examples}
    assert tested not in {e.user_text for e in spec.validation.examples}


async def test_corrections_are_added_to_the_given_data(
    sut: TrainModel, corrections: InMemoryCorrectionStore, trainer: Actor
) -> None:
    await corrections.add(correction(1))
    await corrections.add(correction(2))

    result = await sut.execute(
        TrainRequest(actor=trainer, data=chat_jsonl(), include_corrections=True)
    )

    assert result.dataset.name == "inline"
    assert len(result.dataset.examples) == 22
    assert correction(1).example() in result.dataset.examples


async def test_refuses_to_mix_corrections_into_labelled_data_and_records_nothing(
    sut: TrainModel,
    corrections: InMemoryCorrectionStore,
    trainer: Actor,
    refuses,
    nothing_recorded,
) -> None:
    await corrections.add(correction(1))

    with refuses(DatasetInvalid):
        await sut.execute(
            TrainRequest(actor=trainer, data=documents(), positive=True, include_corrections=True)
        )

    nothing_recorded()


async def test_without_data_the_selected_dataset_is_trained_on(
    sut: TrainModel,
    model_trainer: InMemoryModelTrainer,
    datasets: InMemoryDatasetStore,
    jobs: InMemoryJobStore,
    trainer: Actor,
) -> None:
    examples = tuple(Example.single_turn(f"q{n}", f"a{n}") for n in range(1, 21))
    chosen = Dataset(name="support", task=Task.CHAT, examples=examples, source="support")
    await datasets.save(chosen)
    await datasets.select("support")

    result = await sut.execute(TrainRequest(actor=trainer))

    assert result.dataset == chosen
    assert result.job.dataset_name == "support"
    assert result.job.dataset_version == chosen.version
    assert model_trainer.started[0].dataset == chosen.split()[0]
    assert await jobs.all() == [result.job]


async def test_refuses_without_data_or_a_selected_dataset_and_records_nothing(
    sut: TrainModel, trainer: Actor, refuses, nothing_recorded
) -> None:
    with refuses(InvalidArgument) as caught:
        await sut.execute(TrainRequest(actor=trainer))

    assert "select_dataset" in str(caught.value)
    nothing_recorded()


async def test_refuses_when_the_selected_dataset_is_gone_and_records_nothing(
    sut: TrainModel, datasets: InMemoryDatasetStore, trainer: Actor, refuses, nothing_recorded
) -> None:
    datasets.selected_name = "vanished"

    with refuses(UnknownDataset) as caught:
        await sut.execute(TrainRequest(actor=trainer))

    assert "vanished" in str(caught.value)
    nothing_recorded()


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"data": chat_jsonl(), "data_dir": "chats"}, id="inline-and-folder"),
        pytest.param(
            {"data": chat_jsonl(), "attachment": Upload("a.jsonl", b"{}")}, id="inline-and-file"
        ),
        pytest.param(
            {"data_dir": "chats", "attachment": Upload("a.jsonl", b"{}")}, id="folder-and-file"
        ),
    ],
)
async def test_refuses_more_than_one_source_of_data_and_records_nothing(
    sut: TrainModel, trainer: Actor, refuses, nothing_recorded, changes: dict[str, object]
) -> None:
    with refuses(InvalidArgument):
        await sut.execute(TrainRequest(actor=trainer, **changes))  # type: ignore[arg-type]

    nothing_recorded()


@pytest.mark.parametrize("data", ["", "  \n\t "])
async def test_refuses_empty_inline_data_and_records_nothing(
    sut: TrainModel, trainer: Actor, refuses, nothing_recorded, data: str
) -> None:
    with refuses(InvalidArgument):
        await sut.execute(TrainRequest(actor=trainer, data=data))

    nothing_recorded()


async def test_refuses_an_attachment_over_the_upload_limit_and_records_nothing(
    model_trainer: InMemoryModelTrainer,
    fewshot: InMemoryModelTrainer,
    datasets: InMemoryDatasetStore,
    corrections: InMemoryCorrectionStore,
    jobs: InMemoryJobStore,
    models: InMemoryModelRegistry,
    workspace: InMemoryWorkspace,
    trainer: Actor,
    refuses,
    nothing_recorded,
) -> None:
    sut = make_sut(
        model_trainer,
        fewshot,
        datasets,
        corrections,
        jobs,
        models,
        workspace,
        Limits(max_upload_bytes=100),
    )

    with refuses(FileTooLarge) as caught:
        await sut.execute(TrainRequest(actor=trainer, attachment=Upload("big.jsonl", b"x" * 101)))

    assert "big.jsonl" in str(caught.value)
    nothing_recorded()


async def test_refuses_an_attachment_that_is_not_utf8_text_and_records_nothing(
    sut: TrainModel, trainer: Actor, refuses, nothing_recorded
) -> None:
    upload = Upload("reviews.txt", "отличный товар".encode("cp1251"))

    with refuses(DatasetError):
        await sut.execute(TrainRequest(actor=trainer, attachment=upload, positive=True))

    nothing_recorded()


@pytest.mark.parametrize(
    ("folder", "error"),
    [
        pytest.param("../outside", PathOutsideWorkspace, id="outside"),
        pytest.param("/etc", PathOutsideWorkspace, id="absolute"),
        pytest.param("missing", WorkspaceFileNotFound, id="missing"),
    ],
)
async def test_refuses_a_folder_that_is_not_in_the_workspace_and_records_nothing(
    sut: TrainModel,
    trainer: Actor,
    refuses,
    nothing_recorded,
    folder: str,
    error: type[Exception],
) -> None:
    with refuses(error):
        await sut.execute(TrainRequest(actor=trainer, data_dir=folder))

    nothing_recorded()


async def test_refuses_a_folder_with_more_files_than_the_limit_and_records_nothing(
    model_trainer: InMemoryModelTrainer,
    fewshot: InMemoryModelTrainer,
    datasets: InMemoryDatasetStore,
    corrections: InMemoryCorrectionStore,
    jobs: InMemoryJobStore,
    models: InMemoryModelRegistry,
    workspace: InMemoryWorkspace,
    trainer: Actor,
    refuses,
    nothing_recorded,
) -> None:
    sut = make_sut(
        model_trainer,
        fewshot,
        datasets,
        corrections,
        jobs,
        models,
        workspace,
        Limits(max_dataset_files=19),
    )

    with refuses(InvalidArgument) as caught:
        await sut.execute(TrainRequest(actor=trainer, data_dir="reviews", positive=True))

    assert "20" in str(caught.value)
    assert "19" in str(caught.value)
    nothing_recorded()


async def test_refuses_a_folder_over_the_size_limit_and_records_nothing(
    model_trainer: InMemoryModelTrainer,
    fewshot: InMemoryModelTrainer,
    datasets: InMemoryDatasetStore,
    corrections: InMemoryCorrectionStore,
    jobs: InMemoryJobStore,
    models: InMemoryModelRegistry,
    workspace: InMemoryWorkspace,
    trainer: Actor,
    refuses,
    nothing_recorded,
) -> None:
    sut = make_sut(
        model_trainer,
        fewshot,
        datasets,
        corrections,
        jobs,
        models,
        workspace,
        Limits(max_upload_bytes=100),
    )

    with refuses(FileTooLarge):
        await sut.execute(TrainRequest(actor=trainer, data_dir="chats"))

    nothing_recorded()


# --- the positive flag -----------------------------------------------------------------------


@pytest.mark.parametrize(("positive", "label"), [(True, POSITIVE), (False, NEGATIVE)])
async def test_positive_labels_every_plain_document_of_a_folder(
    sut: TrainModel, trainer: Actor, refuses, positive: bool, label: str
) -> None:
    # One folder of documents holds one label, which a classifier cannot learn from: the refusal's
    # report shows how the documents were labelled.
    with refuses(DatasetInvalid) as caught:
        await sut.execute(TrainRequest(actor=trainer, data_dir="reviews", positive=positive))

    report = caught.value.report
    assert isinstance(report, ValidationReport)
    assert report.task is Task.CLASSIFICATION
    assert report.example_count == 20
    assert report.labels == (label,)
    assert report.problems == ()


async def test_labelled_data_with_two_labels_trains_a_classifier(
    sut: TrainModel, model_trainer: InMemoryModelTrainer, trainer: Actor
) -> None:
    result = await sut.execute(TrainRequest(actor=trainer, data=labelled_jsonl()))

    assert result.dataset.task is Task.CLASSIFICATION
    assert result.dataset.labels == (NEGATIVE, POSITIVE)
    assert result.report.labels == (NEGATIVE, POSITIVE)
    assert len(model_trainer.started) == 1


@pytest.mark.parametrize(("positive", "wanted"), [(None, True), (True, True), (False, False)])
async def test_positive_marks_chat_examples_wanted_or_unwanted(
    sut: TrainModel, trainer: Actor, positive: bool | None, wanted: bool
) -> None:
    result = await sut.execute(TrainRequest(actor=trainer, data=chat_jsonl(), positive=positive))

    assert {e.wanted for e in result.dataset.examples} == {wanted}


# --- validation comes first ------------------------------------------------------------------


async def test_a_bad_line_refuses_the_data_with_a_report_naming_the_line_and_records_nothing(
    sut: TrainModel, trainer: Actor, refuses, nothing_recorded
) -> None:
    lines = chat_jsonl().split("\n")
    lines[4] = '{"messages": [{"role": "user", "content": "q5"}'  # line 5: broken JSON
    lines[9] = json.dumps({"messages": [{"role": "robot", "content": "beep"}]})  # line 10

    with refuses(DatasetInvalid) as caught:
        await sut.execute(TrainRequest(actor=trainer, data="\n".join(lines)))

    report = caught.value.report
    assert isinstance(report, ValidationReport)
    assert not report.is_valid
    assert {problem.line for problem in report.problems} == {5, 10}
    assert str(caught.value) == report.summary()
    nothing_recorded()


async def test_unlabelled_plain_text_is_refused_with_a_report_and_records_nothing(
    sut: TrainModel, trainer: Actor, refuses, nothing_recorded
) -> None:
    with refuses(DatasetInvalid) as caught:
        await sut.execute(TrainRequest(actor=trainer, data=documents()))

    report = caught.value.report
    assert isinstance(report, ValidationReport)
    assert "positive=true or positive=false" in " ".join(str(p) for p in report.problems)
    nothing_recorded()


async def test_a_classification_set_with_one_label_is_refused_and_records_nothing(
    sut: TrainModel, trainer: Actor, refuses, nothing_recorded
) -> None:
    with refuses(DatasetInvalid) as caught:
        await sut.execute(TrainRequest(actor=trainer, data=documents(), positive=True))

    report = caught.value.report
    assert isinstance(report, ValidationReport)
    assert report.one_label
    assert report.labels == (POSITIVE,)
    nothing_recorded()


async def test_fewer_examples_than_the_trainer_needs_is_refused_and_records_nothing(
    datasets: InMemoryDatasetStore,
    corrections: InMemoryCorrectionStore,
    jobs: InMemoryJobStore,
    models: InMemoryModelRegistry,
    workspace: InMemoryWorkspace,
    trainer: Actor,
    refuses,
) -> None:
    picky = InMemoryModelTrainer("memory", min_examples=10)
    sut = make_sut(
        picky, InMemoryModelTrainer("fewshot"), datasets, corrections, jobs, models, workspace
    )

    with refuses(DatasetInvalid) as caught:
        await sut.execute(TrainRequest(actor=trainer, data=chat_jsonl(9)))

    report = caught.value.report
    assert isinstance(report, ValidationReport)
    assert (report.too_few, report.example_count, report.min_examples) == (True, 9, 10)
    assert picky.started == []
    assert datasets.versions == []
    assert jobs.history == []


async def test_a_training_part_of_exactly_as_many_examples_as_the_trainer_needs_is_accepted(
    datasets: InMemoryDatasetStore,
    corrections: InMemoryCorrectionStore,
    jobs: InMemoryJobStore,
    models: InMemoryModelRegistry,
    workspace: InMemoryWorkspace,
    trainer: Actor,
) -> None:
    picky = InMemoryModelTrainer("memory", min_examples=10)
    sut = make_sut(
        picky, InMemoryModelTrainer("fewshot"), datasets, corrections, jobs, models, workspace
    )

    # 13 examples: the split holds 3 out for testing and trains on 10.
    result = await sut.execute(TrainRequest(actor=trainer, data=chat_jsonl(13)))

    assert len(picky.started[0].dataset.examples) == 10
    assert result.job.example_count == 10
    assert len(await jobs.all()) == 1


async def test_refuses_data_whose_training_part_is_smaller_than_the_trainer_needs(
    datasets: InMemoryDatasetStore,
    corrections: InMemoryCorrectionStore,
    jobs: InMemoryJobStore,
    models: InMemoryModelRegistry,
    workspace: InMemoryWorkspace,
    trainer: Actor,
    refuses,
) -> None:
    picky = InMemoryModelTrainer("memory", min_examples=10)
    sut = make_sut(
        picky, InMemoryModelTrainer("fewshot"), datasets, corrections, jobs, models, workspace
    )

    # 10 examples: the split holds 3 out for testing and would train on 7.
    with refuses(DatasetInvalid):
        await sut.execute(TrainRequest(actor=trainer, data=chat_jsonl(10)))

    assert picky.started == []
    assert datasets.versions == []
    assert jobs.history == []


async def test_corrections_alone_with_none_recorded_are_refused_and_record_nothing(
    sut: TrainModel, trainer: Actor, refuses, nothing_recorded
) -> None:
    with refuses(DatasetInvalid) as caught:
        await sut.execute(TrainRequest(actor=trainer, include_corrections=True))

    assert caught.value.report.example_count == 0
    nothing_recorded()


async def test_a_folder_with_a_bad_file_is_refused_with_the_file_named(
    model_trainer: InMemoryModelTrainer,
    fewshot: InMemoryModelTrainer,
    datasets: InMemoryDatasetStore,
    corrections: InMemoryCorrectionStore,
    jobs: InMemoryJobStore,
    models: InMemoryModelRegistry,
    trainer: Actor,
    refuses,
    nothing_recorded,
) -> None:
    workspace = InMemoryWorkspace(
        files={"chats/good.jsonl": chat_jsonl().encode(), "chats/bad.jsonl": b"{not json\n"}
    )
    sut = make_sut(model_trainer, fewshot, datasets, corrections, jobs, models, workspace)

    with refuses(DatasetInvalid) as caught:
        await sut.execute(TrainRequest(actor=trainer, data_dir="chats"))

    problems = caught.value.report.problems
    assert [(p.source, p.line) for p in problems] == [("bad.jsonl", 1)]
    nothing_recorded()


# --- tokens: the trainer's limit and bill ----------------------------------------------------


@pytest.fixture(scope="module")
def counter() -> TiktokenTokenCounter:
    return TiktokenTokenCounter()


def counted_sut(
    trainer: InMemoryModelTrainer,
    counter: TiktokenTokenCounter,
    workspace: InMemoryWorkspace,
    jobs: InMemoryJobStore,
    datasets: InMemoryDatasetStore,
) -> TrainModel:
    return TrainModel(
        trainers={trainer.name: trainer},
        default_trainer=trainer.name,
        datasets=datasets,
        corrections=InMemoryCorrectionStore(),
        jobs=jobs,
        models=InMemoryModelRegistry(),
        workspace=workspace,
        tokens=counter,
    )


async def test_an_example_over_the_trainers_token_limit_stops_training_naming_its_line(
    counter: TiktokenTokenCounter,
    workspace: InMemoryWorkspace,
    jobs: InMemoryJobStore,
    datasets: InMemoryDatasetStore,
    trainer: Actor,
    nothing_recorded,
) -> None:
    limited = InMemoryModelTrainer("limited", max_example_tokens=50)
    sut = counted_sut(limited, counter, workspace, jobs, datasets)
    long_line = json.dumps({"prompt": " ".join(["word"] * 60), "completion": "ok"})
    data = "\n".join([chat_line(1), long_line, chat_line(3)])

    with pytest.raises(DatasetInvalid) as raised:
        await sut.execute(TrainRequest(actor=trainer, data=data))

    report = raised.value.report
    assert report is not None
    # The cookbook's count: 3 to prime the reply, and per message 3 + its role (1) + its content
    # (60 words: 60 tokens; "ok": 1).
    assert [(p.line, p.message) for p in report.problems] == [
        (2, "72 tokens, over the 50-token limit")
    ]
    assert limited.started == []
    nothing_recorded()


class BillingTrainer(InMemoryModelTrainer):
    """Bills by the token, two epochs whatever the size: records what it was asked to estimate."""

    def __init__(self, name: str, **options: Any) -> None:
        super().__init__(name, **options)
        self.asked: list[TrainingTokens] = []

    def estimate(self, training: TrainingTokens) -> BillingEstimate | None:
        self.asked.append(training)
        return BillingEstimate(epochs=2, training_tokens=training.tokens)


async def test_a_trainer_that_bills_by_the_token_gets_its_cost_estimate_in_the_report(
    counter: TiktokenTokenCounter,
    workspace: InMemoryWorkspace,
    jobs: InMemoryJobStore,
    datasets: InMemoryDatasetStore,
    trainer: Actor,
) -> None:
    billed = BillingTrainer("billed", max_example_tokens=65_536)
    sut = counted_sut(billed, counter, workspace, jobs, datasets)

    result = await sut.execute(TrainRequest(actor=trainer, data=chat_jsonl(20)))

    report = result.report
    assert report.tokens is not None
    assert report.tokens.encoding == "cl100k_base"
    assert report.tokens.examples == 20
    # The trainer is asked once, about the training part only: its examples and their tokens.
    [training] = billed.asked
    assert training.examples == report.train_count == len(billed.started[0].dataset.examples)
    assert 0 < training.tokens < report.tokens.total
    assert report.billing == BillingEstimate(epochs=2, training_tokens=training.tokens)
    assert report.billing.describe() in report.details()
    assert f"≈ {2 * training.tokens:,} billed tokens" in report.billing.describe()


async def test_a_trainer_that_does_not_bill_gets_token_statistics_only(
    counter: TiktokenTokenCounter,
    workspace: InMemoryWorkspace,
    jobs: InMemoryJobStore,
    datasets: InMemoryDatasetStore,
    trainer: Actor,
) -> None:
    free = InMemoryModelTrainer("free")
    sut = counted_sut(free, counter, workspace, jobs, datasets)

    result = await sut.execute(TrainRequest(actor=trainer, data=chat_jsonl(20)))

    assert result.report.tokens is not None
    assert result.report.tokens.total > 0
    assert result.report.billing is None
