"""Rules shared by the job use cases: finding a job, registering what a job produced."""

from __future__ import annotations

from trainerbot.ports import JobStore, ModelRegistry

from .entities import JobStatus, TrainedModel, TrainingJob
from .errors import InvalidArgument, UnknownJob
from .text import command

# The order a job's unfinished states come in; every final state comes after them all.
_UNFINISHED_ORDER = {JobStatus.VALIDATING: 0, JobStatus.QUEUED: 1, JobStatus.RUNNING: 2}


def supersedes(new: TrainingJob, recorded: TrainingJob | None) -> bool:
    """Whether ``new`` may replace ``recorded``, the state its job store holds.

    Several processes may report one job — the bot that queued it, the worker training it, the
    bot following it — and a report can arrive late. So a job never goes back: a finished job
    keeps its outcome (a later report of the same outcome may add to it), and a state before the
    recorded one (queued, after running) is ignored. Every job store applies this rule.
    """
    if recorded is None:
        return True
    if recorded.status.is_final:
        return new.status is recorded.status
    if new.status.is_final:
        return True
    return _UNFINISHED_ORDER[new.status] >= _UNFINISHED_ORDER[recorded.status]


async def find_job(jobs: JobStore, job_id: str) -> TrainingJob:
    job_id = job_id.strip()
    if not job_id or len(job_id) > 64:
        raise InvalidArgument(f"Give a job id from {command('jobs')}.")
    job = await jobs.get(job_id)
    if job is None:
        raise UnknownJob(f"There is no training job {job_id}; see {command('jobs')}.")
    return job


async def register_model(models: ModelRegistry, job: TrainingJob) -> None:
    """Make a succeeded job's model available to ``!use`` (once)."""
    if job.status is not JobStatus.SUCCEEDED or not job.model:
        return
    if any(m.id == job.model for m in await models.models()):
        return
    await models.register(
        TrainedModel(
            id=job.model,
            trainer=job.trainer,
            job_id=job.id,
            dataset_version=job.dataset_version,
            base_model=job.base_model,
        )
    )
