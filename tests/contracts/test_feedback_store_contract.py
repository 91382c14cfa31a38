"""The FeedbackStore contract, run against the in-memory store,
the JSON Lines store and the SQL store (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from contract_support import Opener, feedback, same_instance
from sql_contract_support import implementations, opened

from trainerbot.adapters.memory import InMemoryFeedbackStore
from trainerbot.adapters.sql import SqlFeedbackStore
from trainerbot.adapters.storage import JsonlFeedbackStore
from trainerbot.ports import FeedbackStore

IMPLEMENTATIONS: dict[str, Callable[[Path], Opener[FeedbackStore]]] = {
    "memory": lambda tmp: same_instance(InMemoryFeedbackStore()),
    "jsonl": lambda tmp: lambda: JsonlFeedbackStore(tmp / "records" / "feedback.jsonl"),
}


@pytest.fixture(params=implementations(IMPLEMENTATIONS))
async def open_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Opener[FeedbackStore]]:
    async with opened(request, tmp_path, IMPLEMENTATIONS, SqlFeedbackStore) as opener:
        yield opener


@pytest.fixture
def store(open_store: Opener[FeedbackStore]) -> FeedbackStore:
    return open_store()


def test_it_implements_the_port(store: FeedbackStore) -> None:
    assert isinstance(store, FeedbackStore)


async def test_an_empty_store_has_no_feedback(store: FeedbackStore) -> None:
    assert await store.all() == []


async def test_feedback_comes_back_whole_in_the_order_it_was_given(store: FeedbackStore) -> None:
    given = [
        feedback(1),
        feedback(2),
        # A general remark: no rating, about no answer.
        feedback(3, rating=None, interaction_id=None, message_id=None),
    ]
    for item in given:
        await store.add(item)

    assert await store.all() == given


async def test_all_returns_a_list_the_caller_may_change(store: FeedbackStore) -> None:
    await store.add(feedback(1))

    (await store.all()).clear()

    assert await store.all() == [feedback(1)]


async def test_feedback_is_durable_when_add_returns(open_store: Opener[FeedbackStore]) -> None:
    await open_store().add(feedback(1))

    assert await open_store().all() == [feedback(1)]
