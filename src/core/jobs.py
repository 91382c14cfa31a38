"""Rules shared by the job use cases: finding a job, registering what a job produced."""

from __future__ import annotations

from trainerbot.ports import JobStore, ModelRegistry

from .entities import JobStatus, TrainedModel, TrainingJob
from .errors import InvalidArgument, UnknownJob
from .text import command


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
