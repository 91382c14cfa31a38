"""The SettingsStore contract, run against the in-memory store,
the JSON Lines store and the SQL store (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from contract_support import Opener, same_instance
from sql_contract_support import implementations, opened

from trainerbot.adapters.memory import InMemorySettingsStore
from trainerbot.adapters.sql import SqlSettingsStore
from trainerbot.adapters.storage import JsonlSettingsStore
from trainerbot.core.entities import TenantSettings
from trainerbot.ports import SettingsStore

IMPLEMENTATIONS: dict[str, Callable[[Path], Opener[SettingsStore]]] = {
    "memory": lambda tmp: same_instance(InMemorySettingsStore()),
    "jsonl": lambda tmp: lambda: JsonlSettingsStore(tmp / "records" / "settings.jsonl"),
}


@pytest.fixture(params=implementations(IMPLEMENTATIONS))
async def open_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Opener[SettingsStore]]:
    async with opened(request, tmp_path, IMPLEMENTATIONS, SqlSettingsStore) as opener:
        yield opener


@pytest.fixture
def store(open_store: Opener[SettingsStore]) -> SettingsStore:
    return open_store()


def test_it_implements_the_port(store: SettingsStore) -> None:
    assert isinstance(store, SettingsStore)


async def test_nothing_saved_is_the_configured_defaults(store: SettingsStore) -> None:
    assert await store.get() == TenantSettings()


async def test_the_latest_saved_settings_win(store: SettingsStore) -> None:
    await store.save(TenantSettings(persona="You are terse.", trainer_role="Coach"))
    await store.save(TenantSettings(persona="You are kind.", trainer_role=None))

    assert await store.get() == TenantSettings(persona="You are kind.", trainer_role=None)


async def test_saving_the_defaults_again_clears_a_choice(store: SettingsStore) -> None:
    await store.save(TenantSettings(persona="You are terse."))
    await store.save(TenantSettings())

    assert await store.get() == TenantSettings()


async def test_settings_are_durable_when_save_returns(open_store: Opener[SettingsStore]) -> None:
    await open_store().save(TenantSettings(persona="Speak like a pirate.", trainer_role="Crew"))

    assert await open_store().get() == TenantSettings(
        persona="Speak like a pirate.", trainer_role="Crew"
    )
