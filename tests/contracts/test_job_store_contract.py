"""The JobStore contract, run against the in-memory store,
the JSON Lines store and the SQL store (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from contract_support import START, Opener, job, same_instance
from sql_contract_support import implementations, opened

from trainerbot.adapters.memory import InMemoryJobStore
from trainerbot.adapters.sql import SqlJobStore
from trainerbot.adapters.storage import JsonlJobStore
from trainerbot.core.entities import JobStatus
from trainerbot.ports import JobStore

IMPLEMENTATIONS: dict[str, Callable[[Path], Opener[JobStore]]] = {
    "memory": lambda tmp: same_instance(InMemoryJobStore()),
    "jsonl": lambda tmp: lambda: JsonlJobStore(tmp / "records" / "jobs.jsonl"),
}


@pytest.fixture(params=implementations(IMPLEMENTATIONS))
async def open_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Opener[JobStore]]:
    async with opened(request, tmp_path, IMPLEMENTATIONS, SqlJobStore) as opener:
        yield opener


@pytest.fixture
def store(open_store: Opener[JobStore]) -> JobStore:
    return open_store()


def test_it_implements_the_port(store: JobStore) -> None:
    assert isinstance(store, JobStore)


async def test_get_gives_the_latest_saved_state_of_a_job(store: JobStore) -> None:
    await store.save(job("job-a"))
    await store.save(job("job-a", JobStatus.RUNNING, provider_job_id="ft-1"))
    finished = job(
        "job-a",
        JobStatus.SUCCEEDED,
        provider_job_id="ft-1",
        model="ft:model-a",
        events=("step 10",),
        metrics={"train_loss": 0.25},
        origin="channel 1 message 2",
    )
    await store.save(finished)

    assert await store.get("job-a") == finished


async def test_a_late_report_never_takes_a_job_back(store: JobStore) -> None:
    running = job("job-a", JobStatus.RUNNING, events=("training on worker w1",))
    await store.save(running)
    await store.save(job("job-a", JobStatus.QUEUED))  # the queuing process, late
    assert await store.get("job-a") == running

    succeeded = job("job-a", JobStatus.SUCCEEDED, model="fewshot:a")
    await store.save(succeeded)
    await store.save(running)  # a follower's stale state
    await store.save(job("job-a", JobStatus.CANCELLED))  # a cancel that came too late
    assert await store.get("job-a") == succeeded
    assert await store.all() == [succeeded]


async def test_a_final_state_may_be_reported_again_with_more(store: JobStore) -> None:
    await store.save(job("job-a", JobStatus.FAILED, error="the worker stopped"))
    again = job("job-a", JobStatus.FAILED, error="the worker stopped", events=("tried twice",))
    await store.save(again)

    assert await store.get("job-a") == again


async def test_get_of_an_unknown_job_is_none(store: JobStore) -> None:
    await store.save(job("job-a"))

    assert await store.get("job-404") is None


async def test_an_empty_store_has_no_jobs(store: JobStore) -> None:
    assert await store.all() == []


async def test_all_gives_the_latest_state_of_every_job_oldest_job_first(store: JobStore) -> None:
    await store.save(job("job-a"))
    await store.save(job("job-b", created_at=START.replace(hour=1)))
    await store.save(job("job-a", JobStatus.FAILED, error="the provider failed"))

    assert await store.all() == [
        job("job-a", JobStatus.FAILED, error="the provider failed"),
        job("job-b", created_at=START.replace(hour=1)),
    ]


async def test_a_saved_state_is_durable_when_save_returns(open_store: Opener[JobStore]) -> None:
    store = open_store()
    await store.save(job("job-a"))
    await store.save(job("job-a", JobStatus.QUEUED))

    reopened = open_store()

    assert await reopened.get("job-a") == job("job-a", JobStatus.QUEUED)
    assert await reopened.all() == [job("job-a", JobStatus.QUEUED)]
