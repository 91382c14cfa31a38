"""FixFailure: a failure of the trainer's latest test becomes a correction, by its number."""

from __future__ import annotations

import json

import pytest

from trainerbot.adapters.memory import (
    InMemoryChatModel,
    InMemoryCorrectionStore,
    InMemoryDatasetStore,
    InMemoryModelRegistry,
)
from trainerbot.core.entities import (
    NEGATIVE,
    POSITIVE,
    Actor,
    ChatMessage,
    Correction,
    Dataset,
    Example,
    Role,
    Task,
)
from trainerbot.core.errors import (
    CorrectionUnchanged,
    InvalidArgument,
    MessageTooLong,
    PermissionDenied,
    ServiceError,
)
from trainerbot.core.evaluation import EvaluationReport, Prediction, evaluate
from trainerbot.core.fix_failure import FixFailure, FixFailureRequest, RecentTests
from trainerbot.core.limits import Limits
from trainerbot.core.test_model import TestModel, TestRequest

MODEL = "ft:chat"


@pytest.fixture
def recent() -> RecentTests:
    return RecentTests()


@pytest.fixture
def sut(recent: RecentTests, corrections: InMemoryCorrectionStore) -> FixFailure:
    return FixFailure(recent=recent, corrections=corrections)


def chat_report() -> EvaluationReport:
    """Failures, worst first: 1. q3 (nothing right), 2. q2 (half right); q1 is right."""
    examples = (
        Example.single_turn("q1", "a1"),
        Example.single_turn("q2", "the answer two"),
        Example.single_turn("q3", "a3"),
    )
    predictions = [
        Prediction(examples[0], "a1"),
        Prediction(examples[1], "answer"),
        Prediction(examples[2], "no idea"),
    ]
    return evaluate(MODEL, Dataset("qa:test", Task.CHAT, examples), predictions)


def fix(actor: Actor, number: str, text: str | None = None) -> FixFailureRequest:
    return FixFailureRequest(actor=actor, number=number, text=text)


async def test_a_failure_becomes_a_correction_of_the_expected_answer(
    sut: FixFailure, recent: RecentTests, corrections: InMemoryCorrectionStore, trainer: Actor
) -> None:
    recent.remember(trainer.id, chat_report())

    result = await sut.execute(fix(trainer, "1"))

    [stored] = corrections.corrections
    assert stored is result.correction
    assert result.number == 1
    assert result.failure.example.user_text == "q3"
    assert (stored.prompt, stored.wrong_answer, stored.corrected) == ("q3", "no idea", "a3")
    assert (stored.model, stored.author_id, stored.history) == (MODEL, trainer.id, ())
    assert (stored.interaction_id, stored.message_id) == ("", "")
    assert stored.id.startswith("cor-")
    assert stored.example() == Example(
        prompt=(ChatMessage(Role.USER, "q3"),),
        completion="a3",
        rejected="no idea",
        origin=f"correction {stored.id}",
    )


async def test_the_trainers_own_text_replaces_the_expected_answer(
    sut: FixFailure, recent: RecentTests, corrections: InMemoryCorrectionStore, trainer: Actor
) -> None:
    recent.remember(trainer.id, chat_report())

    result = await sut.execute(fix(trainer, " #2 ", "  the second answer "))

    assert result.correction.prompt == "q2"
    assert result.correction.wrong_answer == "answer"
    assert result.correction.corrected == "the second answer"
    assert len(corrections.corrections) == 1


async def test_a_conversation_before_the_question_is_kept_as_history(
    sut: FixFailure, recent: RecentTests, trainer: Actor
) -> None:
    # "And 2+2?" refers back: its example keeps the exchange before it (Correction.example).
    earlier = (ChatMessage(Role.USER, "Hi"), ChatMessage(Role.ASSISTANT, "Hello!"))
    example = Example(prompt=(*earlier, ChatMessage(Role.USER, "And 2+2?")), completion="4")
    report = evaluate(MODEL, Dataset("d", Task.CHAT, (example,)), [Prediction(example, "5")])
    recent.remember(trainer.id, report)

    result = await sut.execute(fix(trainer, "1"))

    assert result.correction.history == earlier
    assert result.correction.example().prompt == example.prompt


async def test_a_classifier_failure_keeps_the_label_instruction_the_model_was_given(
    recent: RecentTests,
    corrections: InMemoryCorrectionStore,
    datasets: InMemoryDatasetStore,
    models: InMemoryModelRegistry,
    trainer: Actor,
) -> None:
    data = "\n".join(
        json.dumps({"text": text, "label": label})
        for text, label in [("great", POSITIVE), ("awful", NEGATIVE)]
    )
    chat_model = InMemoryChatModel(lambda messages, model: "positive, I think")
    test = TestModel(
        chat_model=chat_model,
        datasets=datasets,
        models=models,
        default_model=MODEL,
        recent=recent,
    )
    await test.execute(TestRequest(actor=trainer, data=data))
    sut = FixFailure(recent=recent, corrections=corrections)

    result = await sut.execute(fix(trainer, "1"))

    [seen] = {call.messages for call in chat_model.calls if call.messages[-1].content == "awful"}
    assert result.correction.example().prompt == seen
    assert result.correction.history == (
        ChatMessage(
            Role.SYSTEM, "Classify the text. Answer with exactly one of: negative, positive."
        ),
    )
    assert (result.correction.wrong_answer, result.correction.corrected) == (
        "positive, I think",
        NEGATIVE,
    )


async def test_each_trainer_fixes_the_failures_of_their_own_latest_test(
    sut: FixFailure, recent: RecentTests, trainer: Actor
) -> None:
    other = Actor(id="u-other", name="Olga", can_train=True)
    recent.remember(trainer.id, chat_report())
    example = Example.single_turn("only", "one")
    recent.remember(
        other.id,
        evaluate("other", Dataset("d", Task.CHAT, (example,)), [Prediction(example, "two")]),
    )

    mine = await sut.execute(fix(trainer, "1"))
    theirs = await sut.execute(fix(other, "1"))

    assert (mine.correction.prompt, mine.correction.model) == ("q3", MODEL)
    assert (theirs.correction.prompt, theirs.correction.model) == ("only", "other")


async def test_a_new_test_replaces_the_one_before(
    sut: FixFailure, recent: RecentTests, trainer: Actor
) -> None:
    recent.remember(trainer.id, chat_report())
    example = Example.single_turn("newer", "yes")
    recent.remember(
        trainer.id,
        evaluate("m2", Dataset("d", Task.CHAT, (example,)), [Prediction(example, "no")]),
    )

    result = await sut.execute(fix(trainer, "1"))

    assert result.correction.prompt == "newer"


# --- refusals --------------------------------------------------------------------------------


async def test_refuses_a_member_without_the_trainer_role(
    sut: FixFailure,
    recent: RecentTests,
    corrections: InMemoryCorrectionStore,
    member: Actor,
    refuses,
) -> None:
    recent.remember(member.id, chat_report())

    with refuses(PermissionDenied):
        await sut.execute(fix(member, "1"))

    assert corrections.corrections == []


async def test_refuses_before_any_test(
    sut: FixFailure, corrections: InMemoryCorrectionStore, trainer: Actor, refuses
) -> None:
    with refuses(InvalidArgument) as caught:
        await sut.execute(fix(trainer, "1"))

    assert "!test first" in str(caught.value)
    assert corrections.corrections == []


async def test_refuses_when_the_latest_test_had_no_failures(
    sut: FixFailure, recent: RecentTests, trainer: Actor, refuses
) -> None:
    example = Example.single_turn("q", "a")
    recent.remember(
        trainer.id, evaluate("m", Dataset("d", Task.CHAT, (example,)), [Prediction(example, "a")])
    )

    with refuses(InvalidArgument) as caught:
        await sut.execute(fix(trainer, "1"))

    assert "no failures" in str(caught.value)


@pytest.mark.parametrize("number", ["0", "3", "999999"])
async def test_refuses_a_number_that_is_not_one_of_the_failures(
    sut: FixFailure,
    recent: RecentTests,
    corrections: InMemoryCorrectionStore,
    trainer: Actor,
    refuses,
    number: str,
) -> None:
    recent.remember(trainer.id, chat_report())

    with refuses(InvalidArgument) as caught:
        await sut.execute(fix(trainer, number))

    assert str(caught.value) == "Your latest test has 2 failures: give a number from 1 to 2."
    assert corrections.corrections == []


@pytest.mark.parametrize("number", ["", "one", "-1", "1.5", "²", "١", "1234567", "1 2"])
async def test_refuses_what_is_not_a_whole_number(
    sut: FixFailure, recent: RecentTests, trainer: Actor, refuses, number: str
) -> None:
    recent.remember(trainer.id, chat_report())

    with refuses(InvalidArgument) as caught:
        await sut.execute(fix(trainer, number))

    assert "!fix <number> [right answer]" in str(caught.value)


async def test_refuses_a_model_error_there_is_no_answer_to_correct(
    sut: FixFailure, recent: RecentTests, trainer: Actor, refuses
) -> None:
    example = Example.single_turn("q", "a")
    recent.remember(
        trainer.id,
        evaluate(
            "m",
            Dataset("d", Task.CHAT, (example,)),
            [Prediction(example, "", error="The model timed out.")],
        ),
    )

    with refuses(InvalidArgument) as caught:
        await sut.execute(fix(trainer, "1", "a"))

    assert "model error" in str(caught.value)


async def test_an_unwanted_answer_needs_the_right_answer_given(
    sut: FixFailure,
    recent: RecentTests,
    corrections: InMemoryCorrectionStore,
    trainer: Actor,
    refuses,
) -> None:
    example = Example.single_turn("joke?", "a rude joke", wanted=False)
    recent.remember(
        trainer.id,
        evaluate("m", Dataset("d", Task.CHAT, (example,)), [Prediction(example, "a rude joke")]),
    )

    with refuses(InvalidArgument) as caught:
        await sut.execute(fix(trainer, "1"))
    assert "!fix 1 <text>" in str(caught.value)
    assert corrections.corrections == []

    result = await sut.execute(fix(trainer, "1", "a kind joke"))
    assert (result.correction.wrong_answer, result.correction.corrected) == (
        "a rude joke",
        "a kind joke",
    )


async def test_refuses_a_correction_over_the_limit(
    recent: RecentTests, corrections: InMemoryCorrectionStore, trainer: Actor, refuses
) -> None:
    sut = FixFailure(recent=recent, corrections=corrections, limits=Limits(max_correction_chars=5))
    recent.remember(trainer.id, chat_report())

    with refuses(MessageTooLong):
        await sut.execute(fix(trainer, "1", "far too long"))

    assert corrections.corrections == []


async def test_refuses_a_correction_equal_to_the_models_answer(
    sut: FixFailure, recent: RecentTests, trainer: Actor, refuses
) -> None:
    recent.remember(trainer.id, chat_report())

    with refuses(CorrectionUnchanged):
        await sut.execute(fix(trainer, "1", " no   idea "))


async def test_refuses_a_failure_already_turned_into_a_correction(
    sut: FixFailure,
    recent: RecentTests,
    corrections: InMemoryCorrectionStore,
    trainer: Actor,
    refuses,
) -> None:
    recent.remember(trainer.id, chat_report())
    first = await sut.execute(fix(trainer, "1"))

    with refuses(InvalidArgument) as caught:
        await sut.execute(fix(trainer, "1", "another answer"))

    assert str(caught.value) == f"Failure 1 is already correction {first.correction.id}."
    assert len(corrections.corrections) == 1
    await sut.execute(fix(trainer, "2"))  # the others still can be
    assert len(corrections.corrections) == 2


class FailingOnceStore(InMemoryCorrectionStore):
    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    async def add(self, correction: Correction) -> None:
        if self.failures:
            self.failures -= 1
            raise ServiceError("The disk is full.")
        await super().add(correction)


async def test_a_correction_that_could_not_be_stored_can_be_made_again(
    recent: RecentTests, trainer: Actor, refuses
) -> None:
    store = FailingOnceStore()
    sut = FixFailure(recent=recent, corrections=store)
    recent.remember(trainer.id, chat_report())

    with refuses(ServiceError):
        await sut.execute(fix(trainer, "1"))
    result = await sut.execute(fix(trainer, "1"))

    assert store.corrections == [result.correction]


# --- RecentTests -----------------------------------------------------------------------------


def test_recent_tests_keep_the_trainers_who_tested_last() -> None:
    recent = RecentTests(capacity=2)
    report = chat_report()

    for actor_id in ("a", "b", "a", "c"):
        recent.remember(actor_id, report)

    assert recent.latest("a") is not None
    assert recent.latest("c") is not None
    assert recent.latest("b") is None  # the least recent is forgotten


def test_recent_tests_need_room_for_one() -> None:
    with pytest.raises(ValueError, match="capacity"):
        RecentTests(capacity=0)
