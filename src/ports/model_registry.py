"""ModelRegistry: the models the bot can answer with, and which one is active."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from trainerbot.core.entities import TrainedModel


@runtime_checkable
class ModelRegistry(Protocol):
    async def register(self, model: TrainedModel) -> None: ...

    async def models(self) -> list[TrainedModel]: ...

    async def activate(self, model_id: str) -> None: ...

    async def active(self) -> str | None:
        """The active model id, or None for the configured default."""
        ...
