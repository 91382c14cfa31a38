"""DatasetStore: saved, versioned datasets, and which one ``!train`` uses by default."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from trainerbot.core.entities import Dataset


@runtime_checkable
class DatasetStore(Protocol):
    async def save(self, dataset: Dataset) -> None:
        """Store ``dataset`` under its name (a new version replaces the old one as current)."""
        ...

    async def get(self, name: str) -> Dataset | None: ...

    async def names(self) -> list[str]: ...

    async def select(self, name: str) -> None:
        """Make ``name`` the dataset ``!train`` uses when given no data."""
        ...

    async def selected(self) -> str | None: ...
