"""Sentences that name a command use the prefix in effect (``TRAINERBOT_COMMAND_PREFIX``).

Each refusal that tells the user which command to type is triggered through its use case, with
in-memory adapters, under ``command_prefix("?")``: it names the command with ``?`` and never
with ``!``. Messages are written when the error is raised, so the prefix is the raiser's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from trainerbot.adapters.learning import InMemoryArtifactStore, lora_adapter_path
from trainerbot.adapters.learning.artifacts import parse_model_id
from trainerbot.adapters.memory import (
    InMemoryChatModel,
    InMemoryCorrectionStore,
    InMemoryDatasetStore,
    InMemoryFeedbackStore,
    InMemoryInteractionLog,
    InMemoryJobStore,
    InMemoryModelRegistry,
    InMemoryModelTrainer,
    InMemoryTextToSpeech,
    InMemoryVoiceOutput,
    InMemoryWorkspace,
)
from trainerbot.core.cancel_job import CancelJob, CancelJobRequest
from trainerbot.core.entities import Actor, Dataset, Example, Task
from trainerbot.core.errors import (
    EmptyMessage,
    InvalidArgument,
    TrainerbotError,
    UnknownCommand,
    UnknownJob,
    UnknownMessage,
    UnknownModel,
    VoiceNotConnected,
)
from trainerbot.core.evaluation import Prediction, evaluate
from trainerbot.core.fix_failure import FixFailure, FixFailureRequest, RecentTests
from trainerbot.core.record_correction import CorrectionRequest, RecordCorrection
from trainerbot.core.record_feedback import FeedbackRequest, RecordFeedback
from trainerbot.core.speak_reply import SpeakReply, SpeakRequest
from trainerbot.core.test_model import TestModel, TestRequest
from trainerbot.core.text import command_prefix
from trainerbot.core.train_model import TrainModel, TrainRequest
from trainerbot.core.use_model import UseModel, UseModelRequest

# A command written with the default prefix: "!jobs", "!fix" (not "!r}" or a sentence's "!").
BANG_COMMAND = re.compile(r"![a-z_]")


@pytest.fixture(autouse=True)
def question_mark() -> Iterator[None]:
    with command_prefix("?"):
        yield


def names_with_question_mark(error: BaseException, *commands: str) -> None:
    """``error`` names each of ``commands`` with ``?`` and no command with ``!``."""
    message = str(error)
    for name in commands:
        assert f"?{name}" in message, f"{name} not named with ?: {message!r}"
    assert not BANG_COMMAND.search(message), f"a command with !: {message!r}"


# --- default messages: written when raised ------------------------------------------------------


@pytest.mark.parametrize(
    ("error_type", "name"),
    [(UnknownCommand, "help"), (InvalidArgument, "help"), (VoiceNotConnected, "join")],
)
def test_default_messages_name_commands_with_the_prefix_in_effect(
    error_type: type[TrainerbotError], name: str
) -> None:
    names_with_question_mark(error_type(), name)
    with command_prefix("!"):
        assert f"!{name}" in str(error_type())


def test_a_message_given_by_the_raiser_is_kept() -> None:
    assert str(UnknownCommand("Unknown command ?frob.")) == "Unknown command ?frob."


async def test_speaking_with_no_voice_channel_says_to_join_first(refuses: Any) -> None:
    sut = SpeakReply(
        text_to_speech=InMemoryTextToSpeech(),
        voice=InMemoryVoiceOutput(connected=set()),
        language="en",
    )

    with refuses(VoiceNotConnected) as caught:
        await sut.execute(SpeakRequest(text="Hello there.", target="guild-1"))
    names_with_question_mark(caught.value, "join")


# --- use cases -------------------------------------------------------------------------------


async def test_empty_feedback_names_feedback(trainer: Actor, refuses: Any) -> None:
    sut = RecordFeedback(feedback=InMemoryFeedbackStore(), interactions=InMemoryInteractionLog())

    with refuses(EmptyMessage) as caught:
        await sut.execute(FeedbackRequest(actor=trainer, text="  "))
    names_with_question_mark(caught.value, "feedback")


@pytest.mark.parametrize(("job_id", "error_type"), [("", InvalidArgument), ("nope", UnknownJob)])
async def test_a_missing_or_unknown_job_points_to_jobs(
    trainer: Actor, refuses: Any, job_id: str, error_type: type[TrainerbotError]
) -> None:
    sut = CancelJob(trainers={}, jobs=InMemoryJobStore())

    with refuses(error_type) as caught:
        await sut.execute(CancelJobRequest(actor=trainer, job_id=job_id))
    names_with_question_mark(caught.value, "jobs")


@pytest.mark.parametrize(
    ("message_id", "error_type"), [("", InvalidArgument), ("42", UnknownMessage)]
)
async def test_a_correction_without_a_known_answer_shows_how_to_correct(
    trainer: Actor, refuses: Any, message_id: str, error_type: type[TrainerbotError]
) -> None:
    sut = RecordCorrection(
        interactions=InMemoryInteractionLog(), corrections=InMemoryCorrectionStore()
    )

    with refuses(error_type) as caught:
        await sut.execute(CorrectionRequest(actor=trainer, message_id=message_id, text="right"))
    names_with_question_mark(caught.value, "correct")


async def test_using_an_unknown_model_points_to_models(trainer: Actor, refuses: Any) -> None:
    sut = UseModel(models=InMemoryModelRegistry(), default_model="base")

    with refuses(UnknownModel) as caught:
        await sut.execute(UseModelRequest(actor=trainer, model="ft:nope"))
    names_with_question_mark(caught.value, "models")


async def test_testing_an_unknown_trained_model_points_to_models(
    trainer: Actor, refuses: Any
) -> None:
    sut = TestModel(
        chat_model=InMemoryChatModel(),
        datasets=InMemoryDatasetStore(),
        models=InMemoryModelRegistry(),
        default_model="base",
    )

    with refuses(UnknownModel) as caught:
        await sut.execute(TestRequest(actor=trainer, data='{"q": "a"}', model="ft:nope"))
    names_with_question_mark(caught.value, "models")


async def test_training_with_no_data_and_no_selection_names_select_dataset(
    trainer: Actor, refuses: Any
) -> None:
    sut = TrainModel(
        trainers={"memory": InMemoryModelTrainer("memory")},
        default_trainer="memory",
        datasets=InMemoryDatasetStore(),
        corrections=InMemoryCorrectionStore(),
        jobs=InMemoryJobStore(),
        models=InMemoryModelRegistry(),
        workspace=InMemoryWorkspace(),
    )

    with refuses(InvalidArgument) as caught:
        await sut.execute(TrainRequest(actor=trainer))
    names_with_question_mark(caught.value, "select_dataset")


# --- fixing a test's failure -------------------------------------------------------------------


@pytest.fixture
def recent() -> RecentTests:
    return RecentTests()


@pytest.fixture
def fix_failure(recent: RecentTests) -> FixFailure:
    return FixFailure(recent=recent, corrections=InMemoryCorrectionStore())


async def test_fixing_before_any_test_names_test_and_fix(
    fix_failure: FixFailure, trainer: Actor, refuses: Any
) -> None:
    with refuses(InvalidArgument) as caught:
        await fix_failure.execute(FixFailureRequest(actor=trainer, number="1"))
    names_with_question_mark(caught.value, "test", "fix")


async def test_a_failure_number_that_is_no_number_names_test_and_fix(
    fix_failure: FixFailure, recent: RecentTests, trainer: Actor, refuses: Any
) -> None:
    example = Example.single_turn("q", "a")
    recent.remember(
        trainer.id, evaluate("m", Dataset("d", Task.CHAT, (example,)), [Prediction(example, "x")])
    )

    with refuses(InvalidArgument) as caught:
        await fix_failure.execute(FixFailureRequest(actor=trainer, number="first"))
    names_with_question_mark(caught.value, "test", "fix")


async def test_an_unwanted_answer_to_fix_shows_fix_with_its_number(
    fix_failure: FixFailure, recent: RecentTests, trainer: Actor, refuses: Any
) -> None:
    example = Example.single_turn("joke?", "a rude joke", wanted=False)
    recent.remember(
        trainer.id,
        evaluate("m", Dataset("d", Task.CHAT, (example,)), [Prediction(example, "a rude joke")]),
    )

    with refuses(InvalidArgument) as caught:
        await fix_failure.execute(FixFailureRequest(actor=trainer, number="1"))
    names_with_question_mark(caught.value, "fix 1 <text>")


# --- trained models' store ----------------------------------------------------------------------


def test_a_malformed_model_id_points_to_models() -> None:
    with pytest.raises(UnknownModel) as caught:
        parse_model_id("not a model id")
    names_with_question_mark(caught.value, "models")


def test_a_lora_model_that_is_not_stored_points_to_models() -> None:
    with pytest.raises(UnknownModel) as caught:
        lora_adapter_path(InMemoryArtifactStore(), "lora:nothing-here")
    names_with_question_mark(caught.value, "models")
