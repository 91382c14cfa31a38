"""The FeedbackStore contract, run against the in-memory store and the JSON Lines store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from contract_support import Opener, feedback, same_instance

from trainerbot.adapters.memory import InMemoryFeedbackStore
from trainerbot.adapters.storage import JsonlFeedbackStore
from trainerbot.ports import FeedbackStore

IMPLEMENTATIONS: dict[str, Callable[[Path], Opener[FeedbackStore]]] = {
    "memory": lambda tmp: same_instance(InMemoryFeedbackStore()),
    "jsonl": lambda tmp: lambda: JsonlFeedbackStore(tmp / "records" / "feedback.jsonl"),
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Opener[FeedbackStore]:
    return IMPLEMENTATIONS[request.param](tmp_path)


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
