"""CancelJob: stop a training job that has not finished."""

from __future__ import annotations

import pytest

from trainerbot.adapters.memory import InMemoryJobStore, InMemoryModelTrainer
from trainerbot.core.cancel_job import CancelJob, CancelJobRequest
from trainerbot.core.entities import Actor, JobStatus, TrainingJob
from trainerbot.core.errors import (
    CapabilityUnavailable,
    InvalidArgument,
    JobNotCancellable,
    PermissionDenied,
    UnknownJob,
)


def job(status: JobStatus, trainer: str = "memory") -> TrainingJob:
    return TrainingJob(
        id="job-1",
        trainer=trainer,
        status=status,
        dataset_name="reviews",
        dataset_version="abc123def456",
        example_count=16,
        requested_by="u-trainer",
        provider_job_id="prov-job-1",
    )


@pytest.fixture
def sut(model_trainer: InMemoryModelTrainer, jobs: InMemoryJobStore) -> CancelJob:
    return CancelJob(trainers={"memory": model_trainer}, jobs=jobs)


@pytest.mark.parametrize("status", [JobStatus.VALIDATING, JobStatus.QUEUED, JobStatus.RUNNING])
async def test_a_job_that_has_not_finished_is_cancelled_at_the_provider_and_recorded(
    sut: CancelJob,
    model_trainer: InMemoryModelTrainer,
    jobs: InMemoryJobStore,
    trainer: Actor,
    status: JobStatus,
) -> None:
    pending = job(status)
    await jobs.save(pending)

    result = await sut.execute(CancelJobRequest(actor=trainer, job_id="job-1"))

    assert result.job.status is JobStatus.CANCELLED
    assert result.job.id == "job-1"
    assert model_trainer.cancelled == ["job-1"]
    assert jobs.history == [pending, result.job]
    latest = await jobs.get("job-1")
    assert latest is not None
    assert latest.status is JobStatus.CANCELLED


@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED])
async def test_refuses_a_finished_job_and_changes_nothing(
    sut: CancelJob,
    model_trainer: InMemoryModelTrainer,
    jobs: InMemoryJobStore,
    trainer: Actor,
    refuses,
    status: JobStatus,
) -> None:
    finished = job(status)
    await jobs.save(finished)

    with refuses(JobNotCancellable) as caught:
        await sut.execute(CancelJobRequest(actor=trainer, job_id="job-1"))

    assert status.value in str(caught.value)
    assert model_trainer.cancelled == []
    assert jobs.history == [finished]


async def test_refuses_a_job_whose_trainer_is_not_configured_and_changes_nothing(
    sut: CancelJob,
    model_trainer: InMemoryModelTrainer,
    jobs: InMemoryJobStore,
    trainer: Actor,
    refuses,
) -> None:
    pending = job(JobStatus.RUNNING, trainer="openai")
    await jobs.save(pending)

    with refuses(CapabilityUnavailable) as caught:
        await sut.execute(CancelJobRequest(actor=trainer, job_id="job-1"))

    assert "openai" in str(caught.value)
    assert model_trainer.cancelled == []
    assert jobs.history == [pending]


async def test_refuses_a_member_without_the_trainer_role_and_changes_nothing(
    sut: CancelJob,
    model_trainer: InMemoryModelTrainer,
    jobs: InMemoryJobStore,
    member: Actor,
    refuses,
) -> None:
    pending = job(JobStatus.RUNNING)
    await jobs.save(pending)

    with refuses(PermissionDenied):
        await sut.execute(CancelJobRequest(actor=member, job_id="job-1"))

    assert model_trainer.cancelled == []
    assert jobs.history == [pending]


async def test_refuses_an_unknown_job(
    sut: CancelJob,
    model_trainer: InMemoryModelTrainer,
    jobs: InMemoryJobStore,
    trainer: Actor,
    refuses,
) -> None:
    with refuses(UnknownJob):
        await sut.execute(CancelJobRequest(actor=trainer, job_id="job-404"))

    assert model_trainer.cancelled == []
    assert jobs.history == []


@pytest.mark.parametrize("job_id", ["", "  ", "j" * 65])
async def test_refuses_a_missing_or_overlong_job_id(
    sut: CancelJob, model_trainer: InMemoryModelTrainer, trainer: Actor, refuses, job_id: str
) -> None:
    with refuses(InvalidArgument):
        await sut.execute(CancelJobRequest(actor=trainer, job_id=job_id))

    assert model_trainer.cancelled == []
