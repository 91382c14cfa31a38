"""The composition root: every use case resolves, adapters follow configuration."""

import dataclasses
from pathlib import Path

import pytest

from trainerbot import Actor, AnswerRequest, CorrectionRequest
from trainerbot.adapters.memory import (
    InMemoryChatModel,
    InMemoryCorrectionStore,
    InMemoryInteractionLog,
)
from trainerbot.adapters.storage import FilesystemWorkspace, JsonlCorrectionStore
from trainerbot.adapters.unavailable import UnavailableChatModel
from trainerbot.config import Settings
from trainerbot.container import Container, create_container
from trainerbot.core.use_cases import UseCases


def test_every_use_case_resolves_from_a_container_wired_to_memory() -> None:
    sut = create_container(Settings(storage="memory"))
    use_cases = sut.use_cases()
    assert isinstance(use_cases, UseCases)
    for field in dataclasses.fields(UseCases):
        resolved = getattr(use_cases, field.name)
        assert type(resolved).__name__ == field.type  # the annotation, e.g. "AnswerMessage"
        assert callable(resolved.execute)
    assert isinstance(sut.interactions(), InMemoryInteractionLog)
    assert isinstance(sut.corrections(), InMemoryCorrectionStore)


async def test_use_cases_share_one_instance_of_each_adapter() -> None:
    sut = create_container(Settings(storage="memory"))
    sut.chat_model.override(InMemoryChatModel(lambda messages, model: "Lyon"))
    use_cases = sut.use_cases()
    ada = Actor(id="ada", name="Ada")

    await use_cases.answer_message.execute(
        AnswerRequest(conversation_id="c", author=ada, text="Capital of France?", message_id="7")
    )
    # The correction finds the answer: both use cases hold the same interaction log.
    await use_cases.record_correction.execute(
        CorrectionRequest(actor=ada, message_id="7", text="Paris")
    )
    [correction] = sut.corrections().corrections
    assert correction.wrong_answer == "Lyon"


def test_filesystem_storage_lives_in_the_configured_workspace(tmp_path: Path) -> None:
    sut = create_container(Settings(workspace=tmp_path / "ws"))
    assert isinstance(sut.workspace(), FilesystemWorkspace)
    assert isinstance(sut.corrections(), JsonlCorrectionStore)
    assert {p.name for p in (tmp_path / "ws").iterdir()} >= {"datasets", "archives", "exports"}


@pytest.mark.parametrize(
    ("settings", "backend"),
    [
        (Settings(storage="memory"), "local"),
        (Settings(storage="memory", openai_base_url="http://127.0.0.1:9/v1"), "openai"),
    ],
)
def test_the_chat_backend_follows_configuration_and_says_what_is_missing(
    settings: Settings, backend: str
) -> None:
    sut = create_container(settings)
    assert settings.resolved_chat_backend == backend
    assert isinstance(sut.chat_model(), UnavailableChatModel)
    assert sut.chat_model().reason


def test_nothing_is_built_until_asked() -> None:
    # Declaring and binding the container constructs no adapter (no workspace folder appears).
    Container(settings=Settings(workspace=Path("never-created")))
    assert not Path("never-created").exists()
