"""ListJobs: the latest state of every training job, newest first, for trainers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from trainerbot.adapters.memory import InMemoryJobStore
from trainerbot.core.entities import Actor, JobStatus, TrainingJob
from trainerbot.core.errors import PermissionDenied
from trainerbot.core.list_jobs import ListJobs, ListJobsRequest

START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def job(number: int, status: JobStatus = JobStatus.QUEUED) -> TrainingJob:
    return TrainingJob(
        id=f"job-{number}",
        trainer="memory",
        status=status,
        dataset_name="reviews",
        dataset_version="abc123def456",
        example_count=16,
        requested_by="u-trainer",
        created_at=START + timedelta(minutes=number),
    )


@pytest.fixture
def sut(jobs: InMemoryJobStore) -> ListJobs:
    return ListJobs(jobs=jobs)


async def test_lists_nothing_when_no_job_was_started(sut: ListJobs, trainer: Actor) -> None:
    result = await sut.execute(ListJobsRequest(actor=trainer))

    assert result.jobs == ()


async def test_lists_jobs_newest_first(
    sut: ListJobs, jobs: InMemoryJobStore, trainer: Actor
) -> None:
    # saved out of creation order: the listing follows created_at, not the store's order
    for number in (2, 1, 3):
        await jobs.save(job(number))

    result = await sut.execute(ListJobsRequest(actor=trainer))

    assert [j.id for j in result.jobs] == ["job-3", "job-2", "job-1"]


async def test_lists_each_job_once_in_its_latest_state(
    sut: ListJobs, jobs: InMemoryJobStore, trainer: Actor
) -> None:
    first = job(1)
    await jobs.save(first)
    await jobs.save(first.with_status(JobStatus.RUNNING))
    await jobs.save(first.with_status(JobStatus.SUCCEEDED, model="memory:job-1"))

    result = await sut.execute(ListJobsRequest(actor=trainer))

    assert [(j.id, j.status, j.model) for j in result.jobs] == [
        ("job-1", JobStatus.SUCCEEDED, "memory:job-1")
    ]


@pytest.mark.parametrize(
    ("limit", "expected"), [(2, ["job-5", "job-4"]), (1, ["job-5"]), (0, []), (-3, [])]
)
async def test_lists_at_most_limit_jobs(
    sut: ListJobs,
    jobs: InMemoryJobStore,
    trainer: Actor,
    limit: int,
    expected: list[str],
) -> None:
    for number in range(1, 6):
        await jobs.save(job(number))

    result = await sut.execute(ListJobsRequest(actor=trainer, limit=limit))

    assert [j.id for j in result.jobs] == expected


async def test_lists_at_most_twenty_jobs_by_default(
    sut: ListJobs, jobs: InMemoryJobStore, trainer: Actor
) -> None:
    for number in range(1, 26):
        await jobs.save(job(number))

    result = await sut.execute(ListJobsRequest(actor=trainer))

    assert len(result.jobs) == 20
    assert result.jobs[0].id == "job-25"


async def test_refuses_a_member_without_the_trainer_role(
    sut: ListJobs, jobs: InMemoryJobStore, member: Actor, refuses
) -> None:
    await jobs.save(job(1))

    with refuses(PermissionDenied):
        await sut.execute(ListJobsRequest(actor=member))

    assert [j.id for j in jobs.history] == ["job-1"]


async def test_unfinished_lists_only_the_jobs_still_under_way(
    sut: ListJobs, jobs: InMemoryJobStore, trainer: Actor
) -> None:
    for number, status in enumerate(JobStatus, start=1):
        await jobs.save(job(number, status))

    result = await sut.execute(ListJobsRequest(actor=trainer, unfinished=True))

    assert [j.status for j in result.jobs] == [
        JobStatus.RUNNING,
        JobStatus.QUEUED,
        JobStatus.VALIDATING,
    ]
