"""ListModels: the models the bot can answer with, the configured default first."""

from __future__ import annotations

import pytest

from trainerbot.adapters.memory import InMemoryModelRegistry
from trainerbot.core.entities import Actor, TrainedModel
from trainerbot.core.errors import PermissionDenied
from trainerbot.core.list_models import ListModels, ListModelsRequest

DEFAULT = "default-model"


@pytest.fixture
def sut(models: InMemoryModelRegistry) -> ListModels:
    return ListModels(models=models, default_model=DEFAULT)


async def test_lists_only_the_default_model_when_nothing_was_trained(
    sut: ListModels, trainer: Actor
) -> None:
    result = await sut.execute(ListModelsRequest(actor=trainer))

    assert [m.id for m in result.models] == [DEFAULT]
    assert result.active == DEFAULT


async def test_lists_the_default_model_first_then_the_trained_ones(
    sut: ListModels, models: InMemoryModelRegistry, trainer: Actor
) -> None:
    trained = TrainedModel(id="fewshot:job-1", trainer="fewshot", job_id="job-1")
    await models.register(trained)
    await models.register(TrainedModel(id="local:job-2", trainer="local", job_id="job-2"))

    result = await sut.execute(ListModelsRequest(actor=trainer))

    assert [m.id for m in result.models] == [DEFAULT, "fewshot:job-1", "local:job-2"]
    assert result.models[1] == trained


async def test_the_default_model_is_listed_once_even_when_registered(
    sut: ListModels, models: InMemoryModelRegistry, trainer: Actor
) -> None:
    await models.register(TrainedModel(id="fewshot:job-1"))
    await models.register(TrainedModel(id=DEFAULT))

    result = await sut.execute(ListModelsRequest(actor=trainer))

    assert [m.id for m in result.models] == [DEFAULT, "fewshot:job-1"]


async def test_shows_the_active_model_once_one_was_chosen(
    sut: ListModels, models: InMemoryModelRegistry, trainer: Actor
) -> None:
    await models.register(TrainedModel(id="fewshot:job-1"))
    await models.activate("fewshot:job-1")

    result = await sut.execute(ListModelsRequest(actor=trainer))

    assert result.active == "fewshot:job-1"


async def test_refuses_a_member_without_the_trainer_role(
    sut: ListModels, models: InMemoryModelRegistry, member: Actor, refuses
) -> None:
    with refuses(PermissionDenied):
        await sut.execute(ListModelsRequest(actor=member))

    assert models.registered == []
    assert models.activations == []
