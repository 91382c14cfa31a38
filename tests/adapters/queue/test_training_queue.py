"""The training queue on a real PostgreSQL server: its tables, queuing, cancelling, failures;
and the worker's sweep of jobs whose worker died (driven directly, without a worker process)."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator

import psycopg
import pytest
from procrastinate.jobs import Status

from trainerbot.adapters._records import spec_from_record
from trainerbot.adapters.queue import TRAIN_TASK, TrainingQueue, TrainingWorker, conninfo
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
from trainerbot.core.errors import ServiceError

EXAMPLE = Example(prompt=(ChatMessage(Role.USER, "Capital of France?"),), completion="Paris")
SPEC = TrainingSpec(
    dataset=Dataset(name="geo", task=Task.CHAT, examples=(EXAMPLE,)),
    metadata={"dataset": "geo"},
    system_prompt="You are terse.",
)
JOB = TrainingJob(
    id="job-1",
    trainer="fewshot",
    status=JobStatus.VALIDATING,
    dataset_name="geo",
    dataset_version="v1",
    example_count=1,
    requested_by="ada",
)


@pytest.fixture
async def queue(postgres_url: str) -> AsyncIterator[TrainingQueue]:
    opened = TrainingQueue(postgres_url)
    yield opened
    await opened.close()


async def rows(url: str, query: str) -> list[tuple[object, ...]]:
    async with await psycopg.AsyncConnection.connect(conninfo(url)) as connection:
        cursor = await connection.execute(query)  # type: ignore[arg-type]
        return await cursor.fetchall()


def test_urls_are_read_as_users_write_them() -> None:
    assert conninfo("postgresql://ada:pw@db:5432/records") == "postgresql://ada:pw@db:5432/records"
    assert conninfo("postgres://ada@db/records") == "postgresql://ada@db/records"
    assert conninfo("postgresql+asyncpg://ada@db/records") == "postgresql://ada@db/records"
    with pytest.raises(ValueError, match="postgresql://"):
        conninfo("sqlite:///records.sqlite3")


async def test_a_queued_job_carries_its_tenant_job_and_spec(
    queue: TrainingQueue, postgres_url: str
) -> None:
    queue_id = await queue.enqueue("4242", JOB, SPEC)

    [(task, args, status, lock)] = await rows(
        postgres_url, "SELECT task_name, args, status, lock FROM procrastinate_jobs"
    )
    assert (task, status, lock) == (TRAIN_TASK, "todo", "4242/job-1")
    assert isinstance(args, dict)
    assert (args["tenant"], args["job_id"]) == ("4242", "job-1")
    assert spec_from_record(args["spec"]) == SPEC
    assert isinstance(queue_id, int)


async def test_processes_starting_together_create_the_queue_tables_once(postgres_url: str) -> None:
    queues = [TrainingQueue(postgres_url) for _ in range(4)]
    try:
        await asyncio.gather(*(q.open() for q in queues))
        await queues[0].enqueue("4242", JOB, SPEC)
    finally:
        await asyncio.gather(*(q.close() for q in queues))

    [(tables,)] = await rows(
        postgres_url, "SELECT count(*) FROM pg_tables WHERE tablename = 'procrastinate_jobs'"
    )
    assert tables == 1


async def test_a_waiting_job_that_is_cancelled_is_withdrawn(
    queue: TrainingQueue, postgres_url: str
) -> None:
    queue_id = await queue.enqueue("4242", JOB, SPEC)

    await queue.cancel(queue_id)

    [(status,)] = await rows(postgres_url, "SELECT status FROM procrastinate_jobs")
    assert status == "cancelled"


async def test_an_unreachable_queue_is_one_line_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    queue = TrainingQueue(f"postgresql://ada:s3cret-pw@127.0.0.1:{port}/records", open_timeout=1)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ServiceError) as raised:
        await queue.enqueue("4242", JOB, SPEC)

    assert str(raised.value) == "The training queue could not be reached: nothing was queued."
    assert "s3cret-pw" not in caplog.text
    await queue.close()


async def test_the_sweep_requeues_a_dead_workers_job_then_gives_up_after_the_attempts(
    queue: TrainingQueue, postgres_url: str
) -> None:
    given_up: list[tuple[str, str, str]] = []

    async def give_up(tenant: str, job_id: str, reason: str) -> None:
        given_up.append((tenant, job_id, reason))

    async def train(item: object) -> None:
        raise AssertionError("not run here")

    worker = TrainingWorker(queue, train=train, give_up=give_up, stalled_seconds=1, attempts=2)
    queue_id = await queue.enqueue("4242", JOB, SPEC)
    manager = queue.app.job_manager

    async def taken_by_a_dead_worker() -> None:
        worker_id = await manager.register_worker()
        assert await manager.fetch_job(queues=None, worker_id=worker_id) is not None
        async with await psycopg.AsyncConnection.connect(conninfo(postgres_url)) as connection:
            await connection.execute(
                "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 minute'"
            )

    await taken_by_a_dead_worker()
    assert [job.id for job in await worker.sweep()] == [queue_id]
    assert await manager.get_job_status_async(queue_id) is Status.TODO  # queued again
    assert given_up == []

    await taken_by_a_dead_worker()
    await worker.sweep()
    assert await manager.get_job_status_async(queue_id) is Status.FAILED
    assert given_up == [
        ("4242", "job-1", "The worker training it stopped 2 times; train again with !train.")
    ]
    assert await worker.sweep() == []  # nothing left to settle
