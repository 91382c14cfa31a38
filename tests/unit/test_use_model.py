"""UseModel: switch the model that answers chat."""

from __future__ import annotations

import pytest

from trainerbot.adapters.memory import InMemoryModelRegistry
from trainerbot.core.entities import Actor, TrainedModel
from trainerbot.core.errors import PermissionDenied, UnknownModel
from trainerbot.core.use_model import UseModel, UseModelRequest, UseModelResult

DEFAULT = "default-model"
TRAINED = "fewshot:job-1"


@pytest.fixture
async def models() -> InMemoryModelRegistry:
    registry = InMemoryModelRegistry()
    await registry.register(TrainedModel(id=TRAINED, trainer="fewshot", job_id="job-1"))
    return registry


@pytest.fixture
def sut(models: InMemoryModelRegistry) -> UseModel:
    return UseModel(models=models, default_model=DEFAULT)


async def test_switches_to_a_trained_model_and_records_the_choice(
    sut: UseModel, models: InMemoryModelRegistry, trainer: Actor
) -> None:
    result = await sut.execute(UseModelRequest(actor=trainer, model=f"  {TRAINED} "))

    assert result == UseModelResult(model=TRAINED, previous=DEFAULT)
    assert models.activations == [TRAINED]
    assert await models.active() == TRAINED


async def test_switches_back_to_the_configured_default(
    sut: UseModel, models: InMemoryModelRegistry, trainer: Actor
) -> None:
    await sut.execute(UseModelRequest(actor=trainer, model=TRAINED))

    result = await sut.execute(UseModelRequest(actor=trainer, model=DEFAULT))

    assert result == UseModelResult(model=DEFAULT, previous=TRAINED)
    assert models.activations == [TRAINED, DEFAULT]


@pytest.mark.parametrize("name", ["gpt-unknown", "", "   ", "FEWSHOT:JOB-1", "x" * 500])
async def test_refuses_a_model_that_is_neither_the_default_nor_registered_and_keeps_the_choice(
    sut: UseModel, models: InMemoryModelRegistry, trainer: Actor, refuses, name: str
) -> None:
    with refuses(UnknownModel) as caught:
        await sut.execute(UseModelRequest(actor=trainer, model=name))

    assert "x" * 81 not in str(caught.value)
    assert models.activations == []


async def test_refuses_a_member_without_the_trainer_role_and_keeps_the_choice(
    sut: UseModel, models: InMemoryModelRegistry, member: Actor, refuses
) -> None:
    with refuses(PermissionDenied):
        await sut.execute(UseModelRequest(actor=member, model=TRAINED))

    assert models.activations == []
