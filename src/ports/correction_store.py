"""CorrectionStore: corrections of bot answers, kept as training data."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from trainerbot.core.entities import Correction


@runtime_checkable
class CorrectionStore(Protocol):
    """Append-only. A correction is durable when ``add`` returns."""

    async def add(self, correction: Correction) -> None: ...

    async def all(self) -> list[Correction]: ...
