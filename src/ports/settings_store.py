"""SettingsStore: one tenant's own settings (persona, trainer role)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from trainerbot.core.entities import TenantSettings


@runtime_checkable
class SettingsStore(Protocol):
    """The latest saved settings win. Durable when ``save`` returns."""

    async def get(self) -> TenantSettings: ...

    async def save(self, settings: TenantSettings) -> None: ...
