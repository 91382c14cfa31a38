"""Shared fixtures of the use-case tests: two actors, fresh in-memory adapters, a refusal check."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest

from trainerbot.adapters.memory import (
    InMemoryAudioConverter,
    InMemoryChatModel,
    InMemoryCorrectionStore,
    InMemoryDatasetStore,
    InMemoryFeedbackStore,
    InMemoryInteractionLog,
    InMemoryJobStore,
    InMemoryModelRegistry,
    InMemoryModelTrainer,
    InMemorySpeechToText,
    InMemoryTextToSpeech,
    InMemoryVoiceOutput,
    InMemoryWorkspace,
)
from trainerbot.core.entities import Actor
from trainerbot.core.errors import TrainerbotError

Refuses = Callable[[type[TrainerbotError]], AbstractContextManager[pytest.ExceptionInfo[Exception]]]


@contextmanager
def _refuses(error_type: type[TrainerbotError]) -> Iterator[pytest.ExceptionInfo[Exception]]:
    """Expect exactly ``error_type`` (not a subclass, not a parent) with a one-line user message."""
    with pytest.raises(TrainerbotError) as caught:
        yield caught
    assert type(caught.value) is error_type, f"raised {type(caught.value).__name__}: {caught.value}"
    message = str(caught.value)
    assert message.strip(), "the user-facing message is empty"
    assert len(message.splitlines()) == 1, f"not one line: {message!r}"


@pytest.fixture
def refuses() -> Refuses:
    """``with refuses(PermissionDenied): ...`` — the exact error type and a one-line message."""
    return _refuses


# --- actors ----------------------------------------------------------------------------------


@pytest.fixture
def trainer() -> Actor:
    return Actor(id="u-trainer", name="Tess", can_train=True)


@pytest.fixture
def member() -> Actor:
    """A member without the trainer role."""
    return Actor(id="u-member", name="Max", can_train=False)


# --- fresh in-memory adapters ----------------------------------------------------------------


@pytest.fixture
def chat_model() -> InMemoryChatModel:
    return InMemoryChatModel()


@pytest.fixture
def interactions() -> InMemoryInteractionLog:
    return InMemoryInteractionLog()


@pytest.fixture
def corrections() -> InMemoryCorrectionStore:
    return InMemoryCorrectionStore()


@pytest.fixture
def feedback() -> InMemoryFeedbackStore:
    return InMemoryFeedbackStore()


@pytest.fixture
def jobs() -> InMemoryJobStore:
    return InMemoryJobStore()


@pytest.fixture
def datasets() -> InMemoryDatasetStore:
    return InMemoryDatasetStore()


@pytest.fixture
def models() -> InMemoryModelRegistry:
    return InMemoryModelRegistry()


@pytest.fixture
def model_trainer() -> InMemoryModelTrainer:
    return InMemoryModelTrainer("memory")


@pytest.fixture
def workspace() -> InMemoryWorkspace:
    return InMemoryWorkspace()


@pytest.fixture
def converter() -> InMemoryAudioConverter:
    return InMemoryAudioConverter()


@pytest.fixture
def speech_to_text() -> InMemorySpeechToText:
    return InMemorySpeechToText("hello there")


@pytest.fixture
def text_to_speech() -> InMemoryTextToSpeech:
    return InMemoryTextToSpeech()


@pytest.fixture
def voice() -> InMemoryVoiceOutput:
    return InMemoryVoiceOutput()
