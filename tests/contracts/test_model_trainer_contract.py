"""The ModelTrainer contract, run against the in-memory trainer (queued and immediate) and the
fewshot trainer (a real index saved to a real artifact folder)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from contract_support import job

from trainerbot.adapters.learning import FewShotModelTrainer, FilesystemArtifactStore
from trainerbot.adapters.memory import InMemoryModelTrainer
from trainerbot.core.entities import (
    ChatMessage,
    Dataset,
    Example,
    JobStatus,
    Role,
    Task,
    TrainingJob,
    TrainingSpec,
)
from trainerbot.ports import ModelTrainer

FIRST_STATES = {JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.SUCCEEDED}


def _fewshot(tmp_path: Path) -> FewShotModelTrainer:
    return FewShotModelTrainer(FilesystemArtifactStore(tmp_path / "models"), base_model="base-chat")


IMPLEMENTATIONS: dict[str, Callable[[Path], ModelTrainer]] = {
    "memory": lambda tmp: InMemoryModelTrainer(),
    "memory-immediate": lambda tmp: InMemoryModelTrainer(immediate=True),
    "fewshot": _fewshot,
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def trainer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ModelTrainer]:
    sut = IMPLEMENTATIONS[request.param](tmp_path)
    yield sut
    close = getattr(sut, "close", None)
    if close is not None:
        close()


def dataset() -> Dataset:
    examples = tuple(
        Example(
            prompt=(ChatMessage(Role.USER, question),),
            completion=answer,
            origin=f"line {number}",
        )
        for number, (question, answer) in enumerate(
            [
                ("When do you open?", "At nine."),
                ("Where are you?", "On Main Street."),
                ("Do you deliver?", "Yes, within the city."),
            ],
            start=1,
        )
    )
    return Dataset(name="faq", task=Task.CHAT, examples=examples, source="faq.jsonl")


def new_job(trainer: ModelTrainer, data: Dataset) -> TrainingJob:
    return job(
        "job-0123456789ab",
        trainer=trainer.name,
        dataset_name=data.name,
        dataset_version=data.version,
        example_count=len(data.examples),
    )


def test_it_implements_the_port_and_describes_itself(trainer: ModelTrainer) -> None:
    assert isinstance(trainer, ModelTrainer)
    assert trainer.name
    assert trainer.name == trainer.name.strip()
    assert trainer.min_examples >= 1
    assert trainer.max_example_tokens is None or trainer.max_example_tokens > 0


async def test_preflight_takes_a_plain_chat_dataset(trainer: ModelTrainer) -> None:
    assert await trainer.preflight(dataset()) is None


async def test_start_returns_the_same_job_in_its_first_state(trainer: ModelTrainer) -> None:
    data = dataset()
    validating = new_job(trainer, data)

    started = await trainer.start(TrainingSpec(dataset=data), job=validating)

    assert (started.id, started.trainer, started.dataset_version, started.requested_by) == (
        validating.id,
        validating.trainer,
        validating.dataset_version,
        validating.requested_by,
    )
    assert started.status in FIRST_STATES
    if started.status is JobStatus.SUCCEEDED:
        assert started.model


async def test_refresh_of_a_started_job_is_a_state_of_the_same_job(trainer: ModelTrainer) -> None:
    data = dataset()
    started = await trainer.start(TrainingSpec(dataset=data), job=new_job(trainer, data))

    refreshed = await trainer.refresh(started)

    assert refreshed.id == started.id
    assert refreshed.status is not JobStatus.VALIDATING
    if started.status.is_final:
        assert refreshed.status is started.status
        assert refreshed.model == started.model
    if refreshed.status is JobStatus.SUCCEEDED:
        assert refreshed.model


@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED])
async def test_refresh_of_a_finished_job_keeps_it_as_it_finished(
    trainer: ModelTrainer, status: JobStatus
) -> None:
    finished = job("job-0123456789ab", status, trainer=trainer.name, model="some-model")

    refreshed = await trainer.refresh(finished)

    assert (refreshed.id, refreshed.status, refreshed.model) == (finished.id, status, "some-model")


async def test_cancel_of_an_unfinished_job_cancels_it(trainer: ModelTrainer) -> None:
    queued = job("job-0123456789ab", JobStatus.QUEUED, trainer=trainer.name)

    cancelled = await trainer.cancel(queued)

    assert (cancelled.id, cancelled.status) == (queued.id, JobStatus.CANCELLED)
