"""The DatasetStore contract, run against the in-memory store and the filesystem store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from contract_support import Opener, same_instance

from trainerbot.adapters.memory import InMemoryDatasetStore
from trainerbot.adapters.storage import FilesystemDatasetStore
from trainerbot.core.entities import ChatMessage, Dataset, Example, Role, Task
from trainerbot.core.errors import InvalidInput, UnknownDataset
from trainerbot.ports import DatasetStore

IMPLEMENTATIONS: dict[str, Callable[[Path], Opener[DatasetStore]]] = {
    "memory": lambda tmp: same_instance(InMemoryDatasetStore()),
    "filesystem": lambda tmp: lambda: FilesystemDatasetStore(tmp / "workspace"),
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Opener[DatasetStore]:
    return IMPLEMENTATIONS[request.param](tmp_path)


@pytest.fixture
def store(open_store: Opener[DatasetStore]) -> DatasetStore:
    return open_store()


def reviews(name: str = "reviews", *labels: str) -> Dataset:
    examples = tuple(
        Example.single_turn(f"text {n}", label, origin=f"line {n}")
        for n, label in enumerate(labels or ("positive", "negative"), start=1)
    )
    return Dataset(name=name, task=Task.CLASSIFICATION, examples=examples, source="reviews.csv")


def chats(name: str = "chats") -> Dataset:
    conversation = (
        ChatMessage(Role.SYSTEM, "Answer briefly."),
        ChatMessage(Role.USER, "hi"),
        ChatMessage(Role.ASSISTANT, "hello"),
        ChatMessage(Role.USER, "and the weather?"),
    )
    example = Example(
        prompt=conversation, completion="Sunny.", rejected="Rainy.", origin="correction cor-1"
    )
    return Dataset(name=name, task=Task.CHAT, examples=(example,), source="corrections")


def test_it_implements_the_port(store: DatasetStore) -> None:
    assert isinstance(store, DatasetStore)


@pytest.mark.parametrize("saved", [reviews(), chats()], ids=["classification", "chat"])
async def test_a_saved_dataset_comes_back_whole(store: DatasetStore, saved: Dataset) -> None:
    await store.save(saved)

    assert await store.get(saved.name) == saved


async def test_a_new_version_replaces_the_old_one_as_current(store: DatasetStore) -> None:
    await store.save(reviews("reviews", "positive", "negative"))
    newer = reviews("reviews", "positive", "negative", "positive")

    await store.save(newer)

    assert await store.get("reviews") == newer


async def test_saving_an_older_version_again_makes_it_current(store: DatasetStore) -> None:
    older = reviews("reviews", "positive")
    await store.save(older)
    await store.save(reviews("reviews", "negative"))

    await store.save(older)

    assert await store.get("reviews") == older


async def test_get_of_an_unknown_dataset_is_none(store: DatasetStore) -> None:
    await store.save(reviews())

    assert await store.get("nothing-here") is None


async def test_names_are_sorted_and_listed_once(store: DatasetStore) -> None:
    await store.save(reviews("zeta"))
    await store.save(reviews("alpha"))
    await store.save(reviews("zeta", "negative"))

    assert await store.names() == ["alpha", "zeta"]


async def test_nothing_is_selected_at_first(store: DatasetStore) -> None:
    await store.save(reviews())

    assert await store.selected() is None


async def test_select_remembers_the_dataset_and_the_last_choice_wins(store: DatasetStore) -> None:
    await store.save(reviews("a"))
    await store.save(reviews("b"))

    await store.select("a")
    await store.select("b")

    assert await store.selected() == "b"


async def test_select_of_an_unknown_dataset_is_refused_and_changes_nothing(
    store: DatasetStore,
) -> None:
    await store.save(reviews("a"))
    await store.select("a")

    with pytest.raises(UnknownDataset):
        await store.select("nothing-here")

    assert await store.selected() == "a"


@pytest.mark.parametrize("name", ["", ".hidden", "../escape", "a/b", "with space", "x" * 65])
async def test_a_name_that_could_not_be_stored_safely_is_invalid_input(
    store: DatasetStore, name: str
) -> None:
    with pytest.raises(InvalidInput):
        await store.save(reviews(name))
    with pytest.raises(InvalidInput):
        await store.get(name)


async def test_datasets_and_the_selection_are_durable(open_store: Opener[DatasetStore]) -> None:
    store = open_store()
    await store.save(reviews("a"))
    await store.save(chats("b"))
    await store.select("b")

    reopened = open_store()

    assert await reopened.names() == ["a", "b"]
    assert await reopened.get("b") == chats("b")
    assert await reopened.selected() == "b"
