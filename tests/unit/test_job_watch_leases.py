"""JobWatch under leases (in memory): a job is followed only under its lease, the outcome is
posted only by the holder whose ``finish`` succeeded, and ``close`` releases what it held."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from dependency_injector import providers

from trainerbot.adapters.memory import InMemoryJobLeases, InMemoryModelTrainer
from trainerbot.config import Settings
from trainerbot.container import Container, create_container
from trainerbot.core.entities import JobStatus, TrainingJob
from trainerbot.core.errors import TrainerbotError
from trainerbot.core.follow_job import JobUpdate
from trainerbot.core.job_watch import JobWatch
from trainerbot.core.tenancy import Tenant, TenantScope

TENANT = Tenant.server(1)
JOB = TrainingJob(
    id="job-1",
    trainer="local",
    status=JobStatus.RUNNING,
    dataset_name="reviews",
    dataset_version="abc123def456",
    example_count=2,
    requested_by="1",
    origin="here",
)


@dataclass
class View:
    updates: list[JobUpdate] = field(default_factory=list)
    posted: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)

    def claims(self, origin: str | None) -> bool:
        return True

    async def changed(self, origin: str | None, update: JobUpdate) -> None:
        self.updates.append(update)

    async def ended(self, origin: str | None, job: TrainingJob, outcome: str) -> None:
        self.posted.append(job.id)

    async def lost(self, origin: str | None, job_id: str, error: TrainerbotError) -> None:
        self.gone.append(job_id)


@pytest.fixture
def trainer() -> InMemoryModelTrainer:
    return InMemoryModelTrainer("local")


@pytest.fixture
def leases() -> InMemoryJobLeases:
    return InMemoryJobLeases()


@pytest.fixture
def container(trainer: InMemoryModelTrainer, leases: InMemoryJobLeases) -> Container:
    container = create_container(Settings(storage="memory", job_poll_seconds=0.01))
    container.trainers.override(providers.Object({"local": trainer}))
    container.job_leases.override(providers.Object(leases))
    return container


@pytest.fixture
def scope(container: Container) -> TenantScope:
    return container.tenants().scope(TENANT)


def watch_of(scope: TenantScope, view: View, **options: object) -> JobWatch:
    return JobWatch(
        view,
        scopes=lambda _: scope,
        tenants=lambda: (TENANT,),
        holder="me",
        lease_seconds=0.3,
        **options,  # type: ignore[arg-type]
    )


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "waited in vain"
        await asyncio.sleep(0.01)


async def test_a_job_whose_lease_another_holds_is_not_followed(
    scope: TenantScope, leases: InMemoryJobLeases
) -> None:
    await scope.resources.jobs().save(JOB)  # type: ignore[attr-defined]
    assert await leases.claim(JOB.id, "another", 60)
    view = View()
    watch = watch_of(scope, view)

    watch.follow(scope, JOB)
    await watch.wait()

    assert await watch.resume() == 0
    assert view.updates == []
    assert watch.following == frozenset()


async def test_the_outcome_is_posted_after_the_lease_is_finished(
    scope: TenantScope, leases: InMemoryJobLeases, trainer: InMemoryModelTrainer
) -> None:
    await scope.resources.jobs().save(JOB)  # type: ignore[attr-defined]
    view = View()
    watch = watch_of(scope, view)
    watch.follow(scope, JOB)
    await until(lambda: bool(view.updates))
    await asyncio.sleep(0.5)  # longer than the lease: renewed meanwhile
    assert not await leases.claim(JOB.id, "another", 60)

    trainer.finish(JOB.id)
    await watch.wait()

    assert view.posted == [JOB.id]
    assert leases.leases[JOB.id].finished


async def test_a_job_whose_lease_was_taken_over_is_no_longer_followed_nor_posted(
    scope: TenantScope, leases: InMemoryJobLeases, trainer: InMemoryModelTrainer
) -> None:
    await scope.resources.jobs().save(JOB)  # type: ignore[attr-defined]
    view = View()
    watch = watch_of(scope, view)
    watch.follow(scope, JOB)
    await until(lambda: bool(view.updates))

    leases.leases.clear()
    assert await leases.claim(JOB.id, "another", 60)  # as after this process stalled
    await watch.wait()  # the next renewal finds it taken: following stops
    trainer.finish(JOB.id)

    assert view.posted == []
    assert leases.leases[JOB.id].holder == "another"


async def test_a_job_that_is_gone_is_shown_lost_once_and_finished(
    scope: TenantScope, leases: InMemoryJobLeases
) -> None:
    view = View()
    watch = watch_of(scope, view)

    watch.follow(scope, JOB)  # never saved: unknown to the tenant
    await watch.wait()

    assert view.gone == [JOB.id]
    assert leases.leases[JOB.id].finished


async def test_close_releases_the_leases_and_a_killed_watch_keeps_them(
    scope: TenantScope, leases: InMemoryJobLeases
) -> None:
    await scope.resources.jobs().save(JOB)  # type: ignore[attr-defined]
    first, second = View(), View()
    closing = watch_of(scope, first)
    assert await closing.resume() == 1
    await until(lambda: bool(first.updates))

    await closing.close()
    assert await leases.claim(JOB.id, "another", 60)  # free at once

    await leases.release(JOB.id, "another")
    killed = watch_of(scope, second)
    assert await killed.resume() == 1
    await killed.close(release=False)
    assert not await leases.claim(JOB.id, "another", 60)  # until it expires


async def test_keep_watching_takes_over_a_job_once_its_lease_expires(
    scope: TenantScope, leases: InMemoryJobLeases, trainer: InMemoryModelTrainer
) -> None:
    await scope.resources.jobs().save(JOB)  # type: ignore[attr-defined]
    assert await leases.claim(JOB.id, "dead", 0.2)
    view = View()
    watch = watch_of(scope, view)
    assert await watch.resume() == 0

    watch.keep_watching(0.02)
    watch.keep_watching(0.02)  # once
    await until(lambda: watch.following == {JOB.id})
    trainer.finish(JOB.id)
    await until(lambda: bool(view.posted))
    await watch.close()

    assert view.posted == [JOB.id]
