"""A training worker built from the container: the queue's jobs, each trained by its tenant's own
``RunTrainingJob`` (``run_training``, over the tenant's stores and trainers of this process).

Rules:
- A worker needs the records in PostgreSQL (the queue lives there) and the same workspace folder
  as the bots (the trained models are written into each tenant's ``models/``): a shared volume,
  or a network file system, mounted at ``TRAINERBOT_WORKSPACE``.
- The tenant of a job is the key its bot queued it under: a server, a member's direct messages,
  the console, or the workspace without tenants (``sql.WORKSPACE_TENANT``, the root container).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from trainerbot.adapters import sql
from trainerbot.adapters.queue import QueuedTraining, TrainingWorker
from trainerbot.config import Settings
from trainerbot.core.errors import CapabilityUnavailable
from trainerbot.core.run_training import RunTrainingJob, RunTrainingRequest
from trainerbot.core.tenancy import Tenant
from trainerbot.core.text import command_prefix

from .composition import Container
from .tenants import Tenants

log = logging.getLogger(__name__)

NEEDS_POSTGRESQL = (
    "A training worker takes its jobs from PostgreSQL: set TRAINERBOT_DATABASE_URL to the "
    "database the bots use (postgresql://user:password@host:port/db)."
)


def create_worker(
    container: Container, *, name: str | None = None, concurrency: int = 1
) -> TrainingWorker:
    """The training worker of ``container``'s database and workspace; ``await worker.run()``
    takes jobs until the process is told to stop. ``CapabilityUnavailable`` without PostgreSQL."""
    settings: Settings = container.settings()
    if settings.database_kind != "postgresql":
        raise CapabilityUnavailable(NEEDS_POSTGRESQL)
    tenants: Tenants = container.tenants()
    run_training = _run_training_of(container, tenants)
    worker: TrainingWorker

    async def train(item: QueuedTraining) -> None:
        use_case = run_training(item.tenant)
        if use_case is None:
            return
        with command_prefix(settings.command_prefix):
            await use_case.execute(
                RunTrainingRequest(item.job_id, item.spec, worker=worker.name, attempt=item.attempt)
            )

    async def give_up(tenant: str, job_id: str, reason: str) -> None:
        use_case = run_training(tenant)
        if use_case is not None:
            await use_case.give_up(job_id, reason)

    worker = TrainingWorker(
        container.training_queue(),
        train=train,
        give_up=give_up,
        name=name,
        stalled_seconds=settings.worker_stalled_seconds,
        attempts=settings.training_attempts,
        concurrency=concurrency,
    )
    return worker


def _run_training_of(
    container: Container, tenants: Tenants
) -> Callable[[str], RunTrainingJob | None]:
    def run_training(key: str) -> RunTrainingJob | None:
        if key == sql.WORKSPACE_TENANT:
            use_case: RunTrainingJob = container.run_training()
            return use_case
        tenant = Tenant.from_key(key)
        if tenant is None:
            log.error("a queued job names %r, which is no tenant: skipped", key[:80])
            return None
        return tenants.use_cases(tenant).run_training

    return run_training


async def run_worker(
    container: Container, *, name: str | None = None, concurrency: int = 1
) -> None:
    """Take training jobs until the process is told to stop (SIGINT, SIGTERM), naming commands
    in what it records with the configured prefix."""
    settings: Settings = container.settings()
    worker = create_worker(container, name=name, concurrency=concurrency)
    with command_prefix(settings.command_prefix):
        await worker.run()
