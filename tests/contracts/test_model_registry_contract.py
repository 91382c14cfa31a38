"""The ModelRegistry contract, run against the in-memory registry,
the JSON Lines registry and the SQL registry (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from contract_support import START, Opener, same_instance
from sql_contract_support import implementations, opened

from trainerbot.adapters.memory import InMemoryModelRegistry
from trainerbot.adapters.sql import SqlModelRegistry
from trainerbot.adapters.storage import JsonlModelRegistry
from trainerbot.core.entities import TrainedModel
from trainerbot.ports import ModelRegistry

IMPLEMENTATIONS: dict[str, Callable[[Path], Opener[ModelRegistry]]] = {
    "memory": lambda tmp: same_instance(InMemoryModelRegistry()),
    "jsonl": lambda tmp: lambda: JsonlModelRegistry(tmp / "records" / "models.jsonl"),
}


@pytest.fixture(params=implementations(IMPLEMENTATIONS))
async def open_registry(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Opener[ModelRegistry]]:
    async with opened(request, tmp_path, IMPLEMENTATIONS, SqlModelRegistry) as opener:
        yield opener


@pytest.fixture
def registry(open_registry: Opener[ModelRegistry]) -> ModelRegistry:
    return open_registry()


def model(model_id: str, **changes: object) -> TrainedModel:
    values: dict[str, object] = {
        "id": model_id,
        "trainer": "fewshot",
        "job_id": f"job-{model_id}",
        "dataset_version": "1a2b3c4d5e6f",
        "base_model": "base-chat",
        "created_at": START,
    }
    values.update(changes)
    return TrainedModel(**values)  # type: ignore[arg-type]


def test_it_implements_the_port(registry: ModelRegistry) -> None:
    assert isinstance(registry, ModelRegistry)


async def test_a_new_registry_has_no_models_and_none_active(registry: ModelRegistry) -> None:
    assert await registry.models() == []
    assert await registry.active() is None


async def test_registered_models_come_back_in_the_order_they_were_registered(
    registry: ModelRegistry,
) -> None:
    await registry.register(model("fewshot:b"))
    await registry.register(model("fewshot:a"))

    assert await registry.models() == [model("fewshot:b"), model("fewshot:a")]


async def test_a_model_registered_again_is_listed_once_as_last_registered(
    registry: ModelRegistry,
) -> None:
    await registry.register(model("fewshot:a"))
    await registry.register(model("fewshot:b"))
    await registry.register(model("fewshot:a", base_model="other-base"))

    assert await registry.models() == [
        model("fewshot:a", base_model="other-base"),
        model("fewshot:b"),
    ]


async def test_the_last_activation_is_active(registry: ModelRegistry) -> None:
    await registry.register(model("fewshot:a"))
    await registry.register(model("fewshot:b"))

    await registry.activate("fewshot:a")
    await registry.activate("fewshot:b")

    assert await registry.active() == "fewshot:b"


async def test_a_model_that_was_never_registered_can_be_active(registry: ModelRegistry) -> None:
    # A provider's base model is answerable without being registered.
    await registry.activate("gpt-4o-mini")

    assert await registry.active() == "gpt-4o-mini"
    assert await registry.models() == []


async def test_models_and_the_activation_are_durable(open_registry: Opener[ModelRegistry]) -> None:
    registry = open_registry()
    await registry.register(model("fewshot:a"))
    await registry.activate("fewshot:a")

    reopened = open_registry()

    assert await reopened.models() == [model("fewshot:a")]
    assert await reopened.active() == "fewshot:a"
