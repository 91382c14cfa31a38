"""Bot processes sharing one database: a training job is followed, and its outcome posted, by
exactly one of them, and a job whose process died is taken over by another once its lease
expires. Each "process" is its own container (its own ``Database``: SQLite file or PostgreSQL
server) with its own ``JobWatch`` and holder; they share the trainer, as processes share a
provider."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from dependency_injector import providers

from trainerbot.adapters.memory import InMemoryModelTrainer
from trainerbot.config import Settings
from trainerbot.container import Container, create_container
from trainerbot.core.entities import JobStatus, TrainingJob
from trainerbot.core.errors import TrainerbotError
from trainerbot.core.follow_job import JobUpdate
from trainerbot.core.job_watch import JobWatch
from trainerbot.core.tenancy import Tenant

TENANT = Tenant.server(1)
LEASE_SECONDS = 0.5
SCAN_SECONDS = 0.05
JOB = TrainingJob(
    id="job-1",
    trainer="local",
    status=JobStatus.RUNNING,
    dataset_name="reviews",
    dataset_version="abc123def456",
    example_count=2,
    requested_by="1",
    origin="channel 1",
)


@dataclass
class View:
    """What one process showed: the outcomes it posted (the JobView of the test)."""

    name: str
    updates: list[JobUpdate] = field(default_factory=list)
    posted: list[tuple[str, str]] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)

    def claims(self, origin: str | None) -> bool:
        return True

    async def changed(self, origin: str | None, update: JobUpdate) -> None:
        self.updates.append(update)

    async def ended(self, origin: str | None, job: TrainingJob, outcome: str) -> None:
        self.posted.append((job.id, outcome))

    async def lost(self, origin: str | None, job_id: str, error: TrainerbotError) -> None:
        self.gone.append(job_id)


@dataclass
class Process:
    container: Container
    view: View
    watch: JobWatch


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'records.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def trainer() -> InMemoryModelTrainer:
    return InMemoryModelTrainer("local")


@pytest.fixture
async def start_process(
    database_url: str, tmp_path: Path, trainer: InMemoryModelTrainer
) -> AsyncIterator[Callable[[str], Process]]:
    started: list[Process] = []

    def start(name: str) -> Process:
        settings = Settings(
            workspace=tmp_path / "ws", database_url=database_url, job_poll_seconds=0.01
        )
        container = create_container(settings)
        container.trainers.override(providers.Object({"local": trainer}))
        tenants = container.tenants()
        view = View(name)
        watch = JobWatch(
            view,
            scopes=tenants.scope,
            tenants=lambda: (TENANT,),
            holder=f"{name}-holder",
            lease_seconds=LEASE_SECONDS,
        )
        started.append(Process(container, view, watch))
        return started[-1]

    yield start
    for process in started:
        await process.watch.close()
        await process.container.database().close()


async def until(condition: Callable[[], bool], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "waited in vain"
        await asyncio.sleep(0.02)


async def save_running_job(process: Process) -> None:
    await process.container.tenants().container(TENANT).jobs().save(JOB)


def outcomes(*processes: Process) -> list[tuple[str, str, str]]:
    return [(p.view.name, *ended) for p in processes for ended in p.view.posted]


async def test_one_process_follows_a_job_and_posts_its_outcome_once(
    start_process: Callable[[str], Process], trainer: InMemoryModelTrainer
) -> None:
    one, two = start_process("one"), start_process("two")
    await save_running_job(one)

    taken = await asyncio.gather(one.watch.resume(), two.watch.resume())
    assert sorted(taken) == [0, 1]
    follower, other = (one, two) if taken[0] else (two, one)
    for process in (one, two):
        process.watch.keep_watching(SCAN_SECONDS)
    await until(lambda: bool(follower.view.updates))
    await asyncio.sleep(LEASE_SECONDS * 3)  # leases renewed meanwhile: the other never takes it
    assert other.watch.following == frozenset()

    trainer.finish(JOB.id)
    await until(lambda: bool(outcomes(one, two)))
    await follower.watch.wait()

    assert outcomes(one, two) == [
        (
            follower.view.name,
            JOB.id,
            f"Training job {JOB.id} succeeded: model local:{JOB.id} is ready — !use local:{JOB.id}",
        )
    ]
    assert other.view.updates == []
    assert await other.watch.scan() == 0  # finished: nobody follows it again
    assert outcomes(one, two) == [(follower.view.name, *follower.view.posted[0])]


async def test_a_job_of_a_process_that_died_is_taken_over_and_posted_once(
    start_process: Callable[[str], Process], trainer: InMemoryModelTrainer
) -> None:
    dead, alive = start_process("dead"), start_process("alive")
    await save_running_job(dead)
    assert await dead.watch.resume() == 1
    assert await alive.watch.resume() == 0
    await until(lambda: bool(dead.view.updates))

    await dead.watch.close(release=False)  # killed: its lease stays until it expires
    alive.watch.keep_watching(SCAN_SECONDS)
    await until(lambda: alive.watch.following == {JOB.id})
    trainer.finish(JOB.id)
    await until(lambda: bool(outcomes(dead, alive)))
    await alive.watch.wait()

    assert [(name, job_id) for name, job_id, _ in outcomes(dead, alive)] == [("alive", JOB.id)]
    assert dead.view.posted == []
    [job] = await alive.container.tenants().container(TENANT).jobs().all()
    assert job.status is JobStatus.SUCCEEDED


async def test_a_process_that_closes_lets_another_take_its_job_at_once(
    start_process: Callable[[str], Process], trainer: InMemoryModelTrainer
) -> None:
    first, second = start_process("first"), start_process("second")
    await save_running_job(first)
    assert await first.watch.resume() == 1
    assert await second.watch.scan() == 0

    await first.watch.close()  # released: no need to wait for the lease to expire

    assert await second.watch.scan() == 1
    trainer.fail(JOB.id)
    await until(lambda: bool(outcomes(first, second)))
    await second.watch.wait()
    assert [(name, job_id) for name, job_id, _ in outcomes(first, second)] == [("second", JOB.id)]
