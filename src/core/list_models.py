"""ListModels: the models the bot can answer with, and which one answers now."""

from __future__ import annotations

from dataclasses import dataclass

from trainerbot.ports import ModelRegistry

from .access import require_trainer
from .entities import Actor, TrainedModel


@dataclass(frozen=True)
class ListModelsRequest:
    actor: Actor


@dataclass(frozen=True)
class ListModelsResult:
    models: tuple[TrainedModel, ...]
    active: str


class ListModels:
    """List models. Rules: trainers only; the configured default model is always listed first."""

    def __init__(self, *, models: ModelRegistry, default_model: str) -> None:
        self._models = models
        self._default_model = default_model

    async def execute(self, request: ListModelsRequest) -> ListModelsResult:
        require_trainer(request.actor)
        trained = [m for m in await self._models.models() if m.id != self._default_model]
        active = await self._models.active() or self._default_model
        return ListModelsResult((TrainedModel(id=self._default_model), *trained), active)
