"""UseModel: switch the model that answers chat."""

from __future__ import annotations

from dataclasses import dataclass

from trainerbot.ports import ModelRegistry

from .access import require_trainer
from .entities import Actor
from .errors import UnknownModel
from .text import command


@dataclass(frozen=True)
class UseModelRequest:
    actor: Actor
    model: str


@dataclass(frozen=True)
class UseModelResult:
    model: str
    previous: str


class UseModel:
    """Make a model the one that answers.

    Rules: trainers only; the model must be the configured default or a registered (trained) model
    (``UnknownModel`` otherwise); the choice is recorded and survives restarts.
    """

    def __init__(self, *, models: ModelRegistry, default_model: str) -> None:
        self._models = models
        self._default_model = default_model

    async def execute(self, request: UseModelRequest) -> UseModelResult:
        require_trainer(request.actor)
        wanted = request.model.strip()
        known = {self._default_model, *(m.id for m in await self._models.models())}
        if wanted not in known:
            raise UnknownModel(f"There is no model {wanted[:80]!r}; see {command('models')}.")
        previous = await self._models.active() or self._default_model
        await self._models.activate(wanted)
        return UseModelResult(model=wanted, previous=previous)
