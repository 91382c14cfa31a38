"""Training jobs, and the models the bot can answer with."""

from __future__ import annotations

from .. import reports
from ..cancel_job import CancelJobRequest
from ..list_jobs import ListJobsRequest
from ..list_models import ListModelsRequest
from ..refresh_job import RefreshJobRequest
from ..text import command as named
from ..use_model import UseModelRequest
from .base import Invocation, Reply, command
from .grammar import CommandSpec, Param


@command(
    CommandSpec(
        "jobs",
        "List training jobs, or refresh and show one.",
        (Param("job_id", "a job id"),),
        trainer_only=True,
    )
)
async def jobs(call: Invocation) -> Reply:
    job_id = call.text("job_id")
    if job_id:
        refreshed = await call.use_cases.refresh_job.execute(
            RefreshJobRequest(actor=call.actor, job_id=job_id)
        )
        text = reports.job(refreshed.job)
        return Reply(f"{text}\n  note: {refreshed.note}" if refreshed.note else text)
    listed = await call.use_cases.list_jobs.execute(ListJobsRequest(actor=call.actor))
    if not listed.jobs:
        return Reply(f"No training jobs yet. Start one with {named('train')}.")
    return Reply("\n".join(reports.job(job) for job in listed.jobs))


@command(
    CommandSpec(
        "cancel",
        "Cancel a training job.",
        (Param("job_id", "a job id", required=True),),
        trainer_only=True,
    )
)
async def cancel(call: Invocation) -> Reply:
    result = await call.use_cases.cancel_job.execute(
        CancelJobRequest(actor=call.actor, job_id=call.text("job_id") or "")
    )
    return Reply(reports.job(result.job))


@command(CommandSpec("models", "List the models I can answer with.", trainer_only=True))
async def models(call: Invocation) -> Reply:
    result = await call.use_cases.list_models.execute(ListModelsRequest(actor=call.actor))
    return Reply(reports.models(result))


@command(
    CommandSpec(
        "use",
        "Answer chat with this model from now on.",
        (Param("model", "a model id from the list of models", required=True),),
        trainer_only=True,
    )
)
async def use(call: Invocation) -> Reply:
    result = await call.use_cases.use_model.execute(
        UseModelRequest(actor=call.actor, model=call.text("model") or "")
    )
    return Reply(f"Now answering with {result.model} (was {result.previous}).")
