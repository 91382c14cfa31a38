"""The CorrectionStore contract, run against the in-memory store,
the JSON Lines store and the SQL store (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from contract_support import Opener, correction, same_instance
from sql_contract_support import implementations, opened

from trainerbot.adapters.memory import InMemoryCorrectionStore
from trainerbot.adapters.sql import SqlCorrectionStore
from trainerbot.adapters.storage import JsonlCorrectionStore
from trainerbot.ports import CorrectionStore

IMPLEMENTATIONS: dict[str, Callable[[Path], Opener[CorrectionStore]]] = {
    "memory": lambda tmp: same_instance(InMemoryCorrectionStore()),
    "jsonl": lambda tmp: lambda: JsonlCorrectionStore(tmp / "records" / "corrections.jsonl"),
}


@pytest.fixture(params=implementations(IMPLEMENTATIONS))
async def open_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Opener[CorrectionStore]]:
    async with opened(request, tmp_path, IMPLEMENTATIONS, SqlCorrectionStore) as opener:
        yield opener


@pytest.fixture
def store(open_store: Opener[CorrectionStore]) -> CorrectionStore:
    return open_store()


def test_it_implements_the_port(store: CorrectionStore) -> None:
    assert isinstance(store, CorrectionStore)


async def test_an_empty_store_has_no_corrections(store: CorrectionStore) -> None:
    assert await store.all() == []


async def test_corrections_come_back_whole_in_the_order_they_were_added(
    store: CorrectionStore,
) -> None:
    for number in (3, 1, 2):
        await store.add(correction(number))

    assert await store.all() == [correction(3), correction(1), correction(2)]


async def test_all_returns_a_list_the_caller_may_change(store: CorrectionStore) -> None:
    await store.add(correction(1))

    (await store.all()).clear()

    assert await store.all() == [correction(1)]


async def test_a_correction_is_durable_when_add_returns(
    open_store: Opener[CorrectionStore],
) -> None:
    await open_store().add(correction(1))

    assert await open_store().all() == [correction(1)]
