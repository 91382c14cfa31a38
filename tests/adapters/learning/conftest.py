"""Fixtures of the learning adapter tests: an artifact store on a temporary workspace, a scripted
base chat model, and the trainers and chat model built on them."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from learning_support import BASE_MODEL, BASE_REPLY

from trainerbot.adapters.learning import (
    FewShotModelTrainer,
    FilesystemArtifactStore,
    LocalModelTrainer,
    TrainedChatModel,
)
from trainerbot.adapters.memory import InMemoryChatModel
from trainerbot.core.entities import ChatMessage


def _base_reply(messages: Sequence[ChatMessage], model: str) -> str:
    return BASE_REPLY


@pytest.fixture
def models_root(tmp_path: Path) -> Path:
    return tmp_path / "workspace" / "models"


@pytest.fixture
def artifacts(models_root: Path) -> FilesystemArtifactStore:
    return FilesystemArtifactStore(models_root)


@pytest.fixture
def base() -> InMemoryChatModel:
    return InMemoryChatModel(_base_reply)


@pytest.fixture
def fewshot(artifacts: FilesystemArtifactStore) -> Iterator[FewShotModelTrainer]:
    trainer = FewShotModelTrainer(artifacts, base_model=BASE_MODEL)
    yield trainer
    trainer.close()


@pytest.fixture
def local(
    artifacts: FilesystemArtifactStore, fewshot: FewShotModelTrainer
) -> Iterator[LocalModelTrainer]:
    trainer = LocalModelTrainer(artifacts, chat_trainer=fewshot)
    yield trainer
    trainer.close()


@pytest.fixture
def chat(artifacts: FilesystemArtifactStore, base: InMemoryChatModel) -> Iterator[TrainedChatModel]:
    model = TrainedChatModel(base, artifacts)
    yield model
    model.close()


@pytest.fixture
def no_full_collections() -> Iterator[None]:
    """Collect, then freeze what the test session holds, for the event-loop tests.

    A full garbage collection walks the whole session's heap and stops every thread, the event
    loop's too: measured at 0.4 s in the full suite. That pause is the interpreter's, not the
    adapter's, and is not what those tests measure; frozen objects are not walked again.
    """
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()
