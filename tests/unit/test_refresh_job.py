"""RefreshJob: ask a job's trainer where it stands, record changes, register a finished model."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from trainerbot.adapters.memory import InMemoryJobStore, InMemoryModelRegistry, InMemoryModelTrainer
from trainerbot.core.entities import Actor, JobStatus, TrainedModel, TrainingJob
from trainerbot.core.errors import InvalidArgument, PermissionDenied, ServiceError, UnknownJob
from trainerbot.core.refresh_job import RefreshJob, RefreshJobRequest, RefreshJobResult


def job(status: JobStatus = JobStatus.QUEUED, **changes: Any) -> TrainingJob:
    base = TrainingJob(
        id="job-1",
        trainer="memory",
        status=status,
        dataset_name="reviews",
        dataset_version="abc123def456",
        example_count=16,
        requested_by="u-trainer",
        base_model="base-model",
        provider_job_id="prov-job-1",
    )
    return replace(base, **changes)


@pytest.fixture
def sut(
    model_trainer: InMemoryModelTrainer, jobs: InMemoryJobStore, models: InMemoryModelRegistry
) -> RefreshJob:
    return RefreshJob(trainers={"memory": model_trainer}, jobs=jobs, models=models)


async def saved(
    jobs: InMemoryJobStore, status: JobStatus = JobStatus.QUEUED, **changes: Any
) -> TrainingJob:
    state = job(status, **changes)
    await jobs.save(state)
    return state


# --- following a job -------------------------------------------------------------------------


async def test_a_changed_state_is_recorded_as_a_new_version_of_the_job(
    sut: RefreshJob, jobs: InMemoryJobStore, trainer: Actor
) -> None:
    queued = await saved(jobs, JobStatus.QUEUED)

    result = await sut.execute(RefreshJobRequest(actor=trainer, job_id="job-1"))

    assert result.changed is True
    assert result.job.status is JobStatus.RUNNING
    assert result.note == ""
    assert jobs.history == [queued, result.job]


async def test_an_unchanged_state_records_nothing(
    sut: RefreshJob, jobs: InMemoryJobStore, models: InMemoryModelRegistry, trainer: Actor
) -> None:
    running = await saved(jobs, JobStatus.RUNNING)

    result = await sut.execute(RefreshJobRequest(actor=trainer, job_id="job-1"))

    assert result.changed is False
    assert result.job == running
    assert jobs.history == [running]
    assert models.registered == []


async def test_a_job_that_succeeded_registers_its_model_for_use(
    sut: RefreshJob,
    model_trainer: InMemoryModelTrainer,
    jobs: InMemoryJobStore,
    models: InMemoryModelRegistry,
    trainer: Actor,
) -> None:
    await saved(jobs, JobStatus.RUNNING)
    model_trainer.finish("job-1")

    result = await sut.execute(RefreshJobRequest(actor=trainer, job_id=" job-1 "))

    assert result.changed is True
    assert result.job.status is JobStatus.SUCCEEDED
    assert result.job.model == "memory:job-1"
    assert jobs.history[-1] == result.job
    assert [
        (m.id, m.trainer, m.job_id, m.dataset_version, m.base_model) for m in models.registered
    ] == [("memory:job-1", "memory", "job-1", "abc123def456", "base-model")]
    assert models.activations == []


async def test_a_job_that_failed_is_recorded_with_its_error_and_registers_nothing(
    sut: RefreshJob,
    model_trainer: InMemoryModelTrainer,
    jobs: InMemoryJobStore,
    models: InMemoryModelRegistry,
    trainer: Actor,
) -> None:
    await saved(jobs, JobStatus.RUNNING)
    model_trainer.fail("job-1")

    result = await sut.execute(RefreshJobRequest(actor=trainer, job_id="job-1"))

    assert result.job.status is JobStatus.FAILED
    assert result.job.error == "the trainer failed"
    assert [j.status for j in jobs.history] == [JobStatus.RUNNING, JobStatus.FAILED]
    assert models.registered == []


@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED])
async def test_a_finished_job_is_reported_as_recorded_without_asking_the_trainer(
    sut: RefreshJob,
    model_trainer: InMemoryModelTrainer,
    jobs: InMemoryJobStore,
    trainer: Actor,
    status: JobStatus,
) -> None:
    finished = await saved(
        jobs, status, model="memory:job-1" if status is JobStatus.SUCCEEDED else None
    )
    # Were the trainer asked, it would answer with an outage.
    model_trainer.fail_with = ServiceError("The trainer is down.")

    result = await sut.execute(RefreshJobRequest(actor=trainer, job_id="job-1"))

    assert result == RefreshJobResult(job=finished, changed=False)
    assert jobs.history == [finished]


async def test_a_succeeded_job_whose_model_was_never_registered_registers_it_once(
    sut: RefreshJob, jobs: InMemoryJobStore, models: InMemoryModelRegistry, trainer: Actor
) -> None:
    await saved(jobs, JobStatus.SUCCEEDED, model="memory:job-1")

    await sut.execute(RefreshJobRequest(actor=trainer, job_id="job-1"))
    await sut.execute(RefreshJobRequest(actor=trainer, job_id="job-1"))

    assert [m.id for m in models.registered] == ["memory:job-1"]


async def test_an_already_registered_model_is_not_registered_again(
    sut: RefreshJob,
    model_trainer: InMemoryModelTrainer,
    jobs: InMemoryJobStore,
    models: InMemoryModelRegistry,
    trainer: Actor,
) -> None:
    await models.register(TrainedModel(id="memory:job-1", trainer="memory", job_id="job-1"))
    await saved(jobs, JobStatus.RUNNING)
    model_trainer.finish("job-1")

    await sut.execute(RefreshJobRequest(actor=trainer, job_id="job-1"))

    assert len(models.registered) == 1


async def test_an_unreachable_provider_shows_the_last_recorded_state_with_a_note(
    sut: RefreshJob,
    model_trainer: InMemoryModelTrainer,
    jobs: InMemoryJobStore,
    trainer: Actor,
) -> None:
    queued = await saved(jobs, JobStatus.QUEUED)
    model_trainer.fail_with = ServiceError("The training service did not answer.")

    result = await sut.execute(RefreshJobRequest(actor=trainer, job_id="job-1"))

    assert result.job == queued
    assert result.changed is False
    assert result.note == "The training service did not answer."
    assert jobs.history == [queued]


async def test_polling_again_after_an_outage_follows_the_job(
    sut: RefreshJob,
    model_trainer: InMemoryModelTrainer,
    jobs: InMemoryJobStore,
    trainer: Actor,
) -> None:
    await saved(jobs, JobStatus.QUEUED)
    model_trainer.fail_with = ServiceError("down")
    await sut.execute(RefreshJobRequest(actor=trainer, job_id="job-1"))
    model_trainer.fail_with = None

    result = await sut.execute(RefreshJobRequest(actor=trainer, job_id="job-1"))

    assert result.changed is True
    assert [j.status for j in jobs.history] == [JobStatus.QUEUED, JobStatus.RUNNING]


async def test_a_job_whose_trainer_is_no_longer_configured_is_shown_with_a_note(
    jobs: InMemoryJobStore, models: InMemoryModelRegistry, trainer: Actor
) -> None:
    queued = await saved(jobs, JobStatus.QUEUED, trainer="openai")
    sut = RefreshJob(trainers={"memory": InMemoryModelTrainer()}, jobs=jobs, models=models)

    result = await sut.execute(RefreshJobRequest(actor=trainer, job_id="job-1"))

    assert result.job == queued
    assert result.changed is False
    assert "openai" in result.note
    assert "\n" not in result.note
    assert jobs.history == [queued]


# --- refusals --------------------------------------------------------------------------------


async def test_refuses_a_member_without_the_trainer_role_and_records_nothing(
    sut: RefreshJob,
    model_trainer: InMemoryModelTrainer,
    jobs: InMemoryJobStore,
    models: InMemoryModelRegistry,
    member: Actor,
    refuses,
) -> None:
    running = await saved(jobs, JobStatus.RUNNING)
    model_trainer.finish("job-1")

    with refuses(PermissionDenied):
        await sut.execute(RefreshJobRequest(actor=member, job_id="job-1"))

    assert jobs.history == [running]
    assert models.registered == []


async def test_refuses_an_unknown_job(
    sut: RefreshJob, jobs: InMemoryJobStore, trainer: Actor, refuses
) -> None:
    await saved(jobs)

    with refuses(UnknownJob) as caught:
        await sut.execute(RefreshJobRequest(actor=trainer, job_id="job-404"))

    assert "job-404" in str(caught.value)
    assert len(jobs.history) == 1


@pytest.mark.parametrize("job_id", ["", "   ", "j" * 65])
async def test_refuses_a_missing_or_overlong_job_id(
    sut: RefreshJob, trainer: Actor, refuses, job_id: str
) -> None:
    with refuses(InvalidArgument):
        await sut.execute(RefreshJobRequest(actor=trainer, job_id=job_id))
