"""The training worker: takes queued jobs and trains them here; retries those a dead worker held.

Rules:
- A worker takes ``concurrency`` jobs at a time (one by default: training fills a machine) and
  hands each to ``train`` with its tenant, job id, spec and attempt number.
- It sends a heartbeat every ``stalled_seconds / 6``. A worker whose heartbeat is older than
  ``stalled_seconds`` is taken for dead: every worker looks for such jobs every
  ``stalled_seconds / 3`` and puts each back in the queue, to run again from the start — or,
  once it has run ``attempts`` times, fails it, and ``give_up`` records why. One worker sweeps at
  a time (an advisory lock), so a job is never put back twice, nor while it runs again.
- A queued job whose spec cannot be read is given up at once (running it again cannot help), as
  is one whose training failed to record itself (the database failing mid-job): said in the job
  where the database allows, logged, and marked failed in the queue.
- Stopping (SIGINT/SIGTERM) waits for the running job; a job still running when the process is
  killed is found by the next sweep.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from procrastinate import JobContext
from procrastinate.jobs import Job, Status

from trainerbot.adapters._records import RecordError, spec_from_record
from trainerbot.core.entities import TrainingSpec
from trainerbot.core.text import command

from .queue import QUEUE, QUEUE_ERRORS, SWEEP_LOCK, TRAIN_TASK, TrainingQueue

log = logging.getLogger(__name__)


def unreadable() -> str:
    return (
        f"Its training data could not be read from the queue: train again with {command('train')}."
    )


def broke() -> str:
    return (
        "The worker could not record its training (the database failed); "
        f"train again with {command('train')}."
    )


def stopped(runs: int) -> str:
    times = "once" if runs == 1 else f"{runs} times"
    return f"The worker training it stopped {times}; train again with {command('train')}."


@dataclass(frozen=True)
class QueuedTraining:
    """One run of a queued job: ``attempt`` counts its runs, this one included."""

    tenant: str
    job_id: str
    spec: TrainingSpec
    attempt: int


Train = Callable[[QueuedTraining], Awaitable[None]]
# (tenant, job id, reason): record that the job failed and will not run again.
GiveUp = Callable[[str, str, str], Awaitable[None]]


def worker_name() -> str:
    """Who a worker is, in job events and logs: its host and process id."""
    return f"worker {socket.gethostname()}:{os.getpid()}"


class TrainingWorker:
    """Runs queued training jobs until stopped."""

    def __init__(
        self,
        queue: TrainingQueue,
        *,
        train: Train,
        give_up: GiveUp,
        name: str | None = None,
        stalled_seconds: float = 60.0,
        attempts: int = 2,
        concurrency: int = 1,
    ) -> None:
        self._queue = queue
        self._train = train
        self._give_up = give_up
        self.name = name or worker_name()
        self._stalled_seconds = stalled_seconds
        self._attempts = attempts
        self._concurrency = concurrency
        queue.app.task(name=TRAIN_TASK, queue=QUEUE, pass_context=True)(self._run)

    async def run(self, *, install_signal_handlers: bool = True) -> None:
        """Take jobs until the process is told to stop (or this task is cancelled)."""
        await self._queue.open()
        sweeping = asyncio.create_task(self._sweep_forever(), name="trainerbot-sweep")
        log.info("%s takes training jobs", self.name)
        try:
            await self._queue.app.run_worker_async(
                queues=[QUEUE],
                name=self.name,
                concurrency=self._concurrency,
                update_heartbeat_interval=self._stalled_seconds / 6,
                stalled_worker_timeout=self._stalled_seconds,
                install_signal_handlers=install_signal_handlers,
                listen_notify=True,
                wait=True,
            )
        finally:
            sweeping.cancel()
            await asyncio.gather(sweeping, return_exceptions=True)

    async def _run(self, context: JobContext, /, **arguments: Any) -> None:
        job = context.job
        tenant, job_id = str(arguments.get("tenant", "")), str(arguments.get("job_id", ""))
        try:
            spec = spec_from_record(_mapping(arguments.get("spec")))
        except RecordError as error:
            log.error("queued job %s of %s: unreadable spec: %s", job_id, tenant, error)
            await self._give_up(tenant, job_id, unreadable())
            return
        try:
            await self._train(QueuedTraining(tenant, job_id, spec, attempt=job.attempts + 1))
        except Exception:
            # Training itself records its failures; this is the records failing (the database
            # gone mid-job). Said where it can be, and logged; the queue marks the job failed.
            log.exception("queued job %s of %s could not be trained", job_id, tenant)
            await self._give_up(tenant, job_id, broke())
            raise

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except QUEUE_ERRORS as error:
                log.warning("looking for stalled training jobs failed: %s", error)
            await asyncio.sleep(self._stalled_seconds / 3)

    async def sweep(self) -> list[Job]:
        """Put back (or give up) the jobs of workers taken for dead; the jobs found."""
        manager = self._queue.app.job_manager
        async with self._queue.locked(SWEEP_LOCK):
            stalled = list(
                await manager.get_stalled_jobs(
                    task_name=TRAIN_TASK, seconds_since_heartbeat=self._stalled_seconds
                )
            )
            for job in stalled:
                await self._settle(job)
        return stalled

    async def _settle(self, job: Job) -> None:
        manager = self._queue.app.job_manager
        runs = job.attempts + 1
        tenant = str(job.task_kwargs.get("tenant", ""))
        job_id = str(job.task_kwargs.get("job_id", ""))
        if runs >= self._attempts:
            log.warning(
                "job %s of %s stopped with its worker %d times: failed", job_id, tenant, runs
            )
            await manager.finish_job(job, status=Status.FAILED, delete_job=False)
            await self._give_up(tenant, job_id, stopped(runs))
        else:
            log.warning("job %s of %s stopped with its worker: queued again", job_id, tenant)
            await manager.retry_job(job)


def _mapping(value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise RecordError("a queued job's spec must be an object")
    return value
