"""Corrections, feedback, training jobs and models as append-only JSON Lines files.

Nothing is ever rewritten: a job's new state and a model's activation are new lines, and the
latest line wins when the file is folded. The history stays on disk for whoever needs to audit it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trainerbot.core.entities import (
    Correction,
    Feedback,
    TenantSettings,
    TrainedModel,
    TrainingJob,
)
from trainerbot.core.jobs import supersedes
from trainerbot.ports import (
    CorrectionStore,
    FeedbackStore,
    JobStore,
    ModelRegistry,
    SettingsStore,
)

from .._records import (
    ACTIVATE,
    MODEL,
    RecordError,
    activate_from_record,
    activate_record,
    correction_from_record,
    correction_to_record,
    feedback_from_record,
    feedback_to_record,
    job_from_record,
    job_to_record,
    model_from_record,
    model_to_record,
    settings_from_record,
    settings_record,
)
from ._jsonl_store import JsonlStore


class JsonlCorrectionStore(JsonlStore[list[Correction]], CorrectionStore):
    """Corrections in ``records/corrections.jsonl``, in the order they were made."""

    def _new_state(self) -> list[Correction]:
        return []

    def _apply(self, state: list[Correction], record: Mapping[str, Any]) -> None:
        state.append(correction_from_record(record))

    async def add(self, correction: Correction) -> None:
        await self._append(correction_to_record(correction))

    async def all(self) -> list[Correction]:
        return list(await self._loaded())


class JsonlFeedbackStore(JsonlStore[list[Feedback]], FeedbackStore):
    """Feedback in ``records/feedback.jsonl``, in the order it was given."""

    def _new_state(self) -> list[Feedback]:
        return []

    def _apply(self, state: list[Feedback], record: Mapping[str, Any]) -> None:
        state.append(feedback_from_record(record))

    async def add(self, feedback: Feedback) -> None:
        await self._append(feedback_to_record(feedback))

    async def all(self) -> list[Feedback]:
        return list(await self._loaded())


class JsonlJobStore(JsonlStore[dict[str, TrainingJob]], JobStore):
    """Every state of every training job in ``records/jobs.jsonl``; the latest one counts."""

    def _new_state(self) -> dict[str, TrainingJob]:
        # A dict keeps the position of a key's first insertion: jobs stay in order of creation.
        return {}

    def _apply(self, state: dict[str, TrainingJob], record: Mapping[str, Any]) -> None:
        job = job_from_record(record)
        state[job.id] = job

    async def save(self, job: TrainingJob) -> None:
        if supersedes(job, (await self._loaded()).get(job.id)):
            await self._append(job_to_record(job))

    async def get(self, job_id: str) -> TrainingJob | None:
        return (await self._loaded()).get(job_id)

    async def all(self) -> list[TrainingJob]:
        return list((await self._loaded()).values())


@dataclass
class _Models:
    by_id: dict[str, TrainedModel] = field(default_factory=dict)
    active: str | None = None


class JsonlModelRegistry(JsonlStore[_Models], ModelRegistry):
    """Registered models and activations in ``records/models.jsonl``; the last activation wins."""

    def _new_state(self) -> _Models:
        return _Models()

    def _apply(self, state: _Models, record: Mapping[str, Any]) -> None:
        kind = record.get("type")
        if kind == MODEL:
            model = model_from_record(record)
            state.by_id[model.id] = model
        elif kind == ACTIVATE:
            state.active = activate_from_record(record)
        else:
            raise RecordError(f"unexpected record type {kind!r}")

    async def register(self, model: TrainedModel) -> None:
        await self._append(model_to_record(model))

    async def models(self) -> list[TrainedModel]:
        return list((await self._loaded()).by_id.values())

    async def activate(self, model_id: str) -> None:
        # Not checked against the registered models: a provider's base model can be active too.
        await self._append(activate_record(model_id))

    async def active(self) -> str | None:
        return (await self._loaded()).active


class JsonlSettingsStore(JsonlStore[list[TenantSettings]], SettingsStore):
    """A tenant's settings in ``records/settings.jsonl``; each change is a new line, the last wins."""

    def _new_state(self) -> list[TenantSettings]:
        return [TenantSettings()]

    def _apply(self, state: list[TenantSettings], record: Mapping[str, Any]) -> None:
        state[0] = settings_from_record(record)

    async def get(self) -> TenantSettings:
        return (await self._loaded())[0]

    async def save(self, settings: TenantSettings) -> None:
        await self._append(settings_record(settings))
